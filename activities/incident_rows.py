"""Compact incident rows for `/pd` answers: one line per incident, and for open incidents the same
controls as the incident message (same `action_id`s, incident id in the button `value` and the
`block_id`), so a click takes exactly the path of a click on the incident message."""

from __future__ import annotations

from typing import Any

from activities.blocks import STATUS_BADGE, controls
from workflows.models import Snapshot, Status
from workflows.slack_text import escape

MAX_ROWS = 15  # Slack allows 50 blocks per message; each row takes up to two


def link(url: str, label: str) -> str:
    """A Slack link whose URL cannot break out of the `<url|label>` markup."""
    safe = url.replace("|", "%7C").replace("<", "%3C").replace(">", "%3E")
    return f"<{safe}|{label}>" if url else label


def summary_line(inc: Snapshot) -> str:
    """`#7 Card payments failing` (linked) · status · service · urgency; typed text escaped."""
    number = f"#{inc.number}" if inc.number is not None else inc.id
    title = link(inc.html_url, f"{number} {escape(inc.title)}") if inc.html_url else f"{number} {escape(inc.title)}"
    service = escape(inc.service.summary or inc.service.id) if inc.service else "unknown service"
    return f"*{title}*\n{STATUS_BADGE[inc.status]} · {service} · {escape(inc.urgency or '?')} urgency"


def incident_rows(incidents: list[Snapshot], with_controls: bool = True) -> list[dict[str, Any]]:
    blocks: list[dict[str, Any]] = []
    for inc in incidents[:MAX_ROWS]:
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": summary_line(inc)}})
        if with_controls and inc.status is not Status.RESOLVED:
            blocks.append(controls(inc.id, inc.number, inc.status))
    if len(incidents) > MAX_ROWS:
        blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": (
            f"…and {len(incidents) - MAX_ROWS} more; see PagerDuty for the full list.")}]})
    return blocks
