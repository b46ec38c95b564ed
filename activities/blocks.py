"""Block Kit for the incident message and the add-note modal: pure functions of a `MessageView`."""

from __future__ import annotations

import json
from collections.abc import Callable
from enum import StrEnum
from typing import Any

from workflows.models import Ref, Status
from workflows.policy import SNOOZE_CHOICES
from workflows.slack_text import clock_time, escape
from workflows.view import MessageView


class ActionId(StrEnum):
    """The controls' `action_id`s (DESIGN §4, contract)."""

    ACKNOWLEDGE = "pd_acknowledge"
    ESCALATE = "pd_escalate"
    RESOLVE = "pd_resolve"
    REASSIGN = "pd_reassign"
    ADD_NOTE = "pd_add_note"
    SNOOZE = "pd_snooze"
    PRIORITY = "pd_priority"
    ADD_RESPONDER = "pd_add_responder"
    CREATE_CHANNEL = "pd_create_channel"
    STATUS_UPDATE = "pd_status_update"


CONTROLS_BLOCK = "pd_controls"
NOTE_MODAL = "pd_add_note_modal"
NOTE_BLOCK = "pd_note"
NOTE_INPUT = "pd_note_text"
NOTE_MAX_CHARS = 2000
STATUS_MODAL = "pd_status_update_modal"
STATUS_BLOCK = "pd_status"
STATUS_INPUT = "pd_status_text"
STATUS_MAX_CHARS = 2000

STATUS_BADGE = {
    Status.TRIGGERED: ":red_circle: Triggered",
    Status.ACKNOWLEDGED: ":large_yellow_circle: Acknowledged",
    Status.RESOLVED: ":large_green_circle: Resolved",
}

Mention = Callable[[Ref], str]


def controls_block_id(incident_id: str, status: Status) -> str:
    # A new block_id per status keeps Slack clients from showing a stale reassign selection.
    return f"{CONTROLS_BLOCK}:{incident_id}:{status.value}"


def more_controls_block_id(incident_id: str, status: Status) -> str:
    # Same prefix and incident position as the first row: the incident id is read from either the same way.
    return f"{controls_block_id(incident_id, status)}:more"


def incident_id_from_block(block_id: str) -> str | None:
    parts = block_id.split(":")
    return parts[1] if len(parts) >= 2 and parts[0] == CONTROLS_BLOCK and parts[1] else None


def _button(text: str, action: ActionId, incident_id: str, style: str | None = None) -> dict[str, Any]:
    button: dict[str, Any] = {"type": "button", "text": {"type": "plain_text", "text": text},
                              "action_id": action.value, "value": incident_id}
    if style:
        button["style"] = style
    return button


def controls(incident_id: str, number: int | None, status: Status, channel_button: str | None = None) -> dict[str, Any]:
    """The incident's controls row: the same `action_id`s wherever an incident is shown with controls."""
    resolve = _button("Resolve", ActionId.RESOLVE, incident_id, "danger")
    resolve["confirm"] = {
        "title": {"type": "plain_text", "text": "Resolve this incident?"},
        "text": {"type": "plain_text", "text": f"Resolve #{number} in PagerDuty as yourself."},
        "confirm": {"type": "plain_text", "text": "Resolve"},
        "deny": {"type": "plain_text", "text": "Cancel"},
    }
    elements = []
    if status is Status.TRIGGERED:
        elements.append(_button("Acknowledge", ActionId.ACKNOWLEDGE, incident_id, "primary"))
    elements += [
        _button("Escalate", ActionId.ESCALATE, incident_id),
        {"type": "users_select", "action_id": ActionId.REASSIGN.value,
         "placeholder": {"type": "plain_text", "text": "Reassign to…"}},
        _button("Add note", ActionId.ADD_NOTE, incident_id),
        _button("Update status", ActionId.STATUS_UPDATE, incident_id),
        resolve,
    ]
    if channel_button:
        elements.append(_button(channel_button, ActionId.CREATE_CHANNEL, incident_id))
    return {"type": "actions", "block_id": controls_block_id(incident_id, status), "elements": elements}


def _option(text: str, value: str) -> dict[str, Any]:
    return {"text": {"type": "plain_text", "text": _clip(text, 75)}, "value": value}


def _select(action: ActionId, placeholder: str, options: list[dict[str, Any]]) -> dict[str, Any]:
    return {"type": "static_select", "action_id": action.value,
            "placeholder": {"type": "plain_text", "text": placeholder}, "options": options}


def _more_controls(view: MessageView, priorities: list[Ref]) -> dict[str, Any]:
    """The second row: snooze (when acknowledged), priority (when the account has priorities), responders."""
    elements = []
    if view.status is Status.ACKNOWLEDGED:
        elements.append(_select(ActionId.SNOOZE, "Snooze…",
                                [_option(f"Snooze {label}", seconds) for seconds, label in SNOOZE_CHOICES.items()]))
    if priorities:
        elements.append(_select(ActionId.PRIORITY, "Priority…",
                                [_option(p.summary or p.id, p.id) for p in priorities[:100]]))
    elements.append({"type": "users_select", "action_id": ActionId.ADD_RESPONDER.value,
                     "placeholder": {"type": "plain_text", "text": "Add responder…"}})
    return {"type": "actions", "block_id": more_controls_block_id(view.incident_id, view.status),
            "elements": elements}


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def render_incident(view: MessageView, mention: Mention,
                    priorities: list[Ref] | None = None) -> tuple[str, list[dict[str, Any]]]:
    """The fallback text and the blocks of the incident's root message.

    `mention` gives Slack text for a person (a mention, or the escaped name); every other text from
    PagerDuty is escaped here, so nothing typed can ping, mention or link. `priorities` are the account's
    (the priority control is left out when there are none).
    """
    number = f"#{view.number} " if view.number is not None else ""
    assignees = ", ".join(mention(a) for a in view.assignees) or "nobody"
    priority = escape(view.priority or "none")
    service = escape(view.service or "unknown")
    fields = [
        f"*Status*\n{STATUS_BADGE[view.status]}"
        + (f"\n:zzz: snoozed until {clock_time(view.snoozed_until)}" if view.snoozed_until else ""),
        f"*Service*\n{service}",
        f"*Urgency / priority*\n{escape(view.urgency or '?')} / {priority}",
        f"*Assigned to*\n{assignees}",
    ]
    url = view.html_url.replace("|", "%7C").replace("<", "%3C").replace(">", "%3E")
    link = f"<{url}|Open in PagerDuty>" if view.html_url else escape(view.incident_id)
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": _clip(f"{number}{view.title}", 150)}},
        {"type": "section", "fields": [{"type": "mrkdwn", "text": f} for f in fields]},
        {"type": "context", "elements": [{"type": "mrkdwn", "text": f"{link} · incident {escape(view.incident_id)}"}]},
    ]
    if view.assigned_to_reader is not None:
        whose = (":bust_in_silhouette: Assigned to you" if view.assigned_to_reader
                 else ":bust_in_silhouette: No longer assigned to you: kept here so you can follow it")
        blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": whose}]})
    if view.dedicated_channel:
        where = (f":file_folder: Was worked in <#{view.dedicated_channel}> (archived)" if view.dedicated_archived
                 else f":hash: Worked in <#{view.dedicated_channel}>: its timeline and discussion are there")
        blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": where}]})
    lines = [*view.progress, *([view.outcome] if view.outcome else [])]
    if lines and not view.short:
        blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": _clip(line, 2900)}
                                                       for line in lines[-5:]]})
    if view.status is Status.RESOLVED:
        by = f" by {mention(view.acted_by)}" if view.acted_by else ""
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": (
            f":large_green_circle: *Resolved*{by}. The controls are gone; reopen in PagerDuty if needed.")}})
    else:
        blocks.append(controls(view.incident_id, view.number, view.status, view.channel_button))
        if not view.short:
            blocks.append(_more_controls(view, priorities or []))
    text = f"[{view.status.value.upper()}] {number}{escape(view.title)} ({escape(view.service or 'unknown service')})"
    return _clip(text, 3000), blocks


def note_modal(incident_id: str, number: int | None, channel: str | None, ts: str | None = None) -> dict[str, Any]:
    metadata = json.dumps({"incident_id": incident_id, "channel": channel, "ts": ts})
    title = f"Note on #{number}" if number is not None else "Add a note"
    return {
        "type": "modal",
        "callback_id": NOTE_MODAL,
        "private_metadata": metadata,
        "title": {"type": "plain_text", "text": _clip(title, 24)},
        "submit": {"type": "plain_text", "text": "Add note"},
        "close": {"type": "plain_text", "text": "Cancel"},
        "blocks": [{
            "type": "input",
            "block_id": NOTE_BLOCK,
            "label": {"type": "plain_text", "text": "Note (added in PagerDuty as you)"},
            "element": {"type": "plain_text_input", "action_id": NOTE_INPUT, "multiline": True,
                        "max_length": NOTE_MAX_CHARS},
        }],
    }


def status_modal(incident_id: str, number: int | None, channel: str | None, ts: str | None = None) -> dict[str, Any]:
    """The Update status form: its submission posts a PagerDuty status update as the person."""
    modal = note_modal(incident_id, number, channel, ts)
    title = f"Status of #{number}" if number is not None else "Update status"
    modal.update({
        "callback_id": STATUS_MODAL,
        "title": {"type": "plain_text", "text": _clip(title, 24)},
        "submit": {"type": "plain_text", "text": "Post update"},
        "blocks": [{
            "type": "input",
            "block_id": STATUS_BLOCK,
            "label": {"type": "plain_text", "text": "Status update (sent by PagerDuty to the incident's subscribers "
                                                    "as you)"},
            "element": {"type": "plain_text_input", "action_id": STATUS_INPUT, "multiline": True,
                        "max_length": STATUS_MAX_CHARS},
        }],
    })
    return modal
