"""The simulated Slack creates, fills and archives channels as Slack does, over real HTTP through slack_sdk."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from simulators.server import ServedApp
from simulators.slack import SlackSimulator
from tests.simulators.test_slack_limits import FakeClock

BOT_TOKEN = "xoxb-sim-bot"


@pytest.fixture
def sim() -> SlackSimulator:
    slack = SlackSimulator("signing-secret", BOT_TOKEN)
    slack.seed_demo()
    slack.add_channel("C0QUIET", "#quiet", bot_is_member=False)
    return slack


@pytest.fixture
def client(sim: SlackSimulator) -> Iterator[AsyncWebClient]:
    with ServedApp(sim.app) as served:
        yield AsyncWebClient(token=BOT_TOKEN, base_url=served.url + "/api/")


async def slack_error(call: Any) -> dict[str, Any]:
    """The body of the error response a Web API call ends in."""
    with pytest.raises(SlackApiError) as raised:
        await call
    return dict(raised.value.response.data)


async def test_create_makes_a_public_channel_the_bot_is_in(sim: SlackSimulator, client: AsyncWebClient) -> None:
    created = await client.conversations_create(name="inc-42-checkout-latency")
    channel = created["channel"]
    assert channel["name"] == "inc-42-checkout-latency" and channel["id"].startswith("C")
    assert (channel["is_private"], channel["is_archived"], channel["is_channel"]) == (False, False, True)
    assert channel["creator"] == sim.bot_user_id and channel["created"] > 0
    found = sim.channel_by_name("inc-42-checkout-latency")
    assert found is not None and found.id == channel["id"] and found.created_by_bot
    assert sim.members(channel["id"]) == {sim.bot_user_id}
    assert [c.id for c in sim.created_channels()] == [channel["id"]]
    seeded = sim.channel_by_name("#payments-oncall")
    assert seeded is not None and not seeded.created_by_bot and sim.channel_by_name("C0PAYMENTS") is None
    # The new channel is a channel like any other: the bot posts there and conversations.info knows it.
    await client.chat_postMessage(channel=channel["id"], text="[TRIGGERED] checkout latency")
    assert [m.text for m in sim.messages(channel["id"])] == ["[TRIGGERED] checkout latency"]
    info = (await client.conversations_info(channel=channel["id"]))["channel"]
    assert (info["name"], info["is_private"], info["is_archived"]) == ("inc-42-checkout-latency", False, False)


async def test_a_second_create_gets_a_new_id(client: AsyncWebClient) -> None:
    first = (await client.conversations_create(name="inc-1"))["channel"]["id"]
    second = (await client.conversations_create(name="inc-2"))["channel"]["id"]
    assert first != second


@pytest.mark.parametrize(
    ("name", "error"),
    [
        ("", "invalid_name_required"),
        ("x" * 81, "invalid_name_maxlength"),
        ("Inc-42", "invalid_name_specials"),
        ("inc 42", "invalid_name_specials"),
        ("inc.42", "invalid_name_specials"),
        ("#inc-42", "invalid_name_specials"),
        ("инцидент", "invalid_name_specials"),
        ("---", "invalid_name_punctuation"),
        ("_-_", "invalid_name_punctuation"),
    ],
)
async def test_create_applies_slacks_name_rules(
    sim: SlackSimulator, client: AsyncWebClient, name: str, error: str
) -> None:
    assert (await slack_error(client.conversations_create(name=name)))["error"] == error
    assert sim.created_channels() == []


async def test_names_at_the_limits_are_accepted(client: AsyncWebClient) -> None:
    for name in ("x" * 80, "a", "inc_42-b", "42"):
        assert (await client.conversations_create(name=name))["channel"]["name"] == name


async def test_a_taken_name_is_refused_archived_channels_included(
    sim: SlackSimulator, client: AsyncWebClient
) -> None:
    assert (await slack_error(client.conversations_create(name="payments-oncall")))["error"] == "name_taken"
    old = (await client.conversations_create(name="inc-7-db"))["channel"]["id"]
    await client.conversations_archive(channel=old)
    assert (await slack_error(client.conversations_create(name="inc-7-db")))["error"] == "name_taken"
    assert (await slack_error(client.conversations_create(name="inc-7-db", is_private=True)))["error"] == "name_taken"
    assert [c.id for c in sim.created_channels()] == [old]


async def test_private_channels_need_groups_write(sim: SlackSimulator, client: AsyncWebClient) -> None:
    sim.scopes.remove("groups:write")
    body = await slack_error(client.conversations_create(name="inc-9-secret", is_private=True))
    assert (body["error"], body["needed"]) == ("missing_scope", "groups:write")
    assert "channels:manage" in body["provided"].split(",") and "groups:write" not in body["provided"]
    public = await client.conversations_create(name="inc-9-public")  # channels:manage still covers public ones
    assert public["channel"]["is_private"] is False
    sim.scopes.append("groups:write")
    private = (await client.conversations_create(name="inc-9-secret", is_private=True))["channel"]
    assert private["is_private"] is True
    found = sim.channel_by_name("inc-9-secret")
    assert found is not None and found.is_private


async def test_public_channels_need_channels_manage(sim: SlackSimulator, client: AsyncWebClient) -> None:
    sim.scopes.remove("channels:manage")
    body = await slack_error(client.conversations_create(name="inc-10"))
    assert (body["error"], body["needed"]) == ("missing_scope", "channels:manage")
    assert sim.channel_by_name("inc-10") is None
    made = (await client.conversations_create(name="inc-10", is_private=True))["channel"]  # groups:write is there
    assert made["is_private"] is True
    for call in (client.conversations_invite(channel="C0PAYMENTS", users="U0ALICE"),
                 client.conversations_archive(channel="C0PAYMENTS")):
        assert (await slack_error(call))["needed"] == "channels:manage"
    assert not sim.channels["C0PAYMENTS"].is_archived


async def test_invite_adds_people_to_the_member_set(sim: SlackSimulator, client: AsyncWebClient) -> None:
    channel = (await client.conversations_create(name="inc-11"))["channel"]["id"]
    answered = await client.conversations_invite(channel=channel, users=["U0ALICE", "U0BOB"])
    assert answered["channel"]["id"] == channel
    assert sim.members(channel) == {sim.bot_user_id, "U0ALICE", "U0BOB"}
    # Someone already there is skipped while someone new is added.
    await client.conversations_invite(channel=channel, users="U0ALICE,U0CAROL")
    assert sim.members(channel) == {sim.bot_user_id, "U0ALICE", "U0BOB", "U0CAROL"}
    body = await slack_error(client.conversations_invite(channel=channel, users="U0BOB,U0ALICE"))
    assert body["error"] == "already_in_channel"
    assert sim.members("C0PAYMENTS") >= {sim.bot_user_id, "U0ALICE", "U0EVE"}  # the demo channels hold everyone


async def test_invite_refuses_unknown_people_unless_forced(sim: SlackSimulator, client: AsyncWebClient) -> None:
    channel = (await client.conversations_create(name="inc-12", is_private=True))["channel"]["id"]
    body = await slack_error(client.conversations_invite(channel=channel, users="U0ALICE,U0GHOST"))
    assert body["error"] == "user_not_found"
    assert sim.members(channel) == {sim.bot_user_id}  # nobody was added by the refused call
    await client.conversations_invite(channel=channel, users="U0ALICE,U0GHOST", force=True)
    assert sim.members(channel) == {sim.bot_user_id, "U0ALICE"}
    body = await slack_error(client.conversations_invite(channel=channel, users=sim.bot_user_id))
    assert body["error"] == "cant_invite_self"


async def test_invite_needs_the_bot_in_a_live_channel(sim: SlackSimulator, client: AsyncWebClient) -> None:
    assert (await slack_error(client.conversations_invite(channel="C0QUIET", users="U0ALICE")))["error"] == (
        "not_in_channel")
    assert (await slack_error(client.conversations_invite(channel="C0NOPE", users="U0ALICE")))["error"] == (
        "channel_not_found")
    channel = (await client.conversations_create(name="inc-13"))["channel"]["id"]
    await client.conversations_archive(channel=channel)
    assert (await slack_error(client.conversations_invite(channel=channel, users="U0ALICE")))["error"] == (
        "is_archived")
    assert sim.members("C0QUIET") == set() and sim.members(channel) == {sim.bot_user_id}


async def test_archive_stops_posting_and_updating(sim: SlackSimulator, client: AsyncWebClient) -> None:
    channel = (await client.conversations_create(name="inc-14"))["channel"]["id"]
    root = await client.chat_postMessage(channel=channel, text="[RESOLVED] inc 14")
    await client.conversations_archive(channel=channel)
    found = sim.channel_by_name("inc-14")
    assert found is not None and found.is_archived
    assert (await client.conversations_info(channel=channel))["channel"]["is_archived"] is True
    for call in (
        client.chat_postMessage(channel=channel, text="too late"),
        client.chat_postMessage(channel=channel, text="too late", thread_ts=root["ts"]),
        client.chat_update(channel=channel, ts=root["ts"], text="edited"),
        client.chat_postEphemeral(channel=channel, user="U0ALICE", text="only you"),
    ):
        assert (await slack_error(call))["error"] == "is_archived"
    (message,) = sim.messages(channel)
    assert message.text == "[RESOLVED] inc 14" and message.replies == [] and sim.ephemerals == []
    assert (await slack_error(client.conversations_archive(channel=channel)))["error"] == "already_archived"


async def test_archive_errors(sim: SlackSimulator, client: AsyncWebClient) -> None:
    assert (await slack_error(client.conversations_archive(channel="C0NOPE")))["error"] == "channel_not_found"
    assert (await slack_error(client.conversations_archive(channel="C0QUIET")))["error"] == "not_in_channel"
    assert not sim.channels["C0QUIET"].is_archived


async def test_injected_faults_apply_to_channel_methods(sim: SlackSimulator, client: AsyncWebClient) -> None:
    sim.fail("conversations.create", "restricted_action")
    assert (await slack_error(client.conversations_create(name="inc-15")))["error"] == "restricted_action"
    assert sim.channel_by_name("inc-15") is None
    channel = (await client.conversations_create(name="inc-15"))["channel"]["id"]
    sim.rate_limit("conversations.invite", 1, retry_after=7)
    with pytest.raises(SlackApiError) as raised:
        await client.conversations_invite(channel=channel, users="U0ALICE")
    assert raised.value.response.status_code == 429 and raised.value.response.headers["Retry-After"] == "7"
    await client.conversations_invite(channel=channel, users="U0ALICE")
    sim.fail("conversations.archive", "restricted_action")
    assert (await slack_error(client.conversations_archive(channel=channel)))["error"] == "restricted_action"
    assert [(c.ok, c.error) for c in sim.calls_to("conversations.invite")] == [(False, "ratelimited"), (True, None)]


async def test_slack_limits_for_channel_methods() -> None:
    clock = FakeClock()
    sim = SlackSimulator("signing-secret", BOT_TOKEN, rate_limits=True, clock=clock)
    sim.seed_demo()
    with ServedApp(sim.app) as served:
        client = AsyncWebClient(token=BOT_TOKEN, base_url=served.url + "/api/")
        # Tier 2, 20 a minute: a burst of 3, then one every 3 s.
        for n in range(3):
            await client.conversations_create(name=f"inc-{n}")
        with pytest.raises(SlackApiError) as raised:
            await client.conversations_create(name="inc-3")
        response = raised.value.response
        assert (response.status_code, response["error"], response.headers["Retry-After"]) == (429, "ratelimited", "3")
        assert sim.channel_by_name("inc-3") is None
        clock.advance(3.0)
        await client.conversations_create(name="inc-3")
        # Over a steady minute, about 20 get through.
        clock.advance(60.0)
        accepted = 0
        for n in range(60):
            clock.advance(1.0)
            try:
                await client.conversations_create(name=f"steady-{n}")
                accepted += 1
            except SlackApiError as exc:
                assert exc.response.status_code == 429
        assert 20 <= accepted <= 23
        # Archive has its own Tier 2 budget, invite a Tier 3 one (a burst of 5).
        channel = sim.created_channels()[0].id
        invites = []
        for user in ("U0ALICE", "U0BOB", "U0CAROL", "U0DAVE", "U0EVE", "U0LEAD"):
            try:
                await client.conversations_invite(channel=channel, users=user)
                invites.append(200)
            except SlackApiError as exc:
                invites.append(exc.response.status_code)
        assert invites == [200] * 5 + [429]
        await client.conversations_archive(channel=channel)
    counts = {(c.method, c.channel): (c.calls, c.ratelimited) for c in sim.call_counts()}
    assert counts[("conversations.invite", channel)] == (6, 1)
    assert counts[("conversations.archive", channel)] == (1, 0)
