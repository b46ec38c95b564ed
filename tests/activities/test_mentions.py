"""A mention that cannot be looked up shows the person's name; the Slack message still goes out."""

from __future__ import annotations

import json

import pytest

from activities.slack import PostRequest, ReplyRequest, SlackActivities, UpdateRequest
from tests.activities.conftest import Live
from workflows.models import Ref, Reply
from workflows.view import MessageView

ALICE = Ref(id="PUALICE", summary="Alice Adams")
VIEW = MessageView(incident_id="PINC001", number=7, title="checkout slow", service="payments-api",
                   assignees=[ALICE])


def shown(live: Live) -> str:
    """Everything the incident message shows (text and blocks), as posted to the simulated Slack."""
    message = live.slack.messages("C0DEFAULT")[-1]
    return message.text + json.dumps(message.blocks)


@pytest.mark.parametrize("status", [401, 403, 503])
async def test_pagerduty_failing_the_user_lookup_posts_the_message_with_the_name(live: Live, status: int) -> None:
    live.pd.fail("/users/PUALICE", status)
    slack = SlackActivities(live.client, live.directory(), live.config)
    posted = await slack.post_message(PostRequest(view=VIEW))
    assert posted.channel == "C0DEFAULT"
    assert "Alice Adams" in shown(live) and "<@U0ALICE>" not in shown(live)


async def test_updates_and_replies_go_out_with_the_name_too(live: Live) -> None:
    slack = SlackActivities(live.client, live.directory(), live.config)
    posted = await slack.post_message(PostRequest(view=VIEW.model_copy(update={"assignees": []})))
    live.pd.fail("/users/", 401)
    await slack.update_message(UpdateRequest(channel=posted.channel, ts=posted.ts, view=VIEW))
    assert "Alice Adams" in shown(live)
    reply = Reply(seq=1, text="Acknowledged by {p0} in PagerDuty", people=[ALICE])
    assert await slack.post_reply(ReplyRequest(channel=posted.channel, ts=posted.ts, replies=[reply])) == 1
    replies = live.slack.thread(posted.channel, posted.ts)
    assert [m.text for m in replies] == ["Acknowledged by Alice Adams in PagerDuty"]


async def test_a_failed_lookup_is_tried_again_soon_and_then_mentions(live: Live) -> None:
    directory = live.directory(ttl=300)
    live.pd.fail("/users/PUALICE", 503)
    assert await directory.slack_user_for("PUALICE") is None
    live.pd.clear_faults()
    assert await directory.slack_user_for("PUALICE") is None  # not hammered: remembered for a short while
    live.now[0] += 31
    assert await directory.slack_user_for("PUALICE") == "U0ALICE"


async def test_slack_failing_the_email_lookup_shows_the_name(live: Live) -> None:
    live.slack.fail("users.lookupByEmail", "internal_error", count=5)
    slack = SlackActivities(live.client, live.directory(), live.config)
    await slack.post_message(PostRequest(view=VIEW))
    assert "Alice Adams" in shown(live)
