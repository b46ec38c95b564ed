"""What the incident's Slack message should show, derived from state alone (rendering is state-based)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import Field

from workflows.dm_models import DirectMessage
from workflows.models import ActionKind, CommandPhase, IncidentState, Model, Ref, Status
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
    snoozed_until: datetime | None = None  # acknowledged and snoozed from Slack: PagerDuty triggers it again then
    progress: list[str] = Field(default_factory=list)
    outcome: str | None = None
    # The incident channel convention: the Create/Join channel button's label (None: no button), the
    # dedicated channel's id once it exists, and whether this is the short service-channel message.
    channel_button: str | None = None
    dedicated_channel: str | None = None
    dedicated_archived: bool = False
    short: bool = False
    # In a person's direct message: whether they are (still) assigned; None in channels.
    assigned_to_reader: bool | None = None


def message_view(state: IncidentState, dedicated: bool = False,
                 pending_after_auth: bool = False) -> MessageView | None:
    """None until the bridge knows enough about the incident to post it.

    With `pending_after_auth`, a click shows as under way only once the person may act (their identity and
    authorization resolved): a refused click never shows publicly and costs no update. Runs started before
    this rule (workflow.patched) show it from the click on.

    With `dedicated`, the message in the incident's own channel; otherwise the service channel's, which
    is kept short (and links there) while the incident has its own channel.
    """
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
        if command.action is ActionKind.CREATE_CHANNEL and command.phase is CommandPhase.APPLIED:
            continue  # the message links the channel itself
        # Progress and outcome lines are mrkdwn: the bridge's mentions, everything else escaped.
        who = f"<@{command.slack_user}>"
        doing = VERB_DOING[command.action]
        if command.phase is CommandPhase.RESOLVING and pending_after_auth:
            continue  # not yet known whether this person may act: nothing to show anyone but them
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
        snoozed_until=state.snoozed_until if inc.status is Status.ACKNOWLEDGED else None,
        progress=progress,
        outcome=outcome,
        **_channel_fields(state, dedicated),
    )


def dm_view(state: IncidentState, dm: DirectMessage, pending_after_auth: bool = False) -> MessageView | None:
    """The message in an assignee's direct message: the incident in full, with its controls, and whether the
    person is still assigned. None until the conversation is open."""
    if dm.phase != "open" or dm.channel is None:
        return None
    view = message_view(state, dedicated=True, pending_after_auth=pending_after_auth)
    return view.model_copy(update={"assigned_to_reader": dm.assigned}) if view is not None else None


def _channel_fields(state: IncidentState, dedicated: bool) -> dict[str, Any]:
    ded = state.dedicated
    if dedicated:
        return {}
    if state.channels.dedicated == "never" and ded.phase != "ready":
        return {}
    if ded.phase == "ready":
        return {"channel_button": None if ded.archived else "Join channel", "dedicated_channel": ded.channel,
                "dedicated_archived": ded.archived, "short": ded.active}
    return {"channel_button": "Create channel"}
