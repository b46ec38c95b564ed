"""Wording of the thread timeline, as `Line`s: the bridge's template with people and typed text kept apart,
so the Slack activity can mention people and show typed text literally (see workflows/slack_text.py)."""

from __future__ import annotations

from workflows.models import ActionKind, Command, PdEvent, Ref, Snapshot
from workflows.policy import SNOOZE_CHOICES
from workflows.slack_text import Line

VERB_DONE = {
    ActionKind.ACKNOWLEDGE: "acknowledged",
    ActionKind.RESOLVE: "resolved",
    ActionKind.ESCALATE: "escalated",
    ActionKind.REASSIGN: "reassigned",
    ActionKind.NOTE: "added a note",
    ActionKind.STATUS_UPDATE: "posted a status update",
    ActionKind.SNOOZE: "snoozed",
    ActionKind.PRIORITY: "reprioritized",
    ActionKind.ADD_RESPONDER: "responder requested",
    ActionKind.CREATE_CHANNEL: "opened its own channel",
}
VERB_DOING = {
    ActionKind.ACKNOWLEDGE: "acknowledging",
    ActionKind.RESOLVE: "resolving",
    ActionKind.ESCALATE: "escalating",
    ActionKind.REASSIGN: "reassigning",
    ActionKind.NOTE: "adding a note",
    ActionKind.STATUS_UPDATE: "posting a status update",
    ActionKind.SNOOZE: "snoozing",
    ActionKind.PRIORITY: "changing the priority",
    ActionKind.ADD_RESPONDER: "requesting a responder",
    ActionKind.CREATE_CHANNEL: "creating the incident's channel",
}


def _who(agent: Ref | None, line: Line) -> str:
    return line.person(agent) if agent is not None else "PagerDuty (automation)"


def _names(refs: list[Ref], line: Line) -> str:
    return ", ".join(line.person(ref) for ref in refs) if refs else "nobody"


def _status_line(kind: str, event: PdEvent, line: Line) -> Line | None:
    if kind == "incident.triggered":
        # `/pd trigger` opens incidents as the person with a `slack-…` key; monitoring's triggers say nothing.
        if event.agent is not None and (event.incident_key or "").startswith("slack-"):
            return line.add(f":rotating_light: Triggered by {line.person(event.agent)} from Slack")
        return None
    if kind == "incident.acknowledged":
        return line.add(f":eyes: Acknowledged by {_who(event.agent, line)} in PagerDuty")
    if kind == "incident.unacknowledged":
        return line.add(":arrows_counterclockwise: Unacknowledged in PagerDuty (the acknowledgement timed out)")
    if kind == "incident.resolved":
        return line.add(f":white_check_mark: Resolved by {_who(event.agent, line)} in PagerDuty")
    if kind == "incident.reopened":
        return line.add(f":rotating_light: Reopened by {_who(event.agent, line)} in PagerDuty")
    return None


def _assignment_line(kind: str, event: PdEvent, incident: Snapshot | None, line: Line) -> Line | None:
    assignees = incident.assignees if incident else []
    if kind == "incident.escalated":
        who = f"by {_who(event.agent, line)}" if event.agent else "automatically"
        return line.add(f":arrow_double_up: Escalated {who} in PagerDuty, now assigned to {_names(assignees, line)}")
    if kind == "incident.reassigned":
        who = _who(event.agent, line)
        return line.add(f":busts_in_silhouette: Reassigned by {who} in PagerDuty to {_names(assignees, line)}")
    if kind == "incident.delegated":
        policy = incident.escalation_policy.summary if incident and incident.escalation_policy else "?"
        who = _who(event.agent, line)
        return line.add(f":twisted_rightwards_arrows: Delegated by {who} in PagerDuty to {line.typed(policy)}")
    if kind == "incident.priority_updated":
        priority = incident.priority if incident and incident.priority else "none"
        who = _who(event.agent, line)
        return line.add(f":label: Priority changed to {line.typed(priority)} by {who} in PagerDuty")
    return None


def _additive_line(kind: str, event: PdEvent, line: Line) -> Line | None:
    if kind == "incident.annotated":
        who = _who(event.agent, line)
        return line.add(f":memo: Note by {who} in PagerDuty: {line.typed(event.note_content or '')}")
    if kind == "incident.status_update_published":
        who = _who(event.agent, line)
        cut = " (shortened by PagerDuty)" if event.status_update_trimmed else ""
        return line.add(f":mega: Status update by {who} in PagerDuty: "
                        f"{line.typed(event.status_update_message or '')}{cut}")
    responder = [event.responder] if event.responder else []
    if kind == "incident.responder.added":
        who = _who(event.agent, line)
        line.add(f":sos: {who} asked {_names(responder, line)} to respond in PagerDuty")
        return line.add(f": {line.typed(event.responder_message)}") if event.responder_message else line
    if kind == "incident.responder.replied":
        return line.add(f":speech_balloon: {_names(responder, line)} replied to the responder request in PagerDuty")
    return None


def external_change(event: PdEvent, incident: Snapshot | None) -> Line | None:
    """The timeline line for a change someone made in PagerDuty, or None if it is not worth a reply."""
    kind = event.event_type
    return (_status_line(kind, event, Line()) or _assignment_line(kind, event, incident, Line())
            or _additive_line(kind, event, Line()))


def command_done(command: Command, incident: Snapshot | None, late: bool = False, in_doubt: bool = False) -> Line:
    """The single timeline line for a Slack action PagerDuty accepted (its echo adds nothing).

    `late`: the bridge had reported it failed. `in_doubt`: its echo came while its write was in doubt (it gave
    up unanswered, or a resend was refused), so the echo may be the clicker's own change in PagerDuty instead;
    for a change PagerDuty keeps no log entry of (a priority), nothing tells the two apart: the line says so.
    """
    line = Line()
    who = f"<@{command.slack_user}>"
    if command.action is ActionKind.PRIORITY and (late or in_doubt):
        label = line.typed(command.choice_label or command.choice or "?")
        line.add(f":label: Priority set to {label} by {who}, from Slack or in PagerDuty: PagerDuty does not record "
                 "which")
    elif command.action is ActionKind.REASSIGN and command.target:
        target = (f"<@{command.target_slack_user}>" if command.target_slack_user
                  else line.typed(command.target.name))
        line.add(f":busts_in_silhouette: Reassigned to {target} by {who} from Slack")
    elif command.action is ActionKind.NOTE:
        line.add(f":memo: Note by {who} from Slack: {line.typed(command.note or '')}")
    elif command.action is ActionKind.STATUS_UPDATE:
        line.add(f":mega: Status update by {who} from Slack: {line.typed(command.note or '')}")
    elif command.action in CONTROL_LINES:
        CONTROL_LINES[command.action](command, line, who)
    elif command.action is ActionKind.ESCALATE:
        assignees = _names(incident.assignees if incident else [], line)
        line.add(f":arrow_double_up: Escalated by {who} from Slack, now assigned to {assignees}")
    else:
        line.add(f":heavy_check_mark: {VERB_DONE[command.action].capitalize()} by {who} from Slack")
    if late:
        line.add(" (PagerDuty confirmed it after the bridge had reported a failure)")
    return line


def _snoozed(command: Command, line: Line, who: str) -> None:
    length = SNOOZE_CHOICES.get(command.choice or "", "a while")
    line.add(f":zzz: Snoozed for {length} by {who} from Slack; PagerDuty triggers it again when the snooze ends")


def _reprioritized(command: Command, line: Line, who: str) -> None:
    line.add(f":label: Priority set to {line.typed(command.choice_label or command.choice or '?')} by {who} from Slack")


def _responder(command: Command, line: Line, who: str) -> None:
    target = (f"<@{command.target_slack_user}>" if command.target_slack_user
              else line.typed(command.target.name if command.target else "?"))
    line.add(f":sos: {who} asked {target} to respond, from Slack: {line.typed(command.note or '')}")


CONTROL_LINES = {ActionKind.SNOOZE: _snoozed, ActionKind.PRIORITY: _reprioritized,
                 ActionKind.ADD_RESPONDER: _responder}


def snooze_ended(slack_user: str) -> Line:
    return Line().add(f":alarm_clock: The snooze <@{slack_user}> set from Slack ended: PagerDuty triggered the "
                      "incident again")


def found_done(command: Command, by: Ref | None) -> Line:
    """A click that found PagerDuty already done: credit who did it there, not the clicker."""
    line = Line()
    status = VERB_DONE[command.action]
    who = f"by {line.person(by)} " if by is not None else ""
    return line.add(f":information_source: <@{command.slack_user}>'s click found the incident already {status} "
                    f"{who}in PagerDuty; nothing more was needed")


def command_failed(command: Command, status: str) -> Line:
    line = Line()
    return line.add(
        f":warning: {VERB_DOING[command.action].capitalize()} for <@{command.slack_user}> failed: "
        f"{line.typed(command.detail)}. PagerDuty last showed the incident as *{status}*; the bridge is "
        "re-reading it and the message above shows what PagerDuty says."
    )


def synced(status: str) -> Line:
    return Line().add(f":arrows_counterclockwise: Synced from PagerDuty: the incident is now *{status}* "
                      "(a change the bridge had not heard about)")


def channel_opened(slack_user: str | None, channel: str) -> Line:
    """In the service channel's thread: where the incident is worked from now on."""
    by = f" by <@{slack_user}>" if slack_user else " (the channel policy opens one for incidents like this)"
    return Line().add(f":hash: The incident now has its own channel, <#{channel}>, opened{by}; its timeline "
                      "continues there")


def timeline_so_far(service_channel: str | None) -> Line:
    """In the new channel's thread: the heading of the lines the service channel's thread showed before."""
    where = f" in <#{service_channel}>" if service_channel else ""
    return Line().add(f":clipboard: The timeline so far{where}:")


def channel_failed(detail: str) -> Line:
    line = Line()
    return line.add(f":warning: The incident's own channel could not be created: {line.typed(detail)}. The "
                    "incident stays in this channel.")


def channel_invite_failed(detail: str) -> Line:
    line = Line()
    return line.add(f":warning: Not everyone could be invited to this channel: {line.typed(detail)}")


def conference_link_failed(detail: str) -> Line:
    line = Line()
    return line.add(f":warning: PagerDuty's conference link for the incident could not be set to this channel: "
                    f"{line.typed(detail)}. The channel works as before.")
