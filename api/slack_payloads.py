"""Slack interaction payloads (`block_actions`, `view_submission`), parsed into what the bridge acts on."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs

from activities.blocks import NOTE_BLOCK, NOTE_INPUT, NOTE_MODAL, ActionId, incident_id_from_block
from workflows.models import ActionKind, SlackAction


class MalformedInteraction(ValueError):
    pass


ACTION_KINDS = {
    ActionId.ACKNOWLEDGE: ActionKind.ACKNOWLEDGE,
    ActionId.RESOLVE: ActionKind.RESOLVE,
    ActionId.ESCALATE: ActionKind.ESCALATE,
    ActionId.REASSIGN: ActionKind.REASSIGN,
}


@dataclass(frozen=True)
class OpenNoteModal:
    incident_id: str
    trigger_id: str
    channel: str | None
    slack_user: str
    message_ts: str | None = None


@dataclass(frozen=True)
class Ignored:
    reason: str


Interaction = SlackAction | OpenNoteModal | Ignored


def decode_form(body: bytes) -> dict[str, Any]:
    try:
        form = parse_qs(body.decode("utf-8"), strict_parsing=True)
        payload = json.loads(form["payload"][0])
    except (UnicodeDecodeError, ValueError, KeyError) as exc:
        raise MalformedInteraction(f"expected a form field 'payload' holding JSON ({type(exc).__name__})") from None
    if not isinstance(payload, dict):
        raise MalformedInteraction("payload is not a JSON object")
    return payload


def parse_interaction(payload: dict[str, Any]) -> Interaction:
    user = (payload.get("user") or {}).get("id")
    if not user:
        raise MalformedInteraction("payload has no user.id")
    kind = payload.get("type")
    if kind == "block_actions":
        return _block_action(payload, str(user))
    if kind == "view_submission":
        return _note_submission(payload, str(user))
    return Ignored(f"interaction type {kind!r} is not used by the bridge")


def _block_action(payload: dict[str, Any], user: str) -> Interaction:
    actions = payload.get("actions") or []
    if not actions or not isinstance(actions[0], dict):
        raise MalformedInteraction("block_actions payload without actions")
    action = actions[0]
    action_id = str(action.get("action_id") or "")
    if action_id not in ActionId.__members__.values():
        return Ignored(f"action {action_id!r} is not one of the bridge's controls")
    incident_id = action.get("value") or incident_id_from_block(str(action.get("block_id") or ""))
    if not incident_id:
        raise MalformedInteraction(f"{action_id} carries no incident id (button value or block_id)")
    container = payload.get("container") or {}
    channel = (payload.get("channel") or {}).get("id") or container.get("channel_id")
    message_ts = container.get("message_ts") or (payload.get("message") or {}).get("ts")
    if action_id == ActionId.ADD_NOTE:
        trigger = payload.get("trigger_id")
        if not trigger:
            raise MalformedInteraction("pd_add_note without trigger_id")
        return OpenNoteModal(incident_id=str(incident_id), trigger_id=str(trigger), channel=channel,
                             slack_user=user, message_ts=message_ts)
    key = f"{action_id}:{action.get('action_ts') or payload.get('trigger_id')}:{user}"
    return SlackAction(key=key, action=ACTION_KINDS[ActionId(action_id)], incident_id=str(incident_id),
                       slack_user=user, channel=channel, message_ts=message_ts,
                       target_slack_user=action.get("selected_user"))


def _note_submission(payload: dict[str, Any], user: str) -> Interaction:
    view = payload.get("view") or {}
    if view.get("callback_id") != NOTE_MODAL:
        return Ignored(f"view {view.get('callback_id')!r} is not the bridge's note modal")
    try:
        meta = json.loads(view.get("private_metadata") or "")
        incident_id = str(meta["incident_id"])
    except (ValueError, KeyError, TypeError):
        raise MalformedInteraction("note modal without the incident id in private_metadata") from None
    values = ((view.get("state") or {}).get("values") or {}).get(NOTE_BLOCK) or {}
    note = str((values.get(NOTE_INPUT) or {}).get("value") or "")
    return SlackAction(key=f"note:{view.get('id')}", action=ActionKind.NOTE, incident_id=incident_id,
                       slack_user=user, channel=meta.get("channel"), message_ts=meta.get("ts"), note=note)
