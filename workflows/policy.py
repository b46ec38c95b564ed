"""Pure decisions about people: who may act on an incident, and which webhook confirms which command."""

from __future__ import annotations

from datetime import timedelta

from workflows.models import ActionKind, ActorResolved, Command, CommandPhase, PdEvent, Status

# PagerDuty's clock and the worker's are not the same clock; an echo may carry a time slightly before
# the moment the workflow recorded the command.
ECHO_CLOCK_SKEW = timedelta(seconds=30)

ECHO_EVENT_TYPES = {
    ActionKind.ACKNOWLEDGE: "incident.acknowledged",
    ActionKind.RESOLVE: "incident.resolved",
    ActionKind.ESCALATE: "incident.escalated",
    ActionKind.REASSIGN: "incident.reassigned",
    ActionKind.NOTE: "incident.annotated",
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
MAYBE_LANDED = "(refused on a retry; an earlier attempt may have gone through)"

# The status a command leaves the incident in, for commands that change it.
EXPECTED_STATUS = {ActionKind.ACKNOWLEDGE: Status.ACKNOWLEDGED, ActionKind.RESOLVE: Status.RESOLVED}


def refusal(facts: ActorResolved, slack_user: str) -> str | None:
    """Why this person may not act on this incident, or None when they may."""
    if facts.is_admin:
        return None
    if not facts.incident_team_ids:
        if facts.allow_without_team:
            return None
        return (
            f"<@{slack_user}>, this incident belongs to no PagerDuty team and the bridge only lets admins act "
            "on such incidents (authorization.allow_incidents_without_team = false)."
        )
    if set(facts.actor_team_ids) & set(facts.incident_team_ids):
        return None
    return (
        f"<@{slack_user}>, you are not on a PagerDuty team that owns this incident "
        f"(owning teams: {', '.join(sorted(facts.incident_team_ids))}). Nothing was sent to PagerDuty; "
        "ask someone on those teams, or an admin listed in authorization.admin_slack_users."
    )


def confirms(command: Command, event: PdEvent) -> bool:
    """Whether `event` is PagerDuty's echo of this command rather than a change made by someone else.

    However late it comes: after the confirmation deadline, a read, or an "already" answer, the echo is
    still this command's. A command reported failed whose echo comes did land after all.
    """
    if command.echo_seen or command.actor is None or event.agent is None:
        return False
    if command.phase is CommandPhase.REFUSED or command.already_by is not None:
        return False
    if command.phase is CommandPhase.FAILED and command.detail.startswith(REFUSED_PREFIX):
        return False  # PagerDuty refused the write: it cannot have landed
    if event.agent.id != command.actor.pd_id or event.event_type != ECHO_EVENT_TYPES.get(command.action):
        return False
    if event.occurred_at < command.issued_at - ECHO_CLOCK_SKEW:
        return False
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
    return True

# Which status each status-carrying webhook sets. Other incident events never change status by
# themselves; if their snapshot disagrees with a newer status, that is a jump to re-read.
EVENT_STATUS: dict[str, Status] = {
    "incident.triggered": Status.TRIGGERED,
    "incident.acknowledged": Status.ACKNOWLEDGED,
    "incident.unacknowledged": Status.TRIGGERED,
    "incident.resolved": Status.RESOLVED,
    "incident.reopened": Status.TRIGGERED,
}
