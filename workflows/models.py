"""Typed values that cross the workflow boundary: inputs, events, effects and the incident state.

Everything here is a pydantic model so Temporal's pydantic data converter can carry it, and nothing here
does I/O, so the module is safe to import inside the workflow sandbox. They live by concern in
`incident_types.py` (PagerDuty's shapes), `events.py` (events and effects), `incident_state.py` (the state)
and `channel_models.py` (the dedicated channel); this module gathers them under one name.
"""

from __future__ import annotations

from workflows.base import Model, When
from workflows.channel_models import ChannelPolicy, Dedicated
from workflows.events import (
    ActorResolved,
    Effect,
    EscalationPlanned,
    Event,
    IncidentRead,
    MessagePosted,
    PdEvent,
    Person,
    ReadIncident,
    Recalled,
    RenderDone,
    RenderFailed,
    RepliesPosted,
    ResolveActor,
    Resumed,
    SlackAction,
    TellUser,
    Tick,
    Unexpected,
    WriteOutcome,
    WriteToPagerDuty,
)
from workflows.incident_state import (
    SETTLED_PHASES,
    AuditEntry,
    Command,
    CommandPhase,
    IncidentState,
    Reply,
    Seen,
    Shown,
    WorkflowInput,
)
from workflows.incident_types import (
    ActionKind,
    Ref,
    Snapshot,
    Status,
    Timing,
)

__all__ = [
    "SETTLED_PHASES",
    "ActionKind",
    "ActorResolved",
    "AuditEntry",
    "ChannelPolicy",
    "Command",
    "CommandPhase",
    "Dedicated",
    "Effect",
    "EscalationPlanned",
    "Event",
    "IncidentRead",
    "IncidentState",
    "MessagePosted",
    "Model",
    "PdEvent",
    "Person",
    "ReadIncident",
    "Recalled",
    "Ref",
    "RenderDone",
    "RenderFailed",
    "RepliesPosted",
    "Reply",
    "ResolveActor",
    "Resumed",
    "Seen",
    "Shown",
    "SlackAction",
    "Snapshot",
    "Status",
    "TellUser",
    "Tick",
    "Timing",
    "Unexpected",
    "When",
    "WorkflowInput",
    "WriteOutcome",
    "WriteToPagerDuty",
]
