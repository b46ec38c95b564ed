"""The incident state machine: `reduce(state, event, now) -> (state, effects)`.

Rules of the machine (this module, with its Slack-command handlers in `workflows/commands.py` and the
small shared changes in `workflows/changes.py`; nothing else changes `IncidentState`):
1. It is pure. No I/O, no clock (time arrives as `now` and on events), no randomness, no temporalio.
2. PagerDuty is the source of truth. Status follows the newest `occurred_at`; an older status change is
   stale and only audited. A read from PagerDuty wins over anything older.
3. An event id is applied once. A Slack action key is applied once.
4. A webhook that confirms a pending command settles it and is never shown as an outside change.
5. Something that does not fit (first event is not a trigger, a status jump, an unconfirmed command
   past its deadline) asks for a read from PagerDuty instead of guessing.
6. Nothing here raises on odd input: an event that does not apply returns the state unchanged.
"""

from __future__ import annotations

from datetime import datetime

from workflows import controls, dedicated, direct, timeline
from workflows.changes import (
    apply_status,
    audit,
    find_command,
    remember_additive,
    reply,
    request_read,
    settle,
    take_details,
)
from workflows.channel_models import (
    ChannelArchived,
    ChannelCreated,
    ChannelInvited,
    ConferenceLinkSet,
    SummaryPosted,
)
from workflows.commands import on_actor_resolved, on_resumed, on_slack_action, on_write_outcome
from workflows.dm_models import DirectMessageOpened
from workflows.models import (
    ActionKind,
    ActorResolved,
    Command,
    CommandPhase,
    Effect,
    EscalationPlanned,
    Event,
    IncidentRead,
    IncidentState,
    MessagePosted,
    PdEvent,
    Recalled,
    RenderDone,
    RenderFailed,
    RepliesPosted,
    Resumed,
    SlackAction,
    Status,
    Tick,
    Unexpected,
    WriteOutcome,
)
from workflows.policy import EVENT_STATUS, STATUS_UPDATE_EVENT, confirms, status_update_key
from workflows.reads import next_deadline, on_read, on_recalled, on_tick
from workflows.trimming import trim

__all__ = ["EVENT_STATUS", "next_deadline", "reduce"]

UNANSWERED = {CommandPhase.SENDING, CommandPhase.RETRYING}

MAX_SHOWN_REPLIES = 19  # with the heading, the timeline so far goes out as one reply
# A webhook whose snapshot says "triggered" after these is explained: PagerDuty re-triggers on them.
RETRIGGERING_EVENTS = {"incident.escalated", "incident.reassigned", "incident.delegated"}
# Changes that add to the incident rather than replace something: each is shown once, in any order.
ADDITIVE_EVENTS = {"incident.annotated", "incident.responder.added", "incident.responder.replied",
                   STATUS_UPDATE_EVENT}


Result = tuple[IncidentState, list[Effect]]
def reduce(state: IncidentState, event: Event, now: datetime, *, name_synced: bool = True,
           direct_messages: bool = False, status_updates: bool = True, careful_reads: bool = True,
           repeat_told: bool = True) -> Result:
    """The next state and the effects to run. `name_synced` is False only for runs started before a
    webhook could name who made a change first learnt from a read (see `_apply_pd_change`);
    `direct_messages` is True for runs that send assignees direct messages (workflows/direct.py);
    `status_updates` is False only for runs that met a status update webhook before the bridge showed them
    (see `workflows/incident.py`): for those the webhook stays unshown, and the Update status control says why;
    `careful_reads` is False only for runs started before a read sent before newer details was read again;
    `repeat_told` is False only for runs started before a repeated Create channel click was answered at once."""
    new = _fresh(state)
    effects: list[Effect] = []
    match event:
        case PdEvent():
            _on_pd_event(new, event, now, effects, name_synced, status_updates)
        case SlackAction():
            _on_slack(new, event, now, effects, status_updates, repeat_told)
        case ActorResolved():
            on_actor_resolved(new, event, now, effects)
        case WriteOutcome():
            on_write_outcome(new, event, now, effects)
        case EscalationPlanned():
            _on_planned(new, event)
        case IncidentRead():
            on_read(new, event, now, effects, careful=careful_reads)
        case MessagePosted() | RenderDone() | RenderFailed() | RepliesPosted() | DirectMessageOpened():
            _on_slack_result(new, event, now)
        case Resumed() | Recalled():
            _on_new_run(new, event, now, effects)
        case Unexpected():
            audit(new, now, "workflow", f"unexpected error, re-reading: {event.detail}"[:500])
            request_read(new, "the bridge hit an unexpected error", effects)
        case Tick():
            on_tick(new, now, effects)
        case ChannelCreated() | ChannelInvited() | SummaryPosted() | ChannelArchived() | ConferenceLinkSet():
            dedicated.on_event(new, event, now, effects)
    dedicated.after(new, event, now, effects)
    direct.after(new, effects, enabled=direct_messages)
    trim(new, now)
    return new, effects


def _on_slack(state: IncidentState, action: SlackAction, now: datetime, effects: list[Effect],
              status_updates: bool, repeat_told: bool) -> None:
    if action.action is ActionKind.STATUS_UPDATE and not status_updates:
        effects += controls.status_updates_off(action)
    else:
        on_slack_action(state, action, now, effects, repeat_told=repeat_told)


def _on_new_run(state: IncidentState, event: Resumed | Recalled, now: datetime, effects: list[Effect]) -> None:
    if isinstance(event, Recalled):
        on_recalled(state, now, effects)
    else:
        on_resumed(state, effects)
        direct.resumed(state, effects)


def _on_planned(state: IncidentState, event: EscalationPlanned) -> None:
    planned = find_command(state, event.command_id)
    if planned is not None:
        planned.escalation_level = event.level
        planned.expected_assignee_ids = list(event.user_ids)


def _on_slack_result(state: IncidentState, event: MessagePosted | RenderDone | RenderFailed | RepliesPosted
                     | DirectMessageOpened, now: datetime) -> None:
    match event:
        case DirectMessageOpened():
            direct.on_opened(state, event, now)
        case MessagePosted() | RenderFailed() if event.dm is not None:
            direct.on_slack_result(state, event, now)
        case MessagePosted() if event.dedicated:
            if state.dedicated.channel == event.channel:
                state.dedicated.ts, state.render_error = event.ts, None
        case MessagePosted():
            state.channel, state.ts, state.render_error = event.channel, event.ts, None
        case RenderDone():
            state.render_error = None
        case RenderFailed():
            state.render_error = event.detail
            if event.message_gone and event.dedicated:
                state.dedicated.ts = None
            elif event.message_gone:
                state.ts = None
        case RepliesPosted():
            posted = set(event.seqs) or {r.seq for r in state.replies if r.seq <= event.upto_seq}
            if not state.dedicated.active:
                kept = [r for r in state.replies if r.seq in posted and not r.to_service]
                state.shown_replies = [*state.shown_replies, *kept][-MAX_SHOWN_REPLIES:]
            state.replies = [r for r in state.replies if r.seq not in posted]
            state.replies_posted_seq = max(state.replies_posted_seq, event.upto_seq)


# ---- helpers -----------------------------------------------------------------------------------------


def _fresh(state: IncidentState) -> IncidentState:
    """A copy the handlers may change without touching `state`: every container they mutate is new.

    Cheaper than a deep copy; the handlers only ever append to these lists, change commands in place,
    change the incident's status, and replace everything else.
    """
    return state.model_copy(update={
        "seen_event_ids": list(state.seen_event_ids),
        "seen_event_at": list(state.seen_event_at),
        "seen_action_keys": list(state.seen_action_keys),
        "commands": [c.model_copy() for c in state.commands],
        "replies": list(state.replies),
        "audit": list(state.audit),
        "shown_additive": list(state.shown_additive),
        "incident": state.incident.model_copy() if state.incident else None,
        "dedicated": state.dedicated.model_copy(update={
            "people": list(state.dedicated.people), "invited_pd": list(state.dedicated.invited_pd),
            "invited": list(state.dedicated.invited), "askers": list(state.dedicated.askers)}),
        "dms": [d.model_copy() for d in state.dms],
    })


# ---- PagerDuty webhooks --------------------------------------------------------------------------------


def _on_pd_event(state: IncidentState, event: PdEvent, now: datetime, effects: list[Effect],
                 name_synced: bool = True, status_updates: bool = True) -> None:
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
    fresh = _apply_pd_change(state, event, now, effects, name_synced)
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
                     name_synced: bool = True) -> bool:
    """Apply what the webhook says; False when it is out of date (or a repeat of what is shown)."""
    snap = event.incident
    target = EVENT_STATUS.get(event.event_type)
    if target is not None:
        status = snap.status if snap and event.event_type == "incident.reopened" else target
        last = state.status_changed_at
        if snap is not None:
            take_details(state, snap, event.occurred_at, now, effects)
            state.known = state.incident is not None
        if last is not None and event.occurred_at < last:
            return False
        if event.occurred_at == last:
            if status is not state.status:
                # Two different changes in the same millisecond: which came last is PagerDuty's to say. The
                # webhook waits for the answer, so the thread can still say who made the change.
                state.tied = event
                request_read(state, f"{event.event_type} has the same timestamp as the last status change",
                             effects, after=True)
            elif name_synced and state.status_unnamed:
                # A read showed this change first, timed only to the second (so to the last change's time):
                # the webhook tells who made it.
                state.status_unnamed = False
                return True
            return False
        apply_status(state, status, event.occurred_at, now, effects)
        if event.event_type == "incident.triggered":
            state.last_read_at = state.last_read_at or now
        return True
    if snap is None:
        return True
    current = state.incident.status if state.incident else None
    taken = take_details(state, snap, event.occurred_at, now, effects)
    state.known = state.known or state.incident is not None
    newer = state.status_changed_at is None or event.occurred_at >= state.status_changed_at
    if current is not None and newer and snap.status is not current:
        # In the very millisecond of the last status change nobody can tell which came last: PagerDuty says.
        tied = event.occurred_at == state.status_changed_at
        if event.event_type in RETRIGGERING_EVENTS and snap.status is Status.TRIGGERED and not tied:
            apply_status(state, Status.TRIGGERED, event.occurred_at, now, effects)
        else:
            request_read(state, f"{event.event_type} shows status {snap.status} but the bridge saw {current}",
                         effects, after=True)
    # The thread still tells what happened (in the event's own words); only the message keeps the newest.
    return taken != "repeat"
