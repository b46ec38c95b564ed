"""Small state changes shared by the reducer's handlers (see the rules in `workflows/state.py`)."""

from __future__ import annotations

from datetime import datetime

from workflows.models import (
    AuditEntry,
    Command,
    CommandPhase,
    Effect,
    IncidentState,
    ReadIncident,
    Ref,
    Reply,
    Snapshot,
    Status,
)

# Replies wait in state only while the Slack message cannot be posted; past this many the oldest go.
MAX_WAITING_REPLIES = 100


def reply(state: IncidentState, text: str, people: list[Ref] | None = None) -> None:
    state.replies.append(Reply(seq=state.next_reply_seq, text=text, people=people or []))
    state.next_reply_seq += 1
    if len(state.replies) > MAX_WAITING_REPLIES:
        state.replies.pop(0)
        state.replies_dropped += 1


def audit(state: IncidentState, now: datetime, event_id: str, note: str) -> None:
    state.audit.append(AuditEntry(at=now, event_id=event_id, note=note))


def request_read(state: IncidentState, reason: str, effects: list[Effect]) -> None:
    if not state.read_in_flight:
        state.read_in_flight = True
        effects.append(ReadIncident(reason=reason))


def find_command(state: IncidentState, command_id: str) -> Command | None:
    return next((c for c in state.commands if c.id == command_id), None)


def settle(command: Command, phase: CommandPhase, now: datetime, detail: str = "") -> None:
    command.phase, command.settled_at = phase, now
    if detail:
        command.detail = detail


def apply_status(state: IncidentState, status: Status, at: datetime | None, now: datetime,
                 whole_seconds: bool = False) -> bool:
    """Apply a status change unless a newer one was already applied; False when stale.

    Webhooks time changes to the millisecond; the REST API's `last_status_change_at` only to the second.
    A REST time (`whole_seconds`) is stale only when its second is before the last change's second, and
    it never moves the last change time backwards.
    """
    last = state.status_changed_at
    if at is not None and last is not None:
        if at < (last.replace(microsecond=0) if whole_seconds else last):
            return False
        at = max(at, last) if whole_seconds else at
    if state.incident is not None:
        state.incident.status = status
    if at is not None:
        state.status_changed_at = at
    # The linger clock runs on the worker's time, from when the bridge first saw the resolution.
    if status is Status.RESOLVED:
        state.resolved_seen_at = state.resolved_seen_at or now
    else:
        state.resolved_seen_at = None
    return True


def merge_snapshot(state: IncidentState, snap: Snapshot, status_at: datetime | None, now: datetime,
                   from_rest: bool = False) -> bool:
    """Take a full snapshot's descriptive fields; its status only if not older than ours."""
    keep_status = state.incident.status if state.incident else snap.status
    state.incident = snap.model_copy(update={"status": keep_status})
    state.known = True
    return apply_status(state, snap.status, status_at, now, whole_seconds=from_rest)
