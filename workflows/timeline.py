"""Wording of the thread timeline. People from PagerDuty appear as `{p0}`, `{p1}` placeholders that the
Slack activity turns into mentions (or names, when a person has no Slack account)."""

from __future__ import annotations

from workflows.models import ActionKind, Command, PdEvent, Ref, Snapshot

VERB_DONE = {
    ActionKind.ACKNOWLEDGE: "acknowledged",
    ActionKind.RESOLVE: "resolved",
    ActionKind.ESCALATE: "escalated",
    ActionKind.REASSIGN: "reassigned",
    ActionKind.NOTE: "added a note",
}
VERB_DOING = {
    ActionKind.ACKNOWLEDGE: "acknowledging",
    ActionKind.RESOLVE: "resolving",
    ActionKind.ESCALATE: "escalating",
    ActionKind.REASSIGN: "reassigning",
    ActionKind.NOTE: "adding a note",
}


def _who(agent: Ref | None, people: list[Ref]) -> str:
    if agent is None:
        return "PagerDuty (automation)"
    people.append(agent)
    return f"{{p{len(people) - 1}}}"


def _names(refs: list[Ref], people: list[Ref]) -> str:
    if not refs:
        return "nobody"
    parts = []
    for ref in refs:
        people.append(ref)
        parts.append(f"{{p{len(people) - 1}}}")
    return ", ".join(parts)


def _status_line(kind: str, event: PdEvent, people: list[Ref]) -> str | None:
    if kind == "incident.acknowledged":
        return f":eyes: Acknowledged by {_who(event.agent, people)} in PagerDuty"
    if kind == "incident.unacknowledged":
        return ":arrows_counterclockwise: Unacknowledged in PagerDuty (the acknowledgement timed out)"
    if kind == "incident.resolved":
        return f":white_check_mark: Resolved by {_who(event.agent, people)} in PagerDuty"
    if kind == "incident.reopened":
        return f":rotating_light: Reopened by {_who(event.agent, people)} in PagerDuty"
    return None


def _assignment_line(kind: str, event: PdEvent, incident: Snapshot | None, people: list[Ref]) -> str | None:
    assignees = incident.assignees if incident else []
    if kind == "incident.escalated":
        who = f"by {_who(event.agent, people)}" if event.agent else "automatically"
        return f":arrow_double_up: Escalated {who} in PagerDuty, now assigned to {_names(assignees, people)}"
    if kind == "incident.reassigned":
        who = _who(event.agent, people)
        return f":busts_in_silhouette: Reassigned by {who} in PagerDuty to {_names(assignees, people)}"
    if kind == "incident.delegated":
        policy = incident.escalation_policy.summary if incident and incident.escalation_policy else "?"
        return f":twisted_rightwards_arrows: Delegated by {_who(event.agent, people)} in PagerDuty to {policy}"
    if kind == "incident.priority_updated":
        priority = incident.priority if incident and incident.priority else "none"
        return f":label: Priority changed to {priority} by {_who(event.agent, people)} in PagerDuty"
    return None


def _additive_line(kind: str, event: PdEvent, people: list[Ref]) -> str | None:
    if kind == "incident.annotated":
        return f":memo: Note by {_who(event.agent, people)} in PagerDuty: {event.note_content or ''}"
    responder = [event.responder] if event.responder else []
    if kind == "incident.responder.added":
        who = _who(event.agent, people)
        text = f":sos: {who} asked {_names(responder, people)} to respond in PagerDuty"
        return text + (f": {event.responder_message}" if event.responder_message else "")
    if kind == "incident.responder.replied":
        return f":speech_balloon: {_names(responder, people)} replied to the responder request in PagerDuty"
    return None


def external_change(event: PdEvent, incident: Snapshot | None) -> tuple[str, list[Ref]] | None:
    """The timeline line for a change someone made in PagerDuty, or None if it is not worth a reply."""
    people: list[Ref] = []
    kind = event.event_type
    text = (_status_line(kind, event, people) or _assignment_line(kind, event, incident, people)
            or _additive_line(kind, event, people))
    return (text, people) if text else None


def command_done(command: Command, already: bool, incident: Snapshot | None) -> tuple[str, list[Ref]]:
    """The single timeline line for a Slack action PagerDuty accepted (its echo adds nothing)."""
    who = f"<@{command.slack_user}>"
    people: list[Ref] = []
    if command.action is ActionKind.REASSIGN and command.target:
        target = (
            f"<@{command.target_slack_user}>" if command.target_slack_user else command.target.name
        )
        text = f":busts_in_silhouette: Reassigned to {target} by {who} from Slack"
    elif command.action is ActionKind.NOTE:
        text = f":memo: Note by {who} from Slack: {command.note or ''}"
    elif command.action is ActionKind.ESCALATE:
        assignees = _names(incident.assignees if incident else [], people)
        text = f":arrow_double_up: Escalated by {who} from Slack, now assigned to {assignees}"
    else:
        text = f":heavy_check_mark: {VERB_DONE[command.action].capitalize()} by {who} from Slack"
    if already:
        text += " (PagerDuty already showed it)"
    return text, people


def command_failed(command: Command, status: str) -> str:
    return (
        f":warning: {VERB_DOING[command.action].capitalize()} for <@{command.slack_user}> failed: "
        f"{command.detail}. PagerDuty last showed the incident as *{status}*; the bridge is re-reading it and "
        "the message above shows what PagerDuty says."
    )
