"""What PagerDuty's records say of a click's write: did an earlier attempt land, who changed it since.

A retry, or a write that gave up without an answer, must not take someone's own change in PagerDuty for the
click's, nor make the click's change twice. PagerDuty's log names the person and the channel of each change
(the REST API for the bridge's writes); the incident's responder requests name who asked whom.
"""

from __future__ import annotations

from typing import Any

from activities.escalation import current_level, oncall_levels
from activities.pagerduty_api import PagerDutyApi, parse_time
from workflows.models import ActionKind, Ref, WriteToPagerDuty
from workflows.policy import ECHO_CLOCK_SKEW

# The log entry PagerDuty writes for a status change (how a retry finds that its first attempt landed).
LOGGED_AS = {ActionKind.ACKNOWLEDGE: "acknowledge_log_entry", ActionKind.RESOLVE: "resolve_log_entry"}
# The log entries asked about once a write gave up without an answer (a snooze has no webhook: its log entry is
# the only word that it landed).
LANDED_AS = {**LOGGED_AS, ActionKind.SNOOZE: "snooze_log_entry", ActionKind.ESCALATE: "escalate_log_entry",
             ActionKind.REASSIGN: "assign_log_entry"}
# A log entry's `channel.type` for a change made through the REST API (None: an entry that names no channel).
API_CHANNELS = {"api", None}


class WriteRecords:
    """Look-ups in PagerDuty's records for one write (`PagerDutyActivities` asks them)."""

    def __init__(self, api: PagerDutyApi) -> None:
        self._api = api

    async def responder_asked(self, incident_id: str, w: WriteToPagerDuty) -> bool:
        """Whether the incident shows this person asked by the acting person since the click."""
        since = w.issued_at - ECHO_CLOCK_SKEW if w.issued_at else None
        data = await self._api.get_incident(incident_id)
        for entry in data.get("incidents_responders") or []:
            asked = parse_time(entry.get("requested_at"))
            if ((entry.get("user") or {}).get("id") == w.target_pd_id
                    and (entry.get("requester") or {}).get("id") == w.actor_pd_id
                    and (since is None or (asked is not None and asked >= since.replace(microsecond=0)))):
                return True
        return False

    async def reached(self, incident_id: str, w: WriteToPagerDuty) -> bool:
        """Whether the incident is at (or past) the level this click planned: the clicker's escalation found in
        the log is then this click's, not their click just before (which went to the level below)."""
        if w.escalation_level is None:
            return True
        incident = await self._api.get_incident(incident_id)
        policy_id = (incident.get("escalation_policy") or {}).get("id")
        if not policy_id:
            return True
        rules = (await self._api.get_escalation_policy(policy_id)).get("escalation_rules") or []
        oncall = oncall_levels(await self._api.list_oncalls(policy_id))
        return current_level(await self._api.list_log_entries(incident_id), oncall, len(rules)) >= w.escalation_level

    async def escalated_since_click(self, incident_id: str, w: WriteToPagerDuty) -> Ref | None:
        """Who escalated the incident since the click (an empty id: PagerDuty's own timeout), if anyone did."""
        since = w.issued_at - ECHO_CLOCK_SKEW if w.issued_at else None
        if since is None:
            return None
        for entry in await self._api.list_log_entries(incident_id):
            written = parse_time(entry.get("created_at"))
            if entry.get("type") == "escalate_log_entry" and written is not None and written >= since.replace(
                    microsecond=0):
                agent = entry.get("agent") or {}
                person = str(agent.get("type", "")).startswith("user")
                return Ref(id=str(agent.get("id") or "") if person else "", summary=str(agent.get("summary") or ""))
        return None

    async def landed(self, incident_id: str, w: WriteToPagerDuty, logged_as: str | None = None) -> bool:
        """Whether PagerDuty's log shows this change by the acting person since the click, made through the
        REST API as the bridge makes it: one they made in PagerDuty's web or mobile app, by e-mail or SMS is
        theirs, not the click's (its log entry names that channel)."""
        since = w.issued_at - ECHO_CLOCK_SKEW if w.issued_at else None
        for entry in await self._api.list_log_entries(incident_id):
            agent = (entry.get("agent") or {}).get("id")
            written = parse_time(entry.get("created_at"))
            channel = (entry.get("channel") or {}).get("type")
            if (entry.get("type") == (logged_as or LOGGED_AS[w.action]) and agent == w.actor_pd_id
                    and channel in API_CHANNELS and _to_its_target(entry, w)
                    and (since is None or (written is not None and written >= since.replace(microsecond=0)))):
                return True
        return False


def _to_its_target(entry: dict[str, Any], w: WriteToPagerDuty) -> bool:
    """A reassignment's log entry names who it assigned: one to someone else is another click's (the same person
    reassigning back and forth), never this one's."""
    if w.action is not ActionKind.REASSIGN or "assignees" not in entry:
        return True
    return [(a or {}).get("id") for a in entry.get("assignees") or []] == [w.target_pd_id]
