"""Incident log entries of the PagerDuty simulator (`GET /incidents/{id}/log_entries`).

PagerDuty records what happened to an incident as typed log entries (`trigger_log_entry`,
`assign_log_entry`, `escalate_log_entry`, ...): each has `created_at`, an `agent` reference, a `channel`
and, for assignments and escalations, the `assignees`. The Incident resource itself carries no
escalation level, so these entries are how a client learns which level an incident is at. Entries are
listed newest first.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from simulators._pd_model import HTML_BASE, Incident, PDState, now_iso

# Entries worth showing in PagerDuty's overview (`is_overview=true`): everything this simulator writes.
OVERVIEW_TYPES = {
    "trigger_log_entry", "acknowledge_log_entry", "unacknowledge_log_entry", "resolve_log_entry",
    "assign_log_entry", "escalate_log_entry", "annotate_log_entry",
}


@dataclass
class LogEntry:
    id: str
    type: str
    summary: str
    agent: dict[str, Any] | None  # a user or service reference, as rendered when the entry was written
    channel: str  # "website", "api", "auto", "timeout", "note"
    assignee_ids: list[str] = field(default_factory=list)
    note: str | None = None
    created_at: str = field(default_factory=now_iso)


class IncidentLog(PDState):
    """`PDState` plus the incident log: writes log entries on incident changes and renders them."""

    # Set while a REST request is handled: a person's change then shows the channel "api" in the log, as
    # PagerDuty records a change made through its REST API (the bridge's writes) apart from one made in its app.
    _rest = threading.local()

    @contextmanager
    def via_api(self) -> Iterator[None]:
        with self.lock:
            self._rest.active = True
            try:
                yield
            finally:
                self._rest.active = False

    def log(self, inc: Incident, type_: str, summary: str, agent_user_id: str | None, *,
            channel: str = "website", assignee_ids: list[str] | None = None, note: str | None = None) -> None:
        if channel == "website" and getattr(self._rest, "active", False):
            channel = "api"
        agent = self.user_ref(agent_user_id) if agent_user_id else self.service_ref(inc.service_id)
        inc.log_entries.append(LogEntry(self.new_id("R"), type_, summary, agent, channel,
                                        list(assignee_ids or []), note))

    def log_assignment(self, inc: Incident, type_: str, agent_user_id: str | None, *,
                       channel: str = "website") -> None:
        """An `assign_log_entry` or `escalate_log_entry` naming the incident's assignees now."""
        names = ", ".join(self.user_ref(uid)["summary"] for uid in inc.assignee_ids) or "nobody"
        verb = "Escalated" if type_ == "escalate_log_entry" else "Assigned"
        by = self.user_ref(agent_user_id)["summary"] if agent_user_id else "PagerDuty"
        self.log(inc, type_, f"{verb} to {names} by {by}", agent_user_id, channel=channel,
                        assignee_ids=inc.assignee_ids)

    def log_entry_resource(self, inc: Incident, entry: LogEntry) -> dict[str, Any]:
        resource: dict[str, Any] = {
            "id": entry.id,
            "type": entry.type,
            "summary": entry.summary,
            "self": f"{self.api_base}/log_entries/{entry.id}?incident_id={inc.id}",
            "html_url": f"{HTML_BASE}/incidents/{inc.id}/log_entries/{entry.id}",
            "created_at": entry.created_at,
            "agent": entry.agent,
            "channel": {"type": entry.channel},
            "service": self.service_ref(inc.service_id),
            "incident": self.incident_ref(inc),
            "teams": [self.team_ref(t) for t in inc.team_ids],
            "contexts": [],
            "event_details": {},
        }
        if entry.type in ("assign_log_entry", "escalate_log_entry"):
            resource["assignees"] = [self.user_ref(uid) for uid in entry.assignee_ids]
        if entry.note is not None:
            resource["note"] = entry.note
        return resource

    def log_entries(self, inc: Incident, *, overview: bool = False) -> list[dict[str, Any]]:
        """Newest first, as PagerDuty lists them."""
        entries = [e for e in reversed(inc.log_entries) if not overview or e.type in OVERVIEW_TYPES]
        return [self.log_entry_resource(inc, e) for e in entries]
