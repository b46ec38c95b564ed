"""The `/pd trigger` modal: its view (service list, title, urgency) and its parsed submission. Pure."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from api.command_text import MAX_TITLE

TRIGGER_MODAL = "pd_trigger_modal"
SERVICE_BLOCK, SERVICE_INPUT = "pd_trigger_service", "pd_trigger_service_choice"
TITLE_BLOCK, TITLE_INPUT = "pd_trigger_title", "pd_trigger_title_text"
URGENCY_BLOCK, URGENCY_INPUT = "pd_trigger_urgency", "pd_trigger_urgency_choice"
MAX_OPTIONS = 100  # Slack shows at most 100 options in a select


@dataclass(frozen=True)
class TriggerSubmission:
    view_id: str
    slack_user: str
    channel: str | None
    service_id: str | None
    title: str
    urgency: str


def _option(text: str, value: str) -> dict[str, Any]:
    return {"text": {"type": "plain_text", "text": text[:75]}, "value": value}


def service_options(services: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The select's options for PagerDuty services, by name, as the options load URL answers them."""
    pairs = sorted(((str(s.get("name") or s["id"]), str(s["id"])) for s in services if s.get("id")),
                   key=lambda pair: pair[0].lower())
    return [_option(name, sid) for name, sid in pairs[:MAX_OPTIONS]]


def trigger_modal(channel: str, service: tuple[str, str] | None, title: str | None,
                  urgency: str) -> dict[str, Any]:
    """The service is an `external_select`: Slack asks the bridge's options load URL for the services matching
    what the person types, so every service in the account can be chosen. `service` is the (id, name)
    named in the command, preselected; the title and urgency are filled in when known."""
    service_select: dict[str, Any] = {"type": "external_select", "action_id": SERVICE_INPUT, "min_query_length": 0,
                                      "placeholder": {"type": "plain_text", "text": "Type to find a service"}}
    if service:
        service_select["initial_option"] = _option(service[1] or service[0], service[0])
    title_input: dict[str, Any] = {"type": "plain_text_input", "action_id": TITLE_INPUT, "max_length": MAX_TITLE}
    if title:
        title_input["initial_value"] = title
    urgencies = [_option("High (pages now)", "high"), _option("Low", "low")]
    return {
        "type": "modal",
        "callback_id": TRIGGER_MODAL,
        "private_metadata": json.dumps({"channel": channel}),
        "title": {"type": "plain_text", "text": "Trigger an incident"},
        "submit": {"type": "plain_text", "text": "Trigger"},
        "close": {"type": "plain_text", "text": "Cancel"},
        "blocks": [
            {"type": "input", "block_id": SERVICE_BLOCK, "element": service_select,
             "label": {"type": "plain_text", "text": "Service"}},
            {"type": "input", "block_id": TITLE_BLOCK, "element": title_input,
             "label": {"type": "plain_text", "text": "What is wrong? (the incident title)"}},
            {"type": "input", "block_id": URGENCY_BLOCK, "label": {"type": "plain_text", "text": "Urgency"},
             "element": {"type": "static_select", "action_id": URGENCY_INPUT, "options": urgencies,
                         "initial_option": urgencies[0] if urgency != "low" else urgencies[1]}},
        ],
    }


def _value(values: dict[str, Any], block: str, action: str) -> Any:
    entry = values.get(block)
    entry = entry.get(action) if isinstance(entry, dict) else None
    return entry if isinstance(entry, dict) else {}


def parse_trigger_submission(view: dict[str, Any], user: str) -> TriggerSubmission:
    """Reads the modal's state; a missing or odd-shaped field reads as empty (the caller asks again)."""
    try:
        meta = json.loads(str(view.get("private_metadata") or "{}"))
    except (ValueError, RecursionError):
        meta = {}
    channel = meta.get("channel") if isinstance(meta, dict) and isinstance(meta.get("channel"), str) else None
    state = view.get("state")
    values = state.get("values") if isinstance(state, dict) else None
    values = values if isinstance(values, dict) else {}
    service = _value(values, SERVICE_BLOCK, SERVICE_INPUT).get("selected_option")
    urgency = _value(values, URGENCY_BLOCK, URGENCY_INPUT).get("selected_option")
    title = _value(values, TITLE_BLOCK, TITLE_INPUT).get("value")
    return TriggerSubmission(
        view_id=str(view.get("id") or ""),
        slack_user=user,
        channel=channel,
        service_id=str(service.get("value")) if isinstance(service, dict) and service.get("value") else None,
        title=" ".join(title.split()) if isinstance(title, str) else "",
        urgency="low" if isinstance(urgency, dict) and urgency.get("value") == "low" else "high",
    )
