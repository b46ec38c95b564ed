"""The reducer's rules for the message's further controls: snooze, priority, add responder.

Part of `workflows/state.py`'s machine (with `workflows/commands.py`): they go through the same pending
command, identity, authorization and echo as the five first controls; what differs lives here. A snooze
has no webhook of its own, so the write's answer confirms it, and when PagerDuty triggers the incident
again at its end, the thread says that was the snooze ending rather than an unexplained change.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from workflows import timeline
from workflows.models import ActionKind, Command, IncidentState, PdEvent, SlackAction, Status, TellUser
from workflows.policy import SNOOZE_CHOICES
from workflows.slack_text import Line

# Changes that add to the incident: a look-alike webhook is never held for the write's answer.
ADDITIVE_ACTIONS = {ActionKind.NOTE, ActionKind.ADD_RESPONDER, ActionKind.STATUS_UPDATE}
# Actions whose text the person typed in a modal: each click is a change of its own, never "already under way".
TYPED_ACTIONS = {ActionKind.NOTE, ActionKind.STATUS_UPDATE}
# Actions that name a second person (the Slack user chosen in a users_select).
TARGETED_ACTIONS = {ActionKind.REASSIGN, ActionKind.ADD_RESPONDER}
# How late after the snooze's planned end an agentless unacknowledge is still taken for its end. Earlier
# is always its end: a snooze suspends the acknowledgement timeout, so nothing else unacknowledges then.
SNOOZE_END_LATE = timedelta(minutes=15)


def why_not(state: IncidentState, action: SlackAction) -> str | None:
    """Why one of these controls cannot be used now (nothing is sent), or None."""
    who = f"<@{action.slack_user}>"
    if action.action is ActionKind.SNOOZE:
        if state.status is not Status.ACKNOWLEDGED:
            return f"{who}, only an acknowledged incident can be snoozed; acknowledge it first. Nothing was sent."
        if action.choice not in SNOOZE_CHOICES:
            return f"{who}, choose how long to snooze: {', '.join(SNOOZE_CHOICES.values())}."
    if action.action is ActionKind.PRIORITY:
        if not action.choice:
            return f"{who}, choose a priority."
        if state.incident is not None and state.incident.priority_id == action.choice:
            return f"{who}, the incident already has that priority in PagerDuty; nothing was sent."
    if action.action is ActionKind.ADD_RESPONDER and not action.target_slack_user:
        return f"{who}, choose the person to ask for help."
    return None


def note_for(state: IncidentState, action: SlackAction) -> str | None:
    """The text a command carries: the typed note, or the responder request's message."""
    if action.action is not ActionKind.ADD_RESPONDER:
        return action.note
    if action.note and action.note.strip():
        return action.note
    number = state.incident.number if state.incident else None
    return f"Please help with #{number}" if number is not None else "Please help with this incident"


def status_updates_off(action: SlackAction) -> list[TellUser]:
    """An Update status click on an incident whose run showed status updates before it could (see reduce)."""
    text = (f"<@{action.slack_user}>, status updates cannot be posted from Slack for this incident; post it in "
            "PagerDuty. Nothing was sent.")
    return [TellUser(channel=action.channel, slack_user=action.slack_user, text=text, action=action.action,
                     outcome="not_needed", response_url=action.response_url)] if action.channel else []


def no_target(command: Command) -> str:
    if command.action is ActionKind.ADD_RESPONDER:
        return "the person to ask for help has no PagerDuty user"
    return "the person to reassign to has no PagerDuty user"


def on_applied(state: IncidentState, command: Command, now: datetime) -> None:
    """PagerDuty accepted the write. A snooze will have no echo: its answer is its confirmation."""
    if command.action is ActionKind.SNOOZE and command.choice in SNOOZE_CHOICES:
        command.confirmed = True
        state.snoozed_by = command.slack_user
        state.snoozed_until = now + timedelta(seconds=int(command.choice))


def outside_line(state: IncidentState, event: PdEvent) -> Line | None:
    """The thread's line for a change the bridge did not make; a snooze's end is told as one."""
    if event.event_type in {"incident.unacknowledged", "incident.resolved", "incident.reopened"}:
        snoozed_by, until = state.snoozed_by, state.snoozed_until
        state.snoozed_by = state.snoozed_until = None
        if (event.event_type == "incident.unacknowledged" and event.agent is None and snoozed_by and until
                and event.occurred_at <= until + SNOOZE_END_LATE):
            return timeline.snooze_ended(snoozed_by)
    return timeline.external_change(event, event.incident or state.incident)
