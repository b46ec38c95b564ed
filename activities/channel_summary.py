"""The summary posted in an incident's own channel when it is resolved, from PagerDuty's own record.

Everything PagerDuty says (titles, names, log summaries) is escaped: the summary can mention nobody.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import datetime
from typing import Any

from activities.pagerduty_api import parse_time
from workflows.slack_text import escape

MAX_TIMELINE = 25

# What each kind of log entry is called in the "who did what" line.
DEEDS = {
    "acknowledge_log_entry": "acknowledged",
    "resolve_log_entry": "resolved",
    "annotate_log_entry": "note",
    "assign_log_entry": "reassigned",
    "escalate_log_entry": "escalated",
    "snooze_log_entry": "snoozed",
    "unacknowledge_log_entry": "unacknowledged",
    "reach_trigger_log_entry": "triggered",
    "trigger_log_entry": "triggered",
    "reopen_log_entry": "reopened",
    "priority_change_log_entry": "changed priority",
    "responder_request_log_entry": "requested responders",
}
QUIET = {"notify_log_entry", "exhaust_escalation_path_log_entry", "link_log_entry", "delegate_log_entry"}


def duration(seconds: float) -> str:
    minutes = int(seconds // 60)
    if minutes < 1:
        return f"{int(seconds)} s"
    hours, minutes = divmod(minutes, 60)
    days, hours = divmod(hours, 24)
    parts = [f"{days} d" if days else "", f"{hours} h" if hours else "", f"{minutes} min" if minutes else ""]
    return " ".join(p for p in parts if p)


def _clock(at: datetime | None) -> str:
    return at.strftime("%Y-%m-%d %H:%M UTC") if at else "?"


def _agent(entry: dict[str, Any]) -> tuple[str, bool]:
    """The agent's name, and whether it is a person (users do things; services and automation trigger)."""
    agent = entry.get("agent") or {}
    name = str(agent.get("summary") or agent.get("id") or "PagerDuty")
    return name, str(agent.get("type", "")).startswith("user")


def summary_text(incident: dict[str, Any], entries: list[dict[str, Any]]) -> str:
    """`entries` as PagerDuty lists them (newest first)."""
    number = incident.get("incident_number")
    title = escape(str(incident.get("title") or incident.get("summary") or incident.get("id") or ""))
    started = parse_time(incident.get("created_at"))
    ended = parse_time(incident.get("resolved_at") or incident.get("last_status_change_at"))
    status = str(incident.get("status") or "?")
    heading = f"#{number} {title}" if number is not None else title
    lines = [f":clipboard: *Summary of {heading}*"]
    took = duration((ended - started).total_seconds()) if started and ended and ended >= started else "?"
    lines.append(f"*Status:* {escape(status)} · *Duration:* {took} (from {_clock(started)} to {_clock(ended)})")
    oldest_first = list(reversed(entries))
    deeds: dict[str, Counter[str]] = defaultdict(Counter)
    timeline: list[str] = []
    for entry in oldest_first:
        kind = str(entry.get("type") or "")
        if kind in QUIET:
            continue
        name, person = _agent(entry)
        if person and kind in DEEDS:
            deeds[name][DEEDS[kind]] += 1
        at = parse_time(entry.get("created_at"))
        timeline.append(f"• {at.strftime('%H:%M') if at else '?'} {escape(str(entry.get('summary') or kind))}")
    if deeds:
        people = []
        for name, counts in deeds.items():
            done = ", ".join(f"{deed} (x{n})" if n > 1 else deed for deed, n in counts.items())
            people.append(f"{escape(name)}: {done}")
        lines.append("*Who did what:* " + " · ".join(people))
    if timeline:
        lines.append("*Timeline (UTC):*")
        if len(timeline) <= MAX_TIMELINE:
            lines += timeline
        else:  # the start and the end matter most
            half = MAX_TIMELINE // 2
            lines += [*timeline[:half], f"… {len(timeline) - 2 * half} more entries in PagerDuty …",
                      *timeline[-half:]]
    url = str(incident.get("html_url") or "").replace("|", "%7C").replace("<", "%3C").replace(">", "%3E")
    if url:
        lines.append(f"<{url}|Full log in PagerDuty>")
    return "\n".join(lines)
