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

from workflows import controls, dedicated, direct
from workflows.changes import (
    audit,
    find_command,
    request_read,
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
    Tick,
    Unexpected,
    WriteOutcome,
)
from workflows.policy import EVENT_STATUS
from workflows.reads import next_deadline, on_read, on_recalled, on_tick
from workflows.rules import LATEST, Rules
from workflows.trimming import trim
from workflows.webhooks import on_pd_event

__all__ = ["EVENT_STATUS", "next_deadline", "reduce"]

MAX_SHOWN_REPLIES = 19  # with the heading, the timeline so far goes out as one reply


Result = tuple[IncidentState, list[Effect]]
def reduce(state: IncidentState, event: Event, now: datetime, rules: Rules = LATEST) -> Result:
    """The next state and the effects to run, by the rules this run follows (see `workflows/rules.py`)."""
    new = _fresh(state)
    effects: list[Effect] = []
    match event:
        case PdEvent():
            on_pd_event(new, event, now, effects, rules.name_synced, rules.status_updates, rules.snapshot_ties,
                        rules.tie_joined, rules.agree_marks, rules.read_floor, rules.snapshot_dated)
        case SlackAction():
            _on_slack(new, event, now, effects, rules)
        case ActorResolved():
            on_actor_resolved(new, event, now, effects)
        case WriteOutcome():
            on_write_outcome(new, event, now, effects, rules.floor_held, rules.priority_doubt)
        case EscalationPlanned():
            _on_planned(new, event)
        case IncidentRead():
            on_read(new, event, now, effects, careful=rules.careful_reads)
        case MessagePosted() | RenderDone() | RenderFailed() | RepliesPosted() | DirectMessageOpened():
            _on_slack_result(new, event, now)
        case Resumed() | Recalled():
            _on_new_run(new, event, now, effects)
        case Unexpected():
            audit(new, now, "workflow", f"unexpected error, re-reading: {event.detail}"[:500])
            request_read(new, "the bridge hit an unexpected error", effects)
        case Tick():
            on_tick(new, now, effects, rules.doubt_lingers)
        case ChannelCreated() | ChannelInvited() | SummaryPosted() | ChannelArchived() | ConferenceLinkSet():
            dedicated.on_event(new, event, now, effects)
    dedicated.after(new, event, now, effects)
    direct.after(new, effects, enabled=rules.direct_messages)
    trim(new, now)
    return new, effects


def _on_slack(state: IncidentState, action: SlackAction, now: datetime, effects: list[Effect], rules: Rules) -> None:
    if action.action is ActionKind.STATUS_UPDATE and not rules.status_updates:
        effects += controls.status_updates_off(action)
    else:
        on_slack_action(state, action, now, effects, repeat_told=rules.repeat_told, applied_told=rules.applied_told)


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
