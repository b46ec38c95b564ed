"""Slack interaction payloads (`block_actions`, `view_submission`), parsed into what the bridge acts on.

Every field is read through a type check: a signed payload of an unexpected shape is refused with the
field it got wrong (or ignored when it is not the bridge's), never allowed to raise further in."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs

from activities.blocks import (
    NOTE_BLOCK,
    NOTE_INPUT,
    NOTE_MODAL,
    STATUS_BLOCK,
    STATUS_INPUT,
    STATUS_MODAL,
    ActionId,
    incident_id_from_block,
)
from api.pd_events import valid_incident_id
from api.trigger_modal import TRIGGER_MODAL, TriggerSubmission, parse_trigger_submission
from workflows.models import ActionKind, SlackAction


class MalformedInteraction(ValueError):
    pass


ACTION_KINDS = {
    ActionId.ACKNOWLEDGE: ActionKind.ACKNOWLEDGE,
    ActionId.RESOLVE: ActionKind.RESOLVE,
    ActionId.ESCALATE: ActionKind.ESCALATE,
    ActionId.REASSIGN: ActionKind.REASSIGN,
    ActionId.SNOOZE: ActionKind.SNOOZE,
    ActionId.PRIORITY: ActionKind.PRIORITY,
    ActionId.ADD_RESPONDER: ActionKind.ADD_RESPONDER,
    ActionId.CREATE_CHANNEL: ActionKind.CREATE_CHANNEL,
}
MAX_FIELD = 255  # Slack ids and timestamps are short; anything longer is not Slack's


@dataclass(frozen=True)
class OpenNoteModal:
    incident_id: str
    trigger_id: str
    channel: str | None
    slack_user: str
    message_ts: str | None = None
    status_update: bool = False  # the Update status form rather than the note's


@dataclass(frozen=True)
class Ignored:
    reason: str


Interaction = SlackAction | OpenNoteModal | TriggerSubmission | Ignored


def decode_form(body: bytes) -> dict[str, Any]:
    try:
        form = parse_qs(body.decode("utf-8"), strict_parsing=True)
        payload = json.loads(form["payload"][0])
    except RecursionError:
        raise MalformedInteraction("payload is nested too deeply to be read") from None
    except (UnicodeDecodeError, ValueError, KeyError) as exc:
        raise MalformedInteraction(f"expected a form field 'payload' holding JSON ({type(exc).__name__})") from None
    if not isinstance(payload, dict):
        raise MalformedInteraction("payload is not a JSON object")
    return payload


def _obj(parent: dict[str, Any], key: str, where: str) -> dict[str, Any]:
    """A nested object; absent or null reads as empty, any other type is refused by name."""
    value = parent.get(key)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise MalformedInteraction(f"{where}{key} must be an object, got {type(value).__name__}")
    return value


def _str(parent: dict[str, Any], key: str, where: str) -> str | None:
    """A short string field; absent, null or empty reads as None, any other type is refused by name."""
    value = parent.get(key)
    if value is None or value == "":
        return None
    if not isinstance(value, str) or len(value) > MAX_FIELD:
        raise MalformedInteraction(f"{where}{key} must be a string of at most {MAX_FIELD} characters")
    return value


def _incident(value: str | None, where: str) -> str:
    incident_id = valid_incident_id(value)
    if incident_id is None:
        raise MalformedInteraction(f"{where} is not a PagerDuty incident id" if value else f"{where} is missing")
    return incident_id


def parse_interaction(payload: dict[str, Any]) -> Interaction:
    user = _str(_obj(payload, "user", ""), "id", "user.")
    if not user:
        raise MalformedInteraction("payload has no user.id")
    kind = payload.get("type")
    if kind == "block_actions":
        return _block_action(payload, user)
    if kind == "view_submission":
        return _note_submission(payload, user)
    return Ignored(f"interaction type {str(kind)[:40]!r} is not used by the bridge")


def _block_action(payload: dict[str, Any], user: str) -> Interaction:
    actions = payload.get("actions")
    if not isinstance(actions, list) or not actions or not isinstance(actions[0], dict):
        raise MalformedInteraction("block_actions payload needs 'actions': a list of action objects")
    action = actions[0]
    raw_action_id = action.get("action_id")
    if not isinstance(raw_action_id, str) or raw_action_id not in ActionId.__members__.values():
        return Ignored(f"action {str(raw_action_id)[:40]!r} is not one of the bridge's controls")
    action_id = ActionId(raw_action_id)
    block = _str(action, "block_id", "actions[0].")
    value = _str(action, "value", "actions[0].") or (incident_id_from_block(block) if block else None)
    incident_id = _incident(value, f"{action_id.value}'s incident id (button value or block_id)")
    container = _obj(payload, "container", "")
    channel = _str(_obj(payload, "channel", ""), "id", "channel.") or _str(container, "channel_id", "container.")
    message_ts = _str(container, "message_ts", "container.") or _str(_obj(payload, "message", ""), "ts", "message.")
    if container.get("is_ephemeral") is True:
        message_ts = None  # a `/pd` answer only its reader sees: never the incident's message
    trigger = _str(payload, "trigger_id", "")
    if action_id in (ActionId.ADD_NOTE, ActionId.STATUS_UPDATE):
        if not trigger:
            raise MalformedInteraction(f"{action_id.value} without trigger_id")
        return OpenNoteModal(incident_id=incident_id, trigger_id=trigger, channel=channel,
                             slack_user=user, message_ts=message_ts,
                             status_update=action_id == ActionId.STATUS_UPDATE)
    key = f"{action_id.value}:{_str(action, 'action_ts', 'actions[0].') or trigger}:{user}"
    option = _obj(action, "selected_option", "actions[0].")
    label = _obj(option, "text", "actions[0].selected_option.")
    return SlackAction(key=key, action=ACTION_KINDS[action_id], incident_id=incident_id,
                       slack_user=user, channel=channel, message_ts=message_ts,
                       target_slack_user=_str(action, "selected_user", "actions[0]."),
                       choice=_str(option, "value", "actions[0].selected_option."),
                       choice_label=_str(label, "text", "actions[0].selected_option.text."),
                       response_url=_str(payload, "response_url", "") or None)


def _metadata(view: dict[str, Any]) -> dict[str, Any]:
    raw = view.get("private_metadata")
    try:
        meta = json.loads(raw) if isinstance(raw, str) else None
    except (ValueError, RecursionError):
        meta = None
    if not isinstance(meta, dict):
        raise MalformedInteraction("the modal's private_metadata is not the JSON object the bridge wrote")
    return meta


def _note_submission(payload: dict[str, Any], user: str) -> Interaction:
    view = _obj(payload, "view", "")
    if not view:
        raise MalformedInteraction("view_submission payload has no 'view' object")
    if view.get("callback_id") == TRIGGER_MODAL:
        return parse_trigger_submission(view, user)
    form = TEXT_FORMS.get(str(view.get("callback_id")))
    if form is None:
        return Ignored(f"view {str(view.get('callback_id'))[:40]!r} is not the bridge's note or status update modal")
    kind, block, field, what = form
    meta = _metadata(view)
    incident_id = _incident(_str(meta, "incident_id", "private_metadata."), "private_metadata.incident_id")
    values = _obj(_obj(_obj(view, "state", "view."), "values", "view.state."), block, "view.state.values.")
    text = _obj(values, field, f"view.state.values.{block}.").get("value")
    if text is not None and not isinstance(text, str):
        raise MalformedInteraction(f"the {what} ({field}.value) must be text")
    prefix = "note" if kind is ActionKind.NOTE else kind.value
    return SlackAction(key=f"{prefix}:{_str(view, 'id', 'view.')}", action=kind, incident_id=incident_id,
                       slack_user=user, channel=_str(meta, "channel", "private_metadata."),
                       message_ts=_str(meta, "ts", "private_metadata."), note=text or "")


# The bridge's forms of typed text: callback_id -> (action, input block, input, what it is called).
TEXT_FORMS = {
    NOTE_MODAL: (ActionKind.NOTE, NOTE_BLOCK, NOTE_INPUT, "note"),
    STATUS_MODAL: (ActionKind.STATUS_UPDATE, STATUS_BLOCK, STATUS_INPUT, "status update"),
}


def form_block(action: ActionKind) -> str:
    """The input block of the form an action's text was typed in (where Slack shows an error)."""
    return STATUS_BLOCK if action is ActionKind.STATUS_UPDATE else NOTE_BLOCK
