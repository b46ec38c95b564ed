"""Snooze in the PagerDuty simulator: `POST /incidents/{id}/snooze` and the snooze's end.

As PagerDuty documents it, a snooze suspends an acknowledged incident's acknowledgement timeout for
`duration` seconds (1..604800), after which the incident returns to triggered. PagerDuty's v3 webhooks
list no snooze event, so the snooze itself emits none; its end emits `incident.unacknowledged` with no
human agent, like an acknowledgement timeout. The end is driven by the test (`end_snooze`), not a timer.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from simulators._pd_model import Incident, PDError

MAX_SNOOZE_SECONDS = 604800


class SnoozeMixin:
    if TYPE_CHECKING:
        lock: threading.RLock

        def incident(self, id_or_number: str) -> Incident: ...
        def user(self, user_id: str) -> object: ...
        def log(self, inc: Incident, type_: str, summary: str, agent_user_id: str | None, *,
                channel: str = "website", assignee_ids: list[str] | None = None, note: str | None = None) -> None: ...
        def unacknowledge(self, incident_id: str) -> None: ...

    def snooze(self, incident_id: str, user_id: str, seconds: object) -> Incident:
        with self.lock:
            inc = self.incident(incident_id)
            self.user(user_id)
            if not isinstance(seconds, int) or isinstance(seconds, bool) or not 0 < seconds <= MAX_SNOOZE_SECONDS:
                raise PDError(400, 1013, "Snooze Duration is Invalid")
            if inc.status != "acknowledged":
                raise PDError(400, 1012, "Incident is not Acknowledged")
            until = datetime.now(UTC) + timedelta(seconds=seconds)
            inc.snoozed_until = until.isoformat(timespec="seconds").replace("+00:00", "Z")
            self.log(inc, "snooze_log_entry", f"Snoozed for {seconds} s", user_id)
            return inc

    def end_snooze(self, incident_id: str) -> None:
        """The snooze's time is up: back to triggered (`incident.unacknowledged`, no human agent)."""
        with self.lock:
            inc = self.incident(incident_id)
            if inc.snoozed_until is None:
                raise PDError(400, 1012, "Incident is not snoozed")
            inc.snoozed_until = None
            self.unacknowledge(incident_id)
