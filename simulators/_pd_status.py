"""Status updates and the conference bridge in the PagerDuty simulator.

`POST /incidents/{id}/status_updates` (`{"message": ...}`, `From` required) publishes a status update as
that user and emits `incident.status_update_published`, shaped like PagerDuty's (`data.type`
`incident_status_update`, with `id`, `message`, `trimmed` and the incident reference). `publish_status_update`
is the same made in PagerDuty's web UI. The incident's `conference_bridge` is kept as `PUT /incidents/{id}` set
it and shown on `GET`.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from fastapi import APIRouter, Request

from simulators._pd_control import json_body
from simulators._pd_model import Incident, PDError, now_iso

if TYPE_CHECKING:
    from collections.abc import Callable

    from simulators._pd_model import User

MAX_WEBHOOK_MESSAGE = 1000  # longer messages are trimmed in the webhook (`trimmed: true`), whole over REST


@dataclass
class StatusUpdate:
    id: str
    incident_id: str
    user_id: str
    message: str
    created_at: str


class StatusUpdateMixin:
    if TYPE_CHECKING:
        lock: threading.RLock

        def incident(self, id_or_number: str) -> Incident: ...
        def user(self, user_id: str) -> User: ...
        def user_ref(self, user_id: str) -> dict[str, Any]: ...
        def incident_ref(self, inc: Incident) -> dict[str, Any]: ...
        def new_id(self) -> str: ...
        def log(self, inc: Incident, type_: str, summary: str, agent_user_id: str | None, *,
                channel: str = "website", assignee_ids: list[str] | None = None, note: str | None = None) -> None: ...
        def _emit(self, event_type: str, inc: Incident, agent: dict[str, Any] | None,
                  data: dict[str, Any] | None = None) -> None: ...

    def __init__(self) -> None:
        self.status_updates: list[StatusUpdate] = []
        self.conference_bridges: dict[str, dict[str, str]] = {}

    def publish_status_update(self, incident_id: str, user_id: str, message: str) -> StatusUpdate:
        """A status update published as `user_id` (REST with `From`, or the web UI); emits its webhook."""
        with self.lock:
            inc, user = self.incident(incident_id), self.user(user_id)
            if not message.strip():
                raise PDError(400, 2001, "Invalid Input Provided", ["Message is required"])
            update = StatusUpdate(self.new_id(), inc.id, user.id, message, now_iso())
            self.status_updates.append(update)
            self.log(inc, "status_update_log_entry", f"Status update published by {user.name}", user.id,
                     note=message)
            trimmed = len(message) > MAX_WEBHOOK_MESSAGE
            data = {"incident": self.incident_ref(inc), "id": update.id,
                    "message": message[:MAX_WEBHOOK_MESSAGE], "trimmed": trimmed, "type": "incident_status_update"}
            self._emit("incident.status_update_published", inc, self.user_ref(user.id), data)
            return update

    def incident_status_updates(self, incident_id: str) -> list[StatusUpdate]:
        with self.lock:
            return [u for u in self.status_updates if u.incident_id == incident_id]

    def status_update_resource(self, update: StatusUpdate) -> dict[str, Any]:
        return {"id": update.id, "message": update.message, "sender": self.user_ref(update.user_id),
                "created_at": update.created_at}

    def set_conference_bridge(self, incident_id: str, bridge: object) -> None:
        """`conference_bridge` of a `PUT /incidents/{id}`: `conference_url` and `conference_number`, as given."""
        if not isinstance(bridge, dict) or any(
                not isinstance(bridge.get(k, ""), str) for k in ("conference_url", "conference_number")):
            raise PDError(400, 2001, "Invalid Input Provided", ["conference_bridge must be an object of strings"])
        with self.lock:
            inc = self.incident(incident_id)
            self.conference_bridges[inc.id] = {k: str(v) for k, v in bridge.items()
                                               if k in ("conference_url", "conference_number")}

    def conference_bridge(self, incident_id: str) -> dict[str, str] | None:
        with self.lock:
            return self.conference_bridges.get(self.incident(incident_id).id)


def status_update_routes(sim: Any, api: APIRouter, requester: Callable[[Request], str]) -> None:
    @api.post("/incidents/{incident_id}/status_updates")
    async def post_status_update(incident_id: str, request: Request) -> dict[str, Any]:
        user_id = requester(request)
        message = (await json_body(request)).get("message")
        if not isinstance(message, str) or not message.strip():
            raise PDError(400, 2001, "Invalid Input Provided", ["Message is required"])
        with sim.lock:
            return {"status_update": sim.status_update_resource(sim.publish_status_update(incident_id, user_id,
                                                                                          message))}
