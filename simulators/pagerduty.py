"""A PagerDuty REST API v2 + webhooks v3 simulator over in-memory state.

Seed it (`add_*` or `seed_demo()`), serve `sim.app` (see `simulators.server.ServedApp`), point the bridge's
PagerDuty base URL at it, and give it the bridge's webhook URL. Every state change, whether made through REST
(attributed to the `From` user) or by the "web UI" methods below (`acknowledge`, `escalate`, ...), emits the
matching v3 webhook. REST routes: `simulators._pd_api`; `/_sim/*` controls: `simulators._pd_control`;
delivery: `simulators._pd_webhooks`.
"""

from __future__ import annotations

import secrets
from typing import Any

from fastapi import FastAPI

from simulators._http import FaultInjector, RecordedRequest
from simulators._pd_api import build_app
from simulators._pd_model import (
    Incident,
    Note,
    PDError,
    Priority,
    not_found,
    now_iso,
)
from simulators._pd_oauth import CredentialsMixin
from simulators._pd_schedules import ScheduleMixin
from simulators._pd_seed import Seeding
from simulators._pd_snooze import SnoozeMixin
from simulators._pd_status import StatusUpdateMixin
from simulators._pd_subscriptions import CONSTRUCTOR_SUBSCRIPTION_ID, SubscriptionsMixin
from simulators._pd_webhooks import Delivery, WebhookEmitter, WebhookTarget, ulid_like

__all__ = ["CONSTRUCTOR_SUBSCRIPTION_ID", "Delivery", "Incident", "PDError", "PagerDutySimulator", "RecordedRequest"]


class PagerDutySimulator(Seeding, WebhookEmitter, SubscriptionsMixin, SnoozeMixin, CredentialsMixin, ScheduleMixin,
                         StatusUpdateMixin):
    """In-memory PagerDuty account; thread-safe (tests drive it from another thread than the server's)."""

    def __init__(
        self,
        token: str,
        webhook_url: str | None = None,
        webhook_secret: str | list[str] = "sim-webhook-secret",
        *,
        api_base: str = "https://api.sim.pagerduty.local",
    ) -> None:
        Seeding.__init__(self, api_base)
        WebhookEmitter.__init__(self)
        SubscriptionsMixin.__init__(self)
        CredentialsMixin.__init__(self)
        ScheduleMixin.__init__(self)
        StatusUpdateMixin.__init__(self)
        self.token = token
        self.webhook_url = webhook_url
        self.webhook_secret = webhook_secret
        self.abilities = ["teams", "coordinated_responding"]
        self.requests: list[RecordedRequest] = []
        self.faults = FaultInjector()
        self._app: FastAPI | None = None
        self._next_number = 1
        for order, name in enumerate(["P1", "P2", "P3", "P4", "P5"], start=1):
            self.priorities[f"PPRIO0{order}"] = Priority(f"PPRIO0{order}", name, order)

    @property
    def app(self) -> FastAPI:
        if self._app is None:
            self._app = build_app(self)
        return self._app

    def __enter__(self) -> PagerDutySimulator:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- recording and REST faults ------------------------------------------------------------------

    def record(self, request: RecordedRequest) -> None:
        with self.lock:
            self.requests.append(request)

    def writes(self) -> list[RecordedRequest]:
        with self.lock:
            return [r for r in self.requests if r.method in ("PUT", "POST")]

    def fail(
        self,
        path_prefix: str,
        status: int,
        count: int | None = None,
        seconds: float | None = None,
        headers: dict[str, str] | None = None,
        body: dict[str, Any] | None = None,
        method: str | None = None,
        applied: bool = False,
    ) -> None:
        """Answer matching REST requests with `status` for `count` requests and/or `seconds` (else until cleared).

        `applied`: the request is carried out first and only its answer is lost (a gateway error after the write)."""
        self.faults.fail(path_prefix, status, count, seconds, headers, body, method, applied)

    def delay(self, path_prefix: str, seconds: float) -> None:
        self.faults.delay(path_prefix, seconds)

    def respond_late(self, path_prefix: str, seconds: float) -> None:
        self.faults.respond_late(path_prefix, seconds)

    def clear_faults(self) -> None:
        self.faults.clear()

    # -- incident lifecycle (the "web UI"; REST calls land here too) --------------------------------

    def trigger(
        self,
        service_id: str,
        title: str,
        urgency: str = "high",
        incident_id: str | None = None,
        *,
        agent_user_id: str | None = None,
        webhooks: bool = True,
        incident_key: str | None = None,
    ) -> str:
        """Open an incident on `service_id`, assigned to escalation level 1; emits incident.triggered,
        unless `webhooks` is False: then no subscription hears of it (a trigger PagerDuty never sent)."""
        with self.lock:
            service = self.services.get(service_id)
            if service is None:
                raise not_found()
            inc = Incident(
                id=incident_id or self.new_id(),
                number=self._next_number,
                title=title,
                urgency=urgency,
                service_id=service_id,
                escalation_policy_id=service.escalation_policy_id,
                team_ids=list(service.team_ids),
                incident_key=incident_key or secrets.token_hex(16),
            )
            self._next_number += 1
            inc.assignments = self._level_assignments(inc, 1)
            self.incidents[inc.id] = inc
            self.log(inc, "trigger_log_entry", "Triggered through the API", agent_user_id,
                     channel="website" if agent_user_id else "api")
            self.log_assignment(inc, "assign_log_entry", None, channel="auto")
            agent = self.user_ref(agent_user_id) if agent_user_id else self.service_ref(service_id)
            if webhooks:
                self._emit("incident.triggered", inc, agent)
            return inc.id

    def create_incident(
        self, service_id: str, title: str, urgency: str, incident_key: str | None, user_id: str
    ) -> str:
        """`POST /incidents` as `user_id`: refused while an open incident on the service has the same key."""
        with self.lock:
            if service_id not in self.services:
                raise PDError(400, 2001, "Invalid Input Provided", ["Service not found"])
            if incident_key and any(
                i.incident_key == incident_key and i.service_id == service_id and i.status != "resolved"
                for i in self.incidents.values()
            ):
                raise PDError(
                    400,
                    2001,
                    "Invalid Input Provided",
                    ["Open incident with matching dedup key already exists on this service"],
                )
            return self.trigger(service_id, title, urgency, agent_user_id=user_id, incident_key=incident_key)

    def acknowledge(self, incident_id: str, user_id: str) -> bool:
        """Returns False for a re-acknowledgement, which changes nothing and emits no event."""
        with self.lock:
            inc, user = self.incident(incident_id), self.user(user_id)
            self._require_open(inc)
            if inc.status == "acknowledged":
                return False
            self._set_status(inc, "acknowledged", user.id)
            inc.acknowledgements.append((user.id, inc.last_status_change_at))
            self.log(inc, "acknowledge_log_entry", f"Acknowledged by {user.name}", user.id)
            self._emit("incident.acknowledged", inc, self.user_ref(user.id))
            return True

    def unacknowledge(self, incident_id: str) -> None:
        """The ack timeout firing: back to triggered, with no human agent."""
        with self.lock:
            inc = self.incident(incident_id)
            if inc.status != "acknowledged":
                raise PDError(400, 1012, "Incident is not Acknowledged")
            self._set_status(inc, "triggered", None)
            inc.acknowledgements.clear()
            self.log(inc, "unacknowledge_log_entry", "Unacknowledged due to timeout", None, channel="timeout")
            self._emit("incident.unacknowledged", inc, None)

    def resolve(self, incident_id: str, user_id: str, resolution: str | None = None) -> None:
        with self.lock:
            inc, user = self.incident(incident_id), self.user(user_id)
            self._require_open(inc)
            self._set_status(inc, "resolved", user.id)
            inc.resolved_at, inc.resolution = inc.last_status_change_at, resolution
            inc.assignments.clear()  # resolved incidents have no assignees, in REST and in webhooks
            self.log(inc, "resolve_log_entry", f"Resolved by {user.name}", user.id, note=resolution)
            self._emit("incident.resolved", inc, self.user_ref(user.id))

    def reopen(self, incident_id: str, user_id: str) -> None:
        with self.lock:
            inc, user = self.incident(incident_id), self.user(user_id)
            if inc.status != "resolved":
                raise PDError(400, 1003, "Invalid Status Provided")
            self._set_status(inc, "triggered", user.id)
            inc.reopened_at, inc.resolved_at = inc.last_status_change_at, None
            inc.acknowledgements.clear()
            inc.escalation_level = 1
            inc.assignments = self._level_assignments(inc, 1)
            inc.assigned_via = "escalation_policy"
            # Re-opened: triggered again at the first level of the escalation policy.
            self.log(inc, "trigger_log_entry", f"Reopened by {user.name}", user.id)
            self.log_assignment(inc, "assign_log_entry", None, channel="auto")
            self._emit("incident.reopened", inc, self.user_ref(user.id))

    def reassign(self, incident_id: str, user_id: str, to_user_ids: list[str]) -> None:
        """Direct assignment; like PagerDuty, a reassigned incident goes back to triggered."""
        with self.lock:
            inc, user = self.incident(incident_id), self.user(user_id)
            self._require_open(inc)
            if not to_user_ids or any(uid not in self.users for uid in to_user_ids):
                raise PDError(400, 1007, "Assigned To User Not Found")
            at = now_iso()
            inc.assignments = [(uid, at) for uid in dict.fromkeys(to_user_ids)]
            inc.assigned_via = "direct_assignment"  # the escalation level stays where it was
            self._retrigger(inc, user.id)
            self.log_assignment(inc, "assign_log_entry", user.id)
            self._emit("incident.reassigned", inc, self.user_ref(user.id))

    def escalate(self, incident_id: str, user_id: str, level: int) -> None:
        """Reassign to escalation level `level` (0 counts as 1); 1006 past the policy's last level."""
        with self.lock:
            inc, user = self.incident(incident_id), self.user(user_id)
            self._require_open(inc)
            level = max(1, level)
            if level > len(self.escalation_policies[inc.escalation_policy_id].levels):
                raise PDError(400, 1006, "Cannot Escalate")
            inc.escalation_level = level
            inc.assignments = self._level_assignments(inc, level)
            inc.assigned_via = "escalation_policy"
            self._retrigger(inc, user.id)
            self.log_assignment(inc, "escalate_log_entry", user.id)
            self._emit("incident.escalated", inc, self.user_ref(user.id))

    def add_note(self, incident_id: str, user_id: str, content: str) -> Note:
        with self.lock:
            inc, user = self.incident(incident_id), self.user(user_id)
            note = Note(self.new_id(), user.id, content, now_iso())
            inc.notes.append(note)
            self.log(inc, "annotate_log_entry", f"Note added by {user.name}", user.id, channel="note", note=content)
            data = {
                "incident": self.incident_ref(inc),
                "id": note.id,
                "content": content,
                "trimmed": False,
                "type": "incident_note",
            }
            self._emit("incident.annotated", inc, self.user_ref(user.id), data)
            return note

    def add_responder(self, incident_id: str, requester_user_id: str, responder_user_id: str, message: str) -> None:
        with self.lock:
            inc, requester = self.incident(incident_id), self.user(requester_user_id)
            responder = self.user(responder_user_id)
            if "coordinated_responding" not in self.abilities:
                raise PDError(402, 2014, "Missing Account Ability")
            entry = {
                "user": self.user_ref(responder.id),
                "requester": self.user_ref(requester.id),
                "message": message,
                "state": "pending",
                "requested_at": now_iso(),
            }
            inc.responders.append(entry)
            data = {
                "incident": self.incident_ref(inc),
                "user": self.user_ref(responder.id),
                "escalation_policy": self.ep_ref(inc.escalation_policy_id),
                "message": message,
                "state": "pending",
                "type": "incident_responder",
            }
            self._emit("incident.responder.added", inc, self.user_ref(requester.id), data)

    def set_priority(self, incident_id: str, user_id: str, name: str | None) -> None:
        """Set (by name, e.g. "P1") or clear (None) the priority; emits incident.priority_updated."""
        with self.lock:
            inc, user = self.incident(incident_id), self.user(user_id)
            priority = next((p for p in self.priorities.values() if p.name == name or p.id == name), None)
            if name is not None and priority is None:
                raise PDError(400, 1020, "Invalid Priority")
            inc.priority_id = priority.id if priority else None
            self._emit("incident.priority_updated", inc, self.user_ref(user.id))

    def update_incident(self, incident_id: str, user_id: str, changes: dict[str, Any]) -> Incident:
        """The body of `PUT /incidents/{id}` (`incident` object), applied as the `From` user."""
        with self.lock:
            inc = self.incident(incident_id)
            status = changes.get("status")
            if status not in (None, "acknowledged", "resolved", "triggered"):
                raise PDError(400, 1003, "Invalid Status Provided")
            if status == "triggered":
                self.reopen(inc.id, user_id)
            if "escalation_level" in changes:
                self.escalate(inc.id, user_id, int(changes["escalation_level"]))
            if "assignments" in changes:
                ids = [str((a.get("assignee") or {}).get("id", "")) for a in changes["assignments"] or []]
                self.reassign(inc.id, user_id, ids)
            if "priority" in changes:
                prio = changes["priority"]
                self.set_priority(inc.id, user_id, prio.get("id") if isinstance(prio, dict) else prio)
            if changes.get("urgency") in ("high", "low"):
                inc.urgency = changes["urgency"]
            if isinstance(changes.get("title"), str):
                inc.title = changes["title"]
            if "conference_bridge" in changes:
                self.set_conference_bridge(inc.id, changes["conference_bridge"])
            if status == "acknowledged":
                self.acknowledge(inc.id, user_id)
            elif status == "resolved":
                self.resolve(inc.id, user_id, changes.get("resolution"))
            return inc

    # -- internals --------------------------------------------------------------------------------

    def _require_open(self, inc: Incident) -> None:
        if inc.status == "resolved":
            raise PDError(400, 1001, "Incident Already Resolved")

    def _set_status(self, inc: Incident, status: str, user_id: str | None) -> None:
        inc.snoozed_until = None  # any status change ends a snooze
        inc.status, inc.last_status_change_at, inc.last_status_change_by = status, now_iso(), user_id

    def _retrigger(self, inc: Incident, user_id: str) -> None:
        if inc.status != "triggered":
            self._set_status(inc, "triggered", user_id)
        inc.acknowledgements.clear()

    def _level_assignments(self, inc: Incident, level: int) -> list[tuple[str, str]]:
        levels = self.escalation_policies[inc.escalation_policy_id].levels
        at = now_iso()
        return [(uid, at) for uid in (levels[level - 1] if level <= len(levels) else [])]

    def _targets(self, inc: Incident, event_type: str) -> list[WebhookTarget]:
        return self.subscription_targets(event_type, inc.service_id, inc.team_ids)

    def _emit(
        self, event_type: str, inc: Incident, agent: dict[str, Any] | None, data: dict[str, Any] | None = None
    ) -> None:
        envelope = {
            "event": {
                "id": ulid_like(),
                "event_type": event_type,
                "resource_type": "incident",
                "occurred_at": now_iso(ms=True),
                "agent": agent,
                "client": None,
                "data": data if data is not None else self.incident_data(inc),
            }
        }
        self._publish(envelope, inc.id, self._targets(inc, event_type))
