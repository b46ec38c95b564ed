"""The reducer's handlers for Slack actions and their results (part of `workflows/state.py`'s machine).

A click becomes a command; identity and authorization facts either refuse it or send it to PagerDuty;
the write's outcome and PagerDuty's echo settle it. Every rule in `workflows/state.py` applies here.
"""

from __future__ import annotations

from datetime import datetime

from workflows import controls, dedicated, timeline
from workflows.changes import find_command, merge_snapshot, remember_additive, reply, request_read, settle
from workflows.models import (
    ActionKind,
    ActorResolved,
    Command,
    CommandPhase,
    Effect,
    IncidentState,
    PdEvent,
    Person,
    ResolveActor,
    Shown,
    SlackAction,
    Status,
    TellUser,
    WriteOutcome,
    WriteToPagerDuty,
)
from workflows.policy import EXPECTED_STATUS, REFUSED_PREFIX, refusal, status_update_key
from workflows.slack_text import plain


def on_slack_action(state: IncidentState, action: SlackAction, now: datetime, effects: list[Effect],
                    repeat_told: bool = True, applied_told: bool = True) -> None:
    if action.key in state.seen_action_keys:
        return
    state.seen_action_keys.append(action.key)
    if action.action is ActionKind.CREATE_CHANNEL and dedicated.on_click(state, action, effects, repeat_told):
        return
    if (state.ts is None and action.channel and action.message_ts and action.channel != state.dedicated.channel
            and all(action.channel != d.channel for d in state.dms) and not action.channel.startswith("D")):
        # A click on a message from an earlier run of this incident: keep using that message (never a direct
        # message: a person's DM is not the channel's record, even when this run has forgotten it).
        state.channel, state.ts = action.channel, action.message_ts
    reason = _why_not_now(state, action) or (_done_unshown(state, action) if applied_told else None)
    if reason is not None:
        if action.channel:
            effects.append(TellUser(channel=action.channel, slack_user=action.slack_user, text=reason,
                                    action=action.action, outcome="not_needed", response_url=action.response_url))
        return
    command = Command(
        id=f"c{state.next_command_no}",
        action=action.action,
        slack_user=action.slack_user,
        channel=action.channel,
        issued_at=now,
        target_slack_user=action.target_slack_user,
        note=controls.note_for(state, action),
        choice=action.choice,
        choice_label=action.choice_label,
        response_url=action.response_url,
    )
    state.next_command_no += 1
    state.commands.append(command)
    effects.append(
        ResolveActor(command_id=command.id, slack_user=action.slack_user, target_slack_user=action.target_slack_user)
    )
    if not state.known:
        request_read(state, f"{action.action} clicked on an incident the bridge has not seen yet", effects)


def _why_not_now(state: IncidentState, action: SlackAction) -> str | None:
    status = state.status
    who = f"<@{action.slack_user}>"
    if action.action is ActionKind.ACKNOWLEDGE and status is Status.ACKNOWLEDGED:
        return f"{who}, this incident is already acknowledged in PagerDuty; nothing was sent."
    if action.action not in controls.TYPED_ACTIONS and status is Status.RESOLVED:
        return f"{who}, this incident is already resolved in PagerDuty; reopen it there first. Nothing was sent."
    if action.action is ActionKind.REASSIGN and not action.target_slack_user:
        return f"{who}, choose the person to reassign to."
    if action.action is ActionKind.NOTE and not (action.note or "").strip():
        return f"{who}, the note was empty; nothing was sent."
    if action.action is ActionKind.STATUS_UPDATE and not (action.note or "").strip():
        return f"{who}, the status update was empty; nothing was sent."
    reason = controls.why_not(state, action)
    if reason is not None:
        return reason
    for command in state.pending_commands():
        if action.action is ActionKind.CREATE_CHANNEL and command.slack_user != action.slack_user:
            continue  # someone else's click: this one waits for the same channel, and is answered with it
        if command.action is action.action and action.action not in controls.TYPED_ACTIONS:
            return (
                f"{who}, {timeline.VERB_DOING[command.action]} for <@{command.slack_user}> is already under way; "
                "the message shows its outcome."
            )
    return None


def _done_unshown(state: IncidentState, action: SlackAction) -> str | None:
    """A click repeating a status change PagerDuty accepted from Slack, before the message shows it (no read has
    shown PagerDuty since; its webhook, if it came, tied with another change): answered at once. Sent again, it
    would be taken for the same change twice."""
    for command in state.commands:
        if (command.action is action.action and action.action in EXPECTED_STATUS
                and command.phase is CommandPhase.APPLIED and not command.confirmed
                and state.status is not EXPECTED_STATUS[action.action]
                and command.shown_when_applied == _shown(state)):
            # (Once the message shows something newer, say a reassign that triggered it again, the click goes to
            # PagerDuty: it weighs it. Arrival, not PagerDuty's clock, tells newer here.)
            return (f"<@{action.slack_user}>, <@{command.slack_user}> {timeline.VERB_DONE[action.action]} this "
                    "incident from Slack a moment ago; the message shows it soon. Nothing was sent.")
    return None


def _shown(state: IncidentState) -> Shown:
    return Shown(status_at=state.status_changed_at, details_at=state.details_at)


def on_actor_resolved(state: IncidentState, facts: ActorResolved, now: datetime, effects: list[Effect]) -> None:
    command = find_command(state, facts.command_id)
    if command is None or command.actor is not None or command.phase not in {CommandPhase.RESOLVING,
                                                                                CommandPhase.RETRYING}:
        return
    problem = facts.error or (refusal(facts, command.slack_user) if facts.actor else "identity lookup failed")
    if problem is None and command.action in controls.TARGETED_ACTIONS and facts.target is None:
        problem = controls.no_target(command)
    if problem is not None or facts.actor is None:
        settle(command, CommandPhase.REFUSED, now, problem or "refused")
        if command.channel:
            outcome = "refused_identity" if facts.error or facts.actor is None else "refused_authorization"
            effects.append(TellUser(channel=command.channel, slack_user=command.slack_user, text=command.detail,
                                    action=command.action, outcome=outcome, response_url=command.response_url))
        return
    assignees = [a.id for a in state.incident.assignees] if state.incident else []
    if command.action is ActionKind.REASSIGN and facts.target is not None and assignees == [facts.target.pd_id]:
        settle(command, CommandPhase.REFUSED, now, "already assigned")
        if command.channel:
            effects.append(TellUser(channel=command.channel, slack_user=command.slack_user,
                                    text=f"<@{command.slack_user}>, the incident is already assigned to that person "
                                         "in PagerDuty; nothing was sent.", action=command.action,
                                    outcome="not_needed", response_url=command.response_url))
        return
    command.actor, command.target, command.phase = facts.actor, facts.target, CommandPhase.SENDING
    if command.action is ActionKind.CREATE_CHANNEL:
        dedicated.start(state, command, now, effects)
        return
    effects.append(_write(state, command, facts.actor))


def _write(state: IncidentState, command: Command, actor: Person, may_have_landed: bool = False) -> WriteToPagerDuty:
    known_notes = {c.note_id for c in state.commands if c.note_id and c.id != command.id}
    known_notes |= {seen.key for seen in state.shown_additive}
    return WriteToPagerDuty(
        command_id=command.id,
        action=command.action,
        actor_email=actor.email,
        actor_pd_id=actor.pd_id,
        target_pd_id=command.target.pd_id if command.target else None,
        note=command.note,
        choice=command.choice,
        assignee_ids=[a.id for a in state.incident.assignees] if state.incident else [],
        issued_at=command.issued_at,
        escalation_level=command.escalation_level,
        may_have_landed=may_have_landed,
        known_note_ids=sorted(n for n in known_notes if n != command.note_id),
    )


def on_resumed(state: IncidentState, effects: list[Effect]) -> None:
    """A new run took over: ask again for what the old run had in flight (writes may have landed)."""
    dedicated.resumed(state)
    if state.read_in_flight:
        state.read_in_flight = False
        request_read(state, state.read_again or "read again after the workflow continued as new", effects)
        state.read_again = None
    for command in state.commands:
        if command.phase not in {CommandPhase.RESOLVING, CommandPhase.SENDING, CommandPhase.RETRYING}:
            continue
        if command.action is ActionKind.CREATE_CHANNEL and command.actor is not None:
            continue  # the channel's creation is never abandoned by a new run (workflows/incident.py)
        if command.actor is None:
            effects.append(ResolveActor(command_id=command.id, slack_user=command.slack_user,
                                        target_slack_user=command.target_slack_user))
        else:
            effects.append(_write(state, command, command.actor, may_have_landed=True))


def _found_done(state: IncidentState, command: Command, outcome: WriteOutcome, now: datetime) -> None:
    """It was done before this click (PagerDuty may not say by whom): credit them, not the click."""
    settle(command, CommandPhase.APPLIED, now, outcome.detail)
    command.confirmed = command.found_done = True
    command.already_by = outcome.already_by
    if outcome.already_by is not None:
        command.echo_seen = True  # their webhook is theirs; this click will have no echo
        if command.action in EXPECTED_STATUS:
            state.acted_by = outcome.already_by
    reply(state, timeline.found_done(command, outcome.already_by))


def _take_ids(state: IncidentState, command: Command, outcome: WriteOutcome, now: datetime) -> None:
    """The note or status update PagerDuty made for this command: its webhook is then this command's echo."""
    if outcome.note_id:
        command.note_id = outcome.note_id
        remember_additive(state, outcome.note_id, now)
    if outcome.status_update_id:
        command.status_update_id = outcome.status_update_id
        remember_additive(state, status_update_key(outcome.status_update_id), now)


def on_write_outcome(state: IncidentState, outcome: WriteOutcome, now: datetime, effects: list[Effect],
                     floor_held: bool = True, priority_doubt: bool = True) -> None:
    """`floor_held` and `priority_doubt`: see `workflows/rules.py`."""
    command = find_command(state, outcome.command_id)
    if command is None:
        return
    if outcome.snapshot is not None:
        merge_snapshot(state, outcome.snapshot, outcome.status_changed_at, now, effects)
    if outcome.note_id and command.actor is not None and any(
            c.note_id == outcome.note_id for c in state.commands if c.id != command.id):
        # A retry took another click's note for its own (the same text, both asked again after a new run):
        # this click's note is not written yet. Write it, never taking that note again.
        effects.append(_write(state, command, command.actor, may_have_landed=True))
        return
    _take_ids(state, command, outcome, now)
    if outcome.result == "retrying":
        if command.phase in {CommandPhase.RESOLVING, CommandPhase.SENDING, CommandPhase.RETRYING}:
            command.phase, command.detail = CommandPhase.RETRYING, outcome.detail
        return
    if command.phase is CommandPhase.APPLIED:
        return
    held, command.held_echo = command.held_echo, None
    # Older than the events forgotten in a storm: a redelivery of one the thread told then, not told again.
    untold = (floor_held and held is not None and state.event_floor is not None
              and held.occurred_at <= state.event_floor)
    if outcome.result == "already":
        # PagerDuty had it done already, not by this click (the activity answers "applied" when an earlier
        # attempt of this click had landed): credit whoever PagerDuty names, and show their webhook as theirs.
        _found_done(state, command, outcome, now)
        line = timeline.external_change(held, held.incident or state.incident) if held and not untold else None
        if line is not None:
            reply(state, line)
        return
    if outcome.result == "applied":
        if outcome.detail:
            command.detail = outcome.detail
        settle(command, CommandPhase.APPLIED, now)
        if command.action in EXPECTED_STATUS and state.status is not EXPECTED_STATUS[command.action]:
            command.shown_when_applied = _shown(state)
        controls.on_applied(state, command, now)
        reply(state, timeline.command_done(command, state.incident))
        return
    _not_done(state, command, outcome, held, now, effects, untold, priority_doubt)


def _not_done(state: IncidentState, command: Command, outcome: WriteOutcome, held: PdEvent | None, now: datetime,
              effects: list[Effect], untold: bool = False, priority_doubt: bool = False) -> None:
    own_priority = priority_doubt and outcome.judged_from_now and _own_priority(command, held)
    refused = outcome.detail.startswith(REFUSED_PREFIX) and not own_priority
    if held is not None and not refused and not outcome.nothing_done:
        # The write gave up, but its echo had come: it landed (or, for a change PagerDuty does not log, the clicker
        # made it in PagerDuty meanwhile: the line says it cannot tell).
        settle(command, CommandPhase.APPLIED, now)
        reply(state, timeline.command_done(command, state.incident, in_doubt=True))
        if own_priority:
            # The incident shows another priority now: the message follows PagerDuty, not the held webhook.
            request_read(state, "a resent priority was refused while the incident shows another", effects,
                         after=True)
        return
    if held is not None and not untold:
        line = timeline.external_change(held, held.incident or state.incident)
        if line is not None:
            reply(state, line)
    if command.phase is not CommandPhase.FAILED:
        _failed(state, command, outcome, now, effects)


def _own_priority(command: Command, held: PdEvent | None) -> bool:
    """The clicker's own webhook setting the click's priority, while a resend of it was refused and judged not
    landed only because the incident shows another priority now: someone may have changed it since, and
    PagerDuty keeps no record of which way a priority was set. In doubt, not failed."""
    return (command.action is ActionKind.PRIORITY and held is not None and held.agent is not None
            and command.actor is not None and held.agent.id == command.actor.pd_id
            and held.incident is not None and held.incident.priority_id == command.choice)


def _failed(state: IncidentState, command: Command, outcome: WriteOutcome, now: datetime,
            effects: list[Effect]) -> None:
    settle(command, CommandPhase.FAILED, now, outcome.detail)
    command.nothing_done = outcome.nothing_done
    status = state.status.value if state.status else "unknown"
    line = timeline.command_failed(command, status)
    reply(state, line)
    if command.channel:
        effects.append(TellUser(channel=command.channel, slack_user=command.slack_user, text=plain(line),
                                action=command.action, outcome="failed", response_url=command.response_url))
    request_read(state, f"{command.action} failed", effects, after=True)
