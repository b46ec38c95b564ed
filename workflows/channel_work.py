"""Runs the dedicated channel's effects as activities (in the incident workflow) and returns their events.

Each call is retried durably for transient failures (Slack unavailable, 429 with its Retry-After); a
permanent one (a missing scope, a restricted workspace, names all taken) comes back as the event's
`error`, for the reducer to explain.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from temporalio import workflow
from temporalio.exceptions import ActivityError

with workflow.unsafe.imports_passed_through():
    from activities.channels import ChannelActivities
    from workflows import options
    from workflows.channel_models import (
        ArchiveChannel,
        ChannelArchived,
        ChannelCreated,
        ChannelInvited,
        ConferenceLinkSet,
        CreateChannel,
        InviteToChannel,
        PostSummary,
        SetConferenceLink,
        SummaryPosted,
    )
    from workflows.rendering import failure_text

CHANNEL_DEADLINE = timedelta(hours=1)  # a storm of channels waits its turn (about 20 a minute)
# One attempt: its turn (at most 20 s, else it comes back later) and a few Slack calls; a creation that
# timed out anyway finds the channel it made on the next attempt (activities/channels.py).
CHANNEL_CALL_TIMEOUT = timedelta(minutes=2)

ChannelEffect = CreateChannel | InviteToChannel | PostSummary | ArchiveChannel | SetConferenceLink
ChannelResult = ChannelCreated | ChannelInvited | SummaryPosted | ChannelArchived | ConferenceLinkSet


async def run(effect: ChannelEffect) -> ChannelResult:
    calls: Any = {"start_to_close_timeout": CHANNEL_CALL_TIMEOUT, "schedule_to_close_timeout": CHANNEL_DEADLINE,
                  "retry_policy": options.SLACK_RETRY}
    try:
        match effect:
            case CreateChannel():
                return await workflow.execute_activity_method(ChannelActivities.create_channel, effect, **calls)
            case InviteToChannel():
                return await workflow.execute_activity_method(ChannelActivities.invite, effect, **calls)
            case PostSummary():
                await workflow.execute_activity_method(ChannelActivities.post_summary, effect, **calls)
                return SummaryPosted()
            case ArchiveChannel():
                await workflow.execute_activity_method(ChannelActivities.archive, effect, **calls)
                return ChannelArchived()
            case SetConferenceLink():
                return await workflow.execute_activity_method(ChannelActivities.set_conference_link, effect,
                                                              **calls)
    except ActivityError as exc:
        error = failure_text(exc)
        match effect:
            case CreateChannel():
                return ChannelCreated(error=error)
            case InviteToChannel():
                return ChannelInvited(pd_user_ids=effect.pd_user_ids, error=error)
            case PostSummary():
                return SummaryPosted(error=error)
            case ArchiveChannel():
                return ChannelArchived(error=error)
            case SetConferenceLink():
                return ConferenceLinkSet(error=error)
