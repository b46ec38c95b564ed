"""Which escalation level an incident is at, from its log entries.

The Incident resource has no escalation level. Its log (`GET /incidents/{id}/log_entries`) records every
change that moves it along its escalation policy:

- `trigger_log_entry`: a new (or re-opened) incident starts at level 1;
- `escalate_log_entry`: escalated, manually or by timeout; its `assignees` are the people on call at the
  level it went to;
- `delegate_log_entry`: moved to another escalation policy, whose level 1 it starts at;
- `repeat_escalation_path_log_entry`: the policy loops, so the next escalation goes to level 1 again;
- `assign_log_entry`: a direct (re)assignment, which does not change the level.

An escalate entry names people, not a level, so the level is the one whose on-call people are those
assignees. When they are on call at several levels, one level up from the previous level wins (what a
timeout or a one-step escalation does), then the nearest level above, then the lowest.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from activities.pagerduty_api import parse_time

_EPOCH = datetime.min.replace(tzinfo=UTC)


def oncall_levels(oncalls: list[dict[str, Any]]) -> dict[int, set[str]]:
    """User ids on call at each level, from `GET /oncalls` entries of one escalation policy."""
    levels: dict[int, set[str]] = {}
    for entry in oncalls:
        user = str((entry.get("user") or {}).get("id") or "")
        level = int(entry.get("escalation_level") or 0)
        if user and level > 0:
            levels.setdefault(level, set()).add(user)
    return levels


def chronological(entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Oldest first. PagerDuty lists newest first; entries within the same second keep that order, reversed."""
    listed_oldest_first = entries[::-1]  # reversed before the (stable) sort, for entries with equal times
    return sorted(listed_oldest_first, key=lambda e: parse_time(e.get("created_at")) or _EPOCH)


def current_level(entries: list[dict[str, Any]], oncall: dict[int, set[str]], last_level: int) -> int:
    """The level the incident is at now (1 when its log shows nothing that moved it)."""
    level = 1
    for entry in chronological(entries):
        kind = entry.get("type")
        if kind in ("trigger_log_entry", "delegate_log_entry"):
            level = 1
        elif kind == "repeat_escalation_path_log_entry":
            level = 0  # the next escalation restarts the path at level 1
        elif kind == "escalate_log_entry":
            level = _escalated_to(entry, oncall, level, last_level)
    return max(level, 1)


def _escalated_to(entry: dict[str, Any], oncall: dict[int, set[str]], previous: int, last_level: int) -> int:
    assignees = {str((a or {}).get("id") or "") for a in entry.get("assignees") or []} - {""}
    candidates = sorted(level for level, users in oncall.items() if users == assignees)
    if not candidates:
        candidates = sorted(level for level, users in oncall.items() if users & assignees)
    if not candidates:
        # Nobody named is on call at any level any more (a rotation since): assume the usual one step.
        return min(previous + 1, last_level)
    if previous + 1 in candidates:
        return previous + 1
    above = [level for level in candidates if level > previous]
    return above[0] if above else candidates[0]
