"""What the incident's Slack message should show, derived from state alone (rendering is state-based)."""

from __future__ import annotations

from pydantic import Field

from workflows.models import CommandPhase, IncidentState, Model, Ref, Status
from workflows.slack_text import escape
from workflows.timeline import VERB_DOING, VERB_DONE


class MessageView(Model):
    incident_id: str
    number: int | None = None
    title: str = ""
    html_url: str = ""
    service: str = ""
    service_id: str | None = None
    urgency: str = ""
    priority: str | None = None
    status: Status = Status.TRIGGERED
    assignees: list[Ref] = Field(default_factory=list)
    acted_by: Ref | None = None
    progress: list[str] = Field(default_factory=list)
    outcome: str | None = None


def message_view(state: IncidentState) -> MessageView | None:
    """None until the bridge knows enough about the incident to post it."""
    inc = state.incident
    if not state.known or inc is None:
        return None
    if state.ts is None and inc.status is Status.RESOLVED and not state.saw_trigger and not state.commands:
        # First heard of after it was over (a late note, a missed subscription): a new message for a
        # finished incident would only be noise in the channel.
        return None
    progress: list[str] = []
    outcome: str | None = None
    for command in state.commands:
        # Progress and outcome lines are mrkdwn: the bridge's mentions, everything else escaped.
        who = f"<@{command.slack_user}>"
        doing = VERB_DOING[command.action]
        if command.phase in {CommandPhase.RESOLVING, CommandPhase.SENDING}:
            progress.append(f":hourglass_flowing_sand: {doing} for {who}…")
        elif command.phase is CommandPhase.RETRYING:
            progress.append(f":hourglass_flowing_sand: {doing} for {who}… {escape(command.detail)}")
        elif command.phase is CommandPhase.APPLIED and command.found_done:
            ref = command.already_by
            by = f" by {escape(ref.summary or ref.id)}" if ref else ""
            outcome = (f":information_source: Already {VERB_DONE[command.action]}{by} in PagerDuty "
                       f"when {who} clicked")
        elif command.phase is CommandPhase.APPLIED:
            outcome = f":heavy_check_mark: {VERB_DONE[command.action].capitalize()} by {who} from Slack"
        elif command.phase is CommandPhase.FAILED:
            outcome = f":warning: {doing.capitalize()} for {who} failed: {escape(command.detail)}"
    return MessageView(
        incident_id=inc.id,
        number=inc.number,
        title=inc.title,
        html_url=inc.html_url,
        service=inc.service.summary if inc.service else "",
        service_id=inc.service.id if inc.service else None,
        urgency=inc.urgency,
        priority=inc.priority,
        status=inc.status,
        assignees=inc.assignees,
        acted_by=state.acted_by,
        progress=progress,
        outcome=outcome,
    )
