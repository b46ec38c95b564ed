"""Pure decisions about people: who may act on an incident, and which webhook confirms which command."""

from __future__ import annotations

from datetime import timedelta

from workflows.models import ActionKind, ActorResolved, Command, CommandPhase, PdEvent, SlackAction, Status
from workflows.slack_text import escape

# PagerDuty's clock and the worker's are not the same clock; an echo may carry a time slightly before
# the moment the workflow recorded the command.
ECHO_CLOCK_SKEW = timedelta(seconds=30)

ECHO_EVENT_TYPES = {
    ActionKind.ACKNOWLEDGE: "incident.acknowledged",
    ActionKind.RESOLVE: "incident.resolved",
    ActionKind.ESCALATE: "incident.escalated",
    ActionKind.REASSIGN: "incident.reassigned",
    ActionKind.NOTE: "incident.annotated",
    ActionKind.STATUS_UPDATE: "incident.status_update_published",
    ActionKind.PRIORITY: "incident.priority_updated",
    ActionKind.ADD_RESPONDER: "incident.responder.added",
    # A snooze has no webhook of its own (none is listed among PagerDuty's v3 event types): it is confirmed
    # by the write's answer, and its end (back to triggered) is explained when the unacknowledge comes.
}

# Snooze lengths offered on the message: seconds (the control's value) -> how the thread says it.
SNOOZE_CHOICES = {"3600": "1 h", "14400": "4 h", "86400": "24 h"}

# How a write PagerDuty refused (a 4xx no retry changes) is reported; such a write never landed.
REFUSED_PREFIX = "PagerDuty refused"
# Said of a refusal that came to a retry while an earlier attempt may have gone through: not proof it did not.
NOTHING_DONE = "GaveUpNothingDone"  # a write whose every try PagerDuty answered it did nothing (503, 429)
MAYBE_LANDED = "(refused on a retry; an earlier attempt may have gone through)"

# The status a command leaves the incident in, for commands that change it.
EXPECTED_STATUS = {ActionKind.ACKNOWLEDGE: Status.ACKNOWLEDGED, ActionKind.RESOLVE: Status.RESOLVED}


def refusal(facts: ActorResolved, slack_user: str) -> str | None:
    """Why this person may not act on this incident, or None when they may: said to them, in their words
    (team names, who can help by name); the config keys behind it belong in the logs and the doctor."""
    if facts.is_admin:
        return None
    if not facts.incident_team_ids:
        if facts.allow_without_team:
            return None
        return (f"<@{slack_user}>, this incident belongs to no PagerDuty team, and only the bridge's admins may "
                f"act on such incidents. Nothing was sent to PagerDuty. {who_can_help(facts)}")
    if set(facts.actor_team_ids) & set(facts.incident_team_ids):
        return None
    names = [escape(name) for name in facts.incident_team_names]
    owners = (f"the {_and(names)} team{'s' if len(names) > 1 else ''}" if names
              else "the PagerDuty teams that own it")
    return (f"<@{slack_user}>, only people on {owners} can act on this incident, and you are not on "
            f"{'any of them' if len(names) > 1 or not names else 'it'} in PagerDuty. Nothing was sent to PagerDuty. "
            f"{who_can_help(facts)}")


def who_can_help(facts: ActorResolved) -> str:
    helpers = [f"<@{u}>" for u in dict.fromkeys(facts.helper_slack_users)]
    admins = [f"<@{u}>" for u in dict.fromkeys(facts.admin_slack_users) if u not in facts.helper_slack_users]
    if helpers and admins:
        return f"Ask {_or(helpers)} (assigned to it) or an admin, {_or(admins)}."
    if helpers:
        return f"Ask {_or(helpers)}, who {'is' if len(helpers) == 1 else 'are'} assigned to it."
    if admins:
        return f"Ask an admin of the bridge: {_or(admins)}."
    return "Ask someone on the team that owns it."


def _and(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def _or(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " or " + items[-1]


def confirms(command: Command, event: PdEvent) -> bool:
    """Whether `event` is PagerDuty's echo of this command rather than a change made by someone else.

    However late it comes: after the confirmation deadline, a read, or an "already" answer, the echo is
    still this command's. A command reported failed whose echo comes did land after all.
    """
    if command.echo_seen or command.actor is None or event.agent is None:
        return False
    if command.phase is CommandPhase.REFUSED or command.already_by is not None:
        return False
    if command.phase is CommandPhase.FAILED and (command.detail.startswith(REFUSED_PREFIX) or command.nothing_done):
        return False  # PagerDuty refused the write, or said each time it did nothing: it cannot have landed
    if event.agent.id != command.actor.pd_id or event.event_type != ECHO_EVENT_TYPES.get(command.action):
        return False
    if event.occurred_at < command.issued_at - ECHO_CLOCK_SKEW:
        return False
    return _same_change(command, event)


def _same_change(command: Command, event: PdEvent) -> bool:
    """Whether the webhook shows what this command asked for (who it named, its priority, its text)."""
    if command.action is ActionKind.ESCALATE and command.expected_assignee_ids:
        named = {a.id for a in event.incident.assignees} if event.incident else set()
        return bool(named & set(command.expected_assignee_ids))
    if command.action is ActionKind.REASSIGN:
        target = command.target.pd_id if command.target else None
        return event.incident is not None and any(a.id == target for a in event.incident.assignees)
    if command.action is ActionKind.PRIORITY:
        return event.incident is not None and event.incident.priority_id == command.choice
    if command.action is ActionKind.ADD_RESPONDER:
        target = command.target.pd_id if command.target else None
        return event.responder is not None and event.responder.id == target
    if command.action is ActionKind.NOTE:
        if command.note_id and event.note_id:
            return command.note_id == event.note_id
        return (event.note_content or "").strip() == (command.note or "").strip()
    if command.action is ActionKind.STATUS_UPDATE:
        return same_status_update(command, event)
    return True


STATUS_UPDATE_EVENT = "incident.status_update_published"


def about_status_updates(event: object) -> bool:
    """A status update's click or webhook (the workflow asks its patch when a run first meets one)."""
    return ((isinstance(event, PdEvent) and event.event_type == STATUS_UPDATE_EVENT)
            or (isinstance(event, SlackAction) and event.action is ActionKind.STATUS_UPDATE))


def status_update_key(status_update_id: str) -> str:
    """How a status update is remembered among the additive changes shown (apart from note ids)."""
    return f"status_update:{status_update_id}"


def same_status_update(command: Command, event: PdEvent) -> bool:
    """By the id PagerDuty gave it when the write's answer came first, else by its text (a trimmed webhook
    carries only the beginning)."""
    if command.status_update_id and event.status_update_id:
        return command.status_update_id == event.status_update_id
    sent, shown = (command.note or "").strip(), (event.status_update_message or "").strip()
    return sent.startswith(shown) if event.status_update_trimmed and shown else sent == shown

# Which status each status-carrying webhook sets. Other incident events never change status by
# themselves; if their snapshot disagrees with a newer status, that is a jump to re-read.
EVENT_STATUS: dict[str, Status] = {
    "incident.triggered": Status.TRIGGERED,
    "incident.acknowledged": Status.ACKNOWLEDGED,
    "incident.unacknowledged": Status.TRIGGERED,
    "incident.resolved": Status.RESOLVED,
    "incident.reopened": Status.TRIGGERED,
}
