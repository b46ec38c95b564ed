"""What the incident's state keeps, bounded (part of `workflows/state.py`'s machine): seen event ids, action
keys, the audit, shown additive changes, and settled commands, kept while their echo may still come."""

from __future__ import annotations

from datetime import datetime, timedelta

from workflows.changes import trim_additive
from workflows.models import Command, CommandPhase, IncidentState
from workflows.policy import REFUSED_PREFIX

MAX_SEEN_EVENTS = 500
MAX_SEEN_ACTIONS = 200
MAX_SETTLED_COMMANDS = 20
MAX_AWAITING_ECHO = 200  # settled commands whose echo may still come
ECHO_DUE_FOR = timedelta(hours=48)  # PagerDuty retries a webhook for up to 48 h
MAX_AUDIT = 50
MAX_SHOWN_ADDITIVE = 1000


def _trim_seen_events(state: IncidentState) -> None:
    excess = len(state.seen_event_ids) - MAX_SEEN_EVENTS
    if excess <= 0:
        return
    del state.seen_event_ids[:excess]
    # Times are kept from the end, aligned with the ids (a state from before they were kept has fewer).
    drop = max(len(state.seen_event_at) - MAX_SEEN_EVENTS, 0)
    if drop:
        newest = max(state.seen_event_at[:drop])
        state.event_floor = max(newest, state.event_floor) if state.event_floor else newest
        del state.seen_event_at[:drop]


def trim(state: IncidentState, now: datetime) -> None:
    _trim_seen_events(state)
    del state.seen_action_keys[:-MAX_SEEN_ACTIONS]
    del state.audit[:-MAX_AUDIT]
    trim_additive(state, MAX_SHOWN_ADDITIVE)
    settled = [c for c in state.commands
               if c.phase in {CommandPhase.FAILED, CommandPhase.REFUSED} or (c.phase is CommandPhase.APPLIED
                                                                              and (c.echo_seen or c.confirmed))]
    # A command whose echo may still come is kept while PagerDuty can still deliver it (it retries for 48 h),
    # or its echo would be shown as a change made in PagerDuty; a bound keeps the state small regardless.
    due = [c for c in settled if _echo_due(c, now)][-MAX_AWAITING_ECHO:]
    kept = {c.id for c in due} | {c.id for c in [c for c in settled if not _echo_due(c, now)][-MAX_SETTLED_COMMANDS:]}
    drop = {c.id for c in settled} - kept
    state.commands = [c for c in state.commands if c.id not in drop]


def _echo_due(command: Command, now: datetime) -> bool:
    """Whether PagerDuty may still deliver this command's webhook (so it must stay to be recognised)."""
    if command.echo_seen or command.phase is CommandPhase.REFUSED or command.settled_at is None:
        return False
    if command.already_by is not None or command.nothing_done:
        return False
    if command.phase is CommandPhase.FAILED and command.detail.startswith(REFUSED_PREFIX):
        return False
    return now - command.settled_at < ECHO_DUE_FOR
