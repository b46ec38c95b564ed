"""Small factories for events and state; every test builds exactly what it needs."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from typing import Any

from workflows.models import (
    ActionKind,
    ActorResolved,
    IncidentState,
    PdEvent,
    Person,
    Ref,
    SlackAction,
    Snapshot,
    Status,
    Timing,
)
from workflows.slack_text import fill

T0 = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
_ids = itertools.count(1)
ALICE = Person(pd_id="PALICE1", email="alice@example.com", name="Alice Adams")
BOB = Person(pd_id="PBOB001", email="bob@example.com", name="Bob Brown")
STATUS_OF = {
    "incident.triggered": Status.TRIGGERED,
    "incident.acknowledged": Status.ACKNOWLEDGED,
    "incident.unacknowledged": Status.TRIGGERED,
    "incident.resolved": Status.RESOLVED,
    "incident.reopened": Status.TRIGGERED,
}


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def snapshot(status: Status = Status.TRIGGERED, **overrides: Any) -> Snapshot:
    base: dict[str, Any] = {
        "id": "PINC001", "number": 42, "title": "Checkout latency over SLO", "status": status,
        "html_url": "https://example.pagerduty.com/incidents/PINC001", "urgency": "high",
        "service": Ref(id="PSVC001", summary="payments-api"), "teams": [Ref(id="PTPAY01", summary="Payments")],
        "escalation_policy": Ref(id="PEP0001", summary="Payments EP"),
        "assignees": [Ref(id=ALICE.pd_id, summary=ALICE.name)],
    }
    base.update(overrides)
    return Snapshot(**base)


def pd_event(event_type: str, seconds: float, *, agent: Person | None = ALICE, event_id: str | None = None,
             **incident: Any) -> PdEvent:
    status = STATUS_OF.get(event_type, incident.pop("status", Status.TRIGGERED))
    fields: dict[str, Any] = {}
    if event_type == "incident.annotated":
        fields = {"note_id": incident.pop("note_id", f"PNOTE{next(_ids)}"), "note_content": incident.pop("note", "hi")}
        snap = None
    elif event_type == "incident.status_update_published":
        fields = {"status_update_id": incident.pop("status_update_id", f"PSU{next(_ids)}"),
                  "status_update_message": incident.pop("message", "hi"),
                  "status_update_trimmed": incident.pop("trimmed", False)}
        snap = None
    else:
        snap = snapshot(status, **incident)
    return PdEvent(
        event_id=event_id or f"EV{next(_ids):05d}", event_type=event_type, occurred_at=at(seconds),
        incident_id="PINC001", agent=Ref(id=agent.pd_id, summary=agent.name) if agent else None, incident=snap,
        **fields,
    )


def action(kind: ActionKind, user: str = "U0ALICE", key: str | None = None, **extra: Any) -> SlackAction:
    return SlackAction(key=key or f"k{next(_ids)}", action=kind, incident_id="PINC001", slack_user=user,
                       channel="C0PAYMENTS", **extra)


def resolved_actor(command_id: str, actor: Person | None = ALICE, **extra: Any) -> ActorResolved:
    base: dict[str, Any] = {"actor_team_ids": ["PTPAY01"], "incident_team_ids": ["PTPAY01"]}
    base.update(extra)
    return ActorResolved(command_id=command_id, actor=actor, **base)


def new_state(**timing: int) -> IncidentState:
    return IncidentState(incident_id="PINC001", timing=Timing(**timing))


def thread(state: IncidentState) -> list[str]:
    """The thread as Slack receives it: people by name (no Slack accounts), typed text escaped."""
    return [fill(r.text, r.texts, [p.summary for p in r.people]) for r in state.replies]
