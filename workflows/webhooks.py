"""The reducer's handlers for PagerDuty's webhooks (part of `workflows/state.py`'s machine).

A webhook's status change follows the newest `occurred_at`; one that confirms a pending command settles
it and is never shown as an outside change; two changes from one millisecond that disagree are PagerDuty's
to settle (a read), and the webhook waits for that answer so the thread can still say who made it.
"""

from __future__ import annotations

from datetime import datetime

from workflows import controls, timeline
from workflows.changes import apply_status, audit, remember_additive, reply, request_read, settle, take_details
from workflows.models import Command, CommandPhase, Effect, IncidentState, PdEvent, Status
from workflows.policy import EVENT_STATUS, STATUS_UPDATE_EVENT, confirms, status_update_key

UNANSWERED = {CommandPhase.SENDING, CommandPhase.RETRYING}

# A webhook whose snapshot says "triggered" after these is explained: PagerDuty re-triggers on them.
RETRIGGERING_EVENTS = {"incident.escalated", "incident.reassigned", "incident.delegated"}
# Changes that add to the incident rather than replace something: each is shown once, in any order.
ADDITIVE_EVENTS = {"incident.annotated", "incident.responder.added", "incident.responder.replied",
                   STATUS_UPDATE_EVENT}


def on_pd_event(state: IncidentState, event: PdEvent, now: datetime, effects: list[Effect],
                name_synced: bool = True, status_updates: bool = True, snapshot_ties: bool = True,
                tie_joined: bool = True, agree_marks: bool = True, read_floor: bool = True,
                snapshot_dated: bool = True) -> None:
    if event.event_id in state.seen_event_ids:
        audit(state, now, event.event_id, f"duplicate {event.event_type} ignored")
        return
    state.seen_event_ids.append(event.event_id)
    state.seen_event_at.append(event.occurred_at)
    if event.event_type == "incident.triggered":
        # However late it comes, a trigger means the channel must see the incident.
        state.saw_trigger = True
    if not state.known and event.event_type != "incident.triggered":
        request_read(state, f"first event for this incident was {event.event_type}", effects)

    echo = _echo_of(state, event)
    shown = status_updates or event.event_type != STATUS_UPDATE_EVENT
    if event.event_type in ADDITIVE_EVENTS and shown:
        key = (status_update_key(event.status_update_id) if event.status_update_id else None) or (
            event.note_id or event.event_id)
        if not remember_additive(state, key, event.occurred_at) and echo is None:
            audit(state, now, event.event_id, f"{event.event_type} {key} was shown already")
            return
    fresh = _apply_pd_change(state, event, now, effects, name_synced, snapshot_ties, tie_joined, agree_marks,
                             read_floor, snapshot_dated)
    if (name_synced and state.tied is event and state.event_floor is not None
            and event.occurred_at <= state.event_floor):
        # Possibly a redelivery of an event forgotten since (an echo of the bridge's own command, already told):
        # PagerDuty is still asked, but the answer does not name it.
        state.tied = None
    if echo is not None:
        _confirmed(state, echo, event, now)
    elif not fresh:
        audit(state, now, event.event_id, f"stale {event.event_type} from {event.occurred_at.isoformat()}")
        return
    elif state.event_floor is not None and event.occurred_at <= state.event_floor:
        # Older than events the bridge has forgotten (a storm went by since): almost surely a redelivery of
        # one shown then. Its facts are applied; the thread does not tell it twice.
        audit(state, now, event.event_id, f"{event.event_type} older than the events remembered: not shown again")
    else:
        line = controls.outside_line(state, event) if shown else None
        if line is not None:
            reply(state, line)
    if fresh and event.agent is not None and event.event_type in EVENT_STATUS:
        state.acted_by = event.agent


def _confirmed(state: IncidentState, echo: Command, event: PdEvent, now: datetime) -> None:
    """PagerDuty's echo of a command: the click's own change, never shown as an outside one."""
    if state.tied is event:
        state.tied = None
    echo.echo_seen = True
    if echo.phase in UNANSWERED and echo.action not in controls.ADDITIVE_ACTIONS:
        echo.held_echo = event  # the write's answer tells whose change this was
    elif echo.phase is not CommandPhase.APPLIED:
        late = echo.phase is CommandPhase.FAILED
        settle(echo, CommandPhase.APPLIED, now)
        reply(state, timeline.command_done(echo, event.incident or state.incident, late=late))


def _echo_of(state: IncidentState, event: PdEvent) -> Command | None:
    """The command this webhook confirms; a note's own command (by note id) before any match by text."""
    if event.note_id and any(c.note_id == event.note_id for c in state.commands):
        return next((c for c in state.commands if c.note_id == event.note_id and confirms(c, event)), None)
    if event.status_update_id and any(c.status_update_id == event.status_update_id for c in state.commands):
        return next((c for c in state.commands
                     if c.status_update_id == event.status_update_id and confirms(c, event)), None)
    # A click still waiting for its echo before one reported failed (whose write may have landed after all).
    ordered = sorted(state.commands, key=lambda c: c.phase is CommandPhase.FAILED)
    return next((c for c in ordered if confirms(c, event)), None)


def _apply_pd_change(state: IncidentState, event: PdEvent, now: datetime, effects: list[Effect],
                     name_synced: bool = True, snapshot_ties: bool = True, tie_joined: bool = True,
                     agree_marks: bool = True, read_floor: bool = True, snapshot_dated: bool = True) -> bool:
    """Apply what the webhook says; False when it is out of date (or a repeat of what is shown).

    `snapshot_ties` is False only for runs started before a status change no newer than the newest snapshot,
    which showed another status, asked PagerDuty; `tie_joined` is False only for runs started before a change
    that joined a tie being asked about asked again."""
    snap = event.incident
    target = EVENT_STATUS.get(event.event_type)
    if target is not None:
        status = snap.status if snap and event.event_type == "incident.reopened" else target
        last = state.status_changed_at
        # The newest snapshot came from another change, in this very millisecond or later, and showed another
        # status (a reassign that triggered the incident again, say): whether this change still holds is
        # PagerDuty's to say, as with two status changes in one millisecond.
        other_snapshot = (snapshot_ties and state.details_at is not None and event.occurred_at <= state.details_at
                          and state.details_status is not None and state.details_status is not status)
        # A read sent after webhooks this old were seen showed another status (its time only to the second): it
        # may well show PagerDuty after this change, so PagerDuty is asked which holds.
        floor = state.status_read_floor
        other_snapshot = other_snapshot or (read_floor and floor is not None and event.occurred_at <= floor
                                            and state.status is not status)
        if snap is not None:
            take_details(state, snap, event.occurred_at, now, effects, joined=tie_joined, dated=snapshot_dated)
            state.known = state.incident is not None
        if last is not None and event.occurred_at < last:
            return False
        if event.occurred_at == last or other_snapshot:
            return _same_moment(state, event, status, effects, other_snapshot, name_synced, tie_joined,
                                agree_marks)
        apply_status(state, status, event.occurred_at, now, effects)
        if event.event_type == "incident.triggered":
            state.last_read_at = state.last_read_at or now
        return True
    if snap is None:
        return True
    current = state.incident.status if state.incident else None
    taken = take_details(state, snap, event.occurred_at, now, effects, joined=tie_joined, dated=snapshot_dated)
    state.known = state.known or state.incident is not None
    newer = state.status_changed_at is None or event.occurred_at >= state.status_changed_at
    if current is not None and newer and snap.status is not current:
        # In the very millisecond of the last status change nobody can tell which came last: PagerDuty says. So
        # too for one no newer than what a read that gave the status had seen.
        floor = state.status_read_floor
        tied = event.occurred_at == state.status_changed_at or (read_floor and floor is not None
                                                                 and event.occurred_at <= floor)
        if event.event_type in RETRIGGERING_EVENTS and snap.status is Status.TRIGGERED and not tied:
            apply_status(state, Status.TRIGGERED, event.occurred_at, now, effects)
        else:
            request_read(state, f"{event.event_type} shows status {snap.status} but the bridge saw {current}",
                         effects, after=True)
    elif tie_joined:
        _joins_tie(state, event, snap.status, effects)
    # The thread still tells what happened (in the event's own words); only the message keeps the newest.
    return taken != "repeat"


def _joins_tie(state: IncidentState, event: PdEvent, shows: Status, effects: list[Effect]) -> None:
    """A snapshot from a tie's millisecond (or later) that shows another status than the tied change, while
    PagerDuty is asked about that tie: the read already out may show PagerDuty from before it; asked again."""
    tied = state.tied
    if (tied is not None and tied is not event and event.occurred_at >= tied.occurred_at
            and shows is not EVENT_STATUS.get(tied.event_type, shows)):
        request_read(state, f"{event.event_type} joins changes PagerDuty is asked about", effects, after=True)


def _same_moment(state: IncidentState, event: PdEvent, status: Status, effects: list[Effect], other_snapshot: bool,
                 name_synced: bool, tie_joined: bool, agree_marks: bool = True) -> bool:
    """A status webhook timed like the last status change (or no newer than a snapshot that showed another
    status): credited, a tie PagerDuty settles, or nothing new."""
    last = state.status_changed_at
    if name_synced and state.status_unnamed and status is state.status:
        # A read showed this change first, timed only to the second (so to the last change's time):
        # the webhook tells who made it, and when.
        state.status_unnamed = False
        if last is None or event.occurred_at > last:
            state.status_changed_at = event.occurred_at
        return True
    if status is not state.status or other_snapshot:
        # Two different changes in the same millisecond: which came last is PagerDuty's to say. The
        # webhook waits for the answer, so the thread can still say who made the change.
        state.tied = event
        why = ("has the same timestamp as the last status change" if event.occurred_at == last
               else "is not newer than a snapshot that showed another status")
        request_read(state, f"{event.event_type} {why}", effects, after=True)
    else:
        if tie_joined and state.tied is not None and state.tied is not event:
            # Another change in a millisecond PagerDuty is being asked about: the read already sent may show
            # PagerDuty from before it, so it is asked again after.
            request_read(state, f"{event.event_type} joins changes PagerDuty is asked about", effects,
                         after=True)
        if agree_marks:
            # It agrees with the message, in the last change's millisecond: a read already out, timed only to the
            # second, may show PagerDuty from before it; one that disagrees is asked again (see `apply_status`).
            state.status_read_mark = state.reads_issued
    return False
