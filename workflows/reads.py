"""The reducer's reads from PagerDuty and its clock (part of `workflows/state.py`'s machine): what a read
settles, which deadlines wake the workflow, and what a Tick does when they pass."""

from __future__ import annotations

from datetime import datetime, timedelta

from workflows import dedicated, timeline
from workflows.changes import audit, find_command, merge_snapshot, read_retry_at, reply, request_read
from workflows.models import CommandPhase, Effect, IncidentRead, IncidentState, Status
from workflows.policy import EVENT_STATUS, EXPECTED_STATUS


def on_read(state: IncidentState, read: IncidentRead, now: datetime, effects: list[Effect],
            careful: bool = True) -> None:
    state.read_in_flight = False
    again, state.read_again = state.read_again, None
    if read.snapshot is None:
        state.read_error = read.error or "read failed"
        state.read_failures += 1
        state.read_failed_at = now
    else:
        state.read_error, state.read_failures, state.read_failed_at = None, 0, None
        state.last_read_at = now
        was_known, before = state.known, state.status
        taken = merge_snapshot(state, read.snapshot, read.status_changed_at, now, effects, read_no=read.read_no,
                               careful=careful)
        if taken and state.read_sees_at is not None and (state.status_read_floor is None
                                                         or state.read_sees_at > state.status_read_floor):
            state.status_read_floor = state.read_sees_at
        if state.ts is None and not state.saw_trigger and state.status is Status.RESOLVED and not was_known:
            audit(state, now, "read", "first seen already resolved: no incident message is posted for it")
        own = any(c.phase is CommandPhase.APPLIED and EXPECTED_STATUS.get(c.action) is state.status
                  for c in state.commands)
        tied, state.tied = state.tied, None
        tied_line = (timeline.external_change(tied, tied.incident or state.incident)
                     if tied is not None and EVENT_STATUS.get(tied.event_type) is state.status else None)
        if tied_line is not None and tied is not None and state.status is not before:
            reply(state, tied_line)  # PagerDuty says the tied webhook's change came last
            state.acted_by = tied.agent or state.acted_by
        elif was_known and before is not None and state.status is not before and not own:
            reply(state, timeline.synced(state.status.value if state.status else "unknown"))
            state.status_unnamed = True
        for command in state.commands:
            if command.phase is CommandPhase.APPLIED:
                command.confirmed = True
    if again:
        request_read(state, again, effects)


def _awaiting_echo(state: IncidentState) -> list[tuple[datetime, str]]:
    wait = timedelta(seconds=state.timing.confirmation_deadline_seconds)
    return [(c.settled_at + wait, c.id) for c in state.commands
            if c.phase is CommandPhase.APPLIED and not c.echo_seen and not c.confirmed and c.settled_at]


def next_deadline(state: IncidentState) -> datetime | None:
    """When the reducer next wants a Tick, if ever."""
    timing = state.timing
    times = [at for at, _ in _awaiting_echo(state)]
    archive_at = dedicated.deadline(state)
    if archive_at is not None:
        times.append(archive_at)
    retry = read_retry_at(state)
    if retry is not None:
        times.append(retry)
    if state.status is Status.RESOLVED and state.resolved_seen_at is not None:
        # While a command (or the channel's work) is unsettled the linger waits for it; its own outcome, or
        # the archive's deadline, wakes the workflow.
        if not state.pending_commands() and not dedicated.holds_open(state):
            times.append(state.resolved_seen_at + timedelta(seconds=timing.linger_after_resolve_seconds))
    elif state.known and state.last_read_at is not None:
        times.append(state.last_read_at + timedelta(seconds=timing.reconcile_interval_seconds))
    return min(times) if times else None


def on_recalled(state: IncidentState, now: datetime, effects: list[Effect]) -> None:
    """The finished run's state, taken over by a new run for an event that came after the linger."""
    audit(state, now, "workflow", "an event came after the workflow had finished: going on with what it knew")
    state.finished = False
    state.read_in_flight, state.render_error = False, None
    if state.resolved_seen_at is not None:
        state.resolved_seen_at = now  # linger again, from this event
    request_read(state, "an event came after the incident's workflow had finished", effects)


# A resolved incident waiting for a read lingers while PagerDuty's answers fail fewer times than this in a row
# (about two hours of retries); then it finishes, and a later event takes its state over again.
READS_BEFORE_GIVING_UP = 10


def on_tick(state: IncidentState, now: datetime, effects: list[Effect], doubt_lingers: bool = True) -> None:
    """`doubt_lingers` is False only for runs started before a resolved incident, while a read it asked for
    (about a tie, or a change since) is still to succeed, went on lingering instead of finishing."""
    timing = state.timing
    dedicated.on_tick(state, now, effects)
    for deadline, command_id in _awaiting_echo(state):
        command = find_command(state, command_id)
        if command is not None and deadline <= now:
            command.confirmed = True
            request_read(state, f"no webhook confirmed {command.action} by {command.slack_user}", effects,
                         after=True)
    retry = read_retry_at(state)
    if retry is not None and retry <= now:
        request_read(state, f"retrying a failed read ({state.read_error})", effects)
    if state.status is Status.RESOLVED and state.resolved_seen_at is not None:
        linger_end = state.resolved_seen_at + timedelta(seconds=timing.linger_after_resolve_seconds)
        in_doubt = state.tied is not None or state.read_failed_at is not None
        if linger_end > now or state.pending_commands() or dedicated.holds_open(state):
            pass
        elif doubt_lingers and in_doubt and state.read_failures < READS_BEFORE_GIVING_UP:
            # What PagerDuty was asked is still to be read (a reopen from the resolve's millisecond, a priority
            # changed since): finishing now would leave the message as it is for good.
            state.resolved_seen_at = now
            audit(state, now, "workflow", "resolved, but PagerDuty is still to be read: lingering")
        else:
            if doubt_lingers and in_doubt:
                audit(state, now, "workflow", f"finished without the read it was waiting for: PagerDuty could "
                      f"not be read ({state.read_error})")
            state.finished = True
    elif (state.known and state.last_read_at is not None
          and state.last_read_at + timedelta(seconds=timing.reconcile_interval_seconds) <= now):
        state.last_read_at = now
        request_read(state, "periodic re-read from PagerDuty", effects)


