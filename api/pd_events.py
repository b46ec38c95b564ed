"""PagerDuty v3 webhook bodies, parsed into the workflow's `PdEvent` (only the fields the bridge uses).

PagerDuty drops a delivery answered with a 4xx and disables the subscription after a few in a row, so
only a body that is not a v3 envelope at all, or whose fields the bridge would act on are unusable, is
refused. Every other well-formed envelope is either used or ignored with a reason."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from pydantic import ValidationError

from activities.pagerduty_api import snapshot
from workflows.models import PdEvent, Ref

# PagerDuty ids are short alphanumeric strings; this leaves room without letting junk reach Temporal.
INCIDENT_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}")
MAX_EVENT_ID = 200
# Any instant outside this range is a sender bug, and it would break the workflow's time arithmetic.
EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
LATEST = datetime(2100, 1, 1, tzinfo=UTC)


class MalformedWebhook(ValueError):
    pass


@dataclass(frozen=True)
class IgnoredWebhook:
    """A well-formed event the bridge does not act on: `reason` is a metric label, `detail` is for people."""

    reason: str
    detail: str


def load_json(body: bytes | str, what: str) -> Any:
    try:
        return json.loads(body)
    except RecursionError:
        raise MalformedWebhook(f"{what} is nested too deeply to be read") from None
    except ValueError as exc:
        raise MalformedWebhook(f"{what} is not JSON ({exc})") from None


def valid_incident_id(value: Any) -> str | None:
    """The id when it looks like a PagerDuty incident id, else None."""
    text = str(value) if isinstance(value, str | int) and not isinstance(value, bool) else ""
    return text if INCIDENT_ID.fullmatch(text) else None


def parse_time(value: Any, field: str) -> datetime:
    """An ISO 8601 instant with a timezone, as PagerDuty sends them; anything else is refused by name."""
    if not isinstance(value, str):
        raise MalformedWebhook(f"{field} must be an ISO 8601 timestamp string, got {type(value).__name__}")
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise MalformedWebhook(f"{field} {value[:60]!r} is not an ISO 8601 timestamp") from None
    if parsed.tzinfo is None or parsed.utcoffset() is None:
        raise MalformedWebhook(f"{field} {value[:60]!r} has no timezone; PagerDuty sends UTC such as "
                               "'2026-12-01T12:00:00Z'")
    try:
        instant = parsed.astimezone(UTC)
    except OverflowError:
        raise MalformedWebhook(f"{field} {value[:60]!r} is out of range") from None
    if not EARLIEST <= instant < LATEST:
        raise MalformedWebhook(f"{field} {value[:60]!r} is outside the years 2000-2099")
    return instant


def _ref(value: Any) -> Ref | None:
    if isinstance(value, dict) and isinstance(value.get("id"), str) and value["id"]:
        summary = value.get("summary")
        return Ref(id=value["id"], summary=summary if isinstance(summary, str) else "")
    return None


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _incident_ref(data: dict[str, Any]) -> Any:
    """Where the event names its incident: the data itself, `data.incident`, or inside a list of records
    (`incident.role.assigned` carries it only in `data.incident_role_assignments[].incident`)."""
    if data.get("type") == "incident":
        return data.get("id")
    if isinstance(data.get("incident"), dict):
        return data["incident"].get("id")
    for value in data.values():
        if isinstance(value, list):
            for item in value:
                if isinstance(item, dict) and isinstance(item.get("incident"), dict):
                    return item["incident"].get("id")
    return None


def _envelope(body: bytes) -> dict[str, Any]:
    document = load_json(body, "body")
    event = document.get("event") if isinstance(document, dict) else None
    if not isinstance(event, dict) or not isinstance(event.get("event_type"), str) or not event["event_type"]:
        raise MalformedWebhook('not a PagerDuty v3 webhook: expected {"event": {"event_type": ..., ...}}')
    return event


def parse_webhook(body: bytes) -> PdEvent | IgnoredWebhook:
    """The incident event in a webhook body, or why a well-formed event is not one the bridge uses."""
    event = _envelope(body)
    event_type: str = event["event_type"]
    # Checked on every event: a timestamp without a timezone is a sender bug worth hearing about.
    occurred_at = parse_time(event["occurred_at"], "event.occurred_at") if "occurred_at" in event else None
    if not event_type.startswith("incident."):
        return IgnoredWebhook("not_an_incident", f"{event_type[:80]} is not about an incident")
    data = event.get("data")
    if not isinstance(data, dict):
        return IgnoredWebhook("no_incident", f"{event_type[:80]} has no data object")
    raw_id = _incident_ref(data)
    if raw_id is None:
        return IgnoredWebhook("no_incident", f"{event_type[:80]} names no incident")
    incident_id = valid_incident_id(raw_id)
    if incident_id is None:
        raise MalformedWebhook(f"{event_type[:80]}: incident id {str(raw_id)[:40]!r} is not a PagerDuty id "
                               "(1-64 letters, digits, '-' or '_')")
    event_id = event.get("id")
    if not isinstance(event_id, str) or not 0 < len(event_id) <= MAX_EVENT_ID:
        raise MalformedWebhook(f"event.id must be a string of 1-{MAX_EVENT_ID} characters")
    if occurred_at is None:
        raise MalformedWebhook("event.occurred_at is missing")
    return _pd_event(event, event_type, event_id, occurred_at, incident_id, data)


def _pd_event(event: dict[str, Any], event_type: str, event_id: str, occurred_at: datetime, incident_id: str,
              data: dict[str, Any]) -> PdEvent:
    try:
        incident = snapshot(data) if data.get("type") == "incident" else None
    except (KeyError, ValueError, TypeError, AttributeError, RecursionError, ValidationError) as exc:
        raise MalformedWebhook(f"{event_type} webhook has an unreadable incident: {exc}") from None
    kind = data.get("type")
    agent = event.get("agent")
    # Only people are credited; a service or integration as agent means "PagerDuty (automation)".
    person = isinstance(agent, dict) and agent.get("type") in {"user_reference", "user"}
    return PdEvent(
        event_id=event_id,
        event_type=event_type,
        occurred_at=occurred_at,
        incident_id=incident_id,
        agent=_ref(agent) if person else None,
        incident=incident,
        note_id=_text(data.get("id")) if kind == "incident_note" else None,
        note_content=(_text(data.get("content")) or "") if kind == "incident_note" else None,
        responder=_ref(data.get("user")) if kind == "incident_responder" else None,
        responder_message=(_text(data.get("message")) or None) if kind == "incident_responder" else None,
        incident_key=(_text(data.get("incident_key")) or "")[:255] or None if kind == "incident" else None,
        status_update_id=_text(data.get("id")) if kind == "incident_status_update" else None,
        status_update_message=(_text(data.get("message")) or "") if kind == "incident_status_update" else None,
        status_update_trimmed=kind == "incident_status_update" and data.get("trimmed") is True,
    )
