"""PagerDuty v3 webhook bodies, parsed into the workflow's `PdEvent` (only the fields the bridge uses)."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from activities.pagerduty_api import snapshot
from workflows.models import PdEvent, Ref


class MalformedWebhook(ValueError):
    pass


class _Body(BaseModel):
    model_config = ConfigDict(extra="ignore")
    id: str
    event_type: str
    resource_type: str = ""
    occurred_at: datetime
    agent: dict[str, Any] | None = None
    data: dict[str, Any] = Field(default_factory=dict)


class _Envelope(BaseModel):
    model_config = ConfigDict(extra="ignore")
    event: _Body


def _ref(value: Any) -> Ref | None:
    if isinstance(value, dict) and value.get("id"):
        return Ref(id=str(value["id"]), summary=str(value.get("summary") or ""))
    return None


def parse_webhook(body: bytes) -> PdEvent | None:
    """The incident event in a webhook body; None for events about other things (ping, services)."""
    try:
        envelope = _Envelope.model_validate(json.loads(body))
    except (ValueError, ValidationError) as exc:
        raise MalformedWebhook(f"not a PagerDuty v3 webhook: {str(exc).splitlines()[0]}") from None
    event = envelope.event
    if not event.event_type.startswith("incident."):
        return None
    data = event.data
    incident_ref = data.get("incident") if data.get("type") != "incident" else None
    incident_id = (incident_ref or {}).get("id") if isinstance(incident_ref, dict) else data.get("id")
    if not incident_id:
        raise MalformedWebhook(f"{event.event_type} webhook names no incident id")
    try:
        incident = snapshot(data) if data.get("type") == "incident" else None
    except (KeyError, ValueError, ValidationError) as exc:
        raise MalformedWebhook(f"{event.event_type} webhook has an unreadable incident: {exc}") from None
    note = data.get("type") == "incident_note"
    return PdEvent(
        event_id=event.id,
        event_type=event.event_type,
        occurred_at=event.occurred_at,
        incident_id=str(incident_id),
        # Only people are credited; a service or integration as agent means "PagerDuty (automation)".
        agent=_ref(event.agent) if (event.agent or {}).get("type") in {"user_reference", "user"} else None,
        incident=incident,
        note_id=str(data.get("id")) if note and data.get("id") else None,
        note_content=str(data.get("content") or "") if note else None,
        responder=_ref(data.get("user")) if data.get("type") == "incident_responder" else None,
        responder_message=str(data.get("message") or "") or None if data.get("type") == "incident_responder"
        else None,
    )
