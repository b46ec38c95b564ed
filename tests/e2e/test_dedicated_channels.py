"""Dedicated incident channels over real HTTP: a signed click on Create channel, the channel in the simulated
Slack with its members, the two messages of one incident, links, policies, failures, summary and archive."""

from __future__ import annotations

from ops.sandbox import Sandbox
from settings import Channels
from simulators._slack_model import Channel, Message
from tests.e2e.conftest import SandboxFactory, first_root, reply_texts, status_of, until

CHANNEL = "C0PAYMENTS"
TITLE = "Card payments failing"


async def _incident(sb: Sandbox, title: str = TITLE, service: str = "PSVC001", channel: str = CHANNEL,
                    urgency: str = "high") -> tuple[str, Message]:
    incident = sb.pd.trigger(service, title, urgency=urgency)
    message = await until(lambda: first_root(sb, channel), what="root message")
    return incident, message


async def _click(sb: Sandbox, channel: str, message: Message, action_id: str, user: str, **extra: str) -> None:
    status, body = await sb.slack.click(channel, message.ts, action_id, user, **extra)
    assert status == 200, body


def _told(sb: Sandbox, user: str) -> list[str]:
    return [e.text for e in sb.slack.ephemerals if e.user == user]


def _expected_name(sb: Sandbox, incident: str, slug: str = "card-payments-failing") -> str:
    return f"inc-{sb.pd.incidents[incident].number}-{slug}"


def _actions(message: Message) -> list[set[str]]:
    """The action ids of each controls row of the message."""
    return [{e["action_id"] for e in b["elements"]} for b in message.blocks if b["type"] == "actions"]


def _context(message: Message) -> str:
    return str([b for b in message.blocks if b["type"] == "context"])


async def _created(sb: Sandbox) -> tuple[Channel, Message]:
    """The one channel the bridge created, and the incident message in it."""
    channel = await until(lambda: next(iter(sb.slack.created_channels()), None), what="a created channel")
    message = await until(lambda: first_root(sb, channel.id), what="the incident message in the new channel")
    return channel, message


async def test_create_channel_on_demand_and_work_from_it(sandbox: Sandbox) -> None:
    incident, service_msg = await _incident(sandbox)
    # Escalated in PagerDuty first, so the assignee (Bob) is someone other than the clicker (Alice).
    sandbox.pd.escalate(incident, "PUALICE", 2)
    await until(lambda: reply_texts(service_msg), what="the escalation reply")
    assert any("pd_create_channel" in row for row in _actions(service_msg))

    await _click(sandbox, CHANNEL, service_msg, "pd_create_channel", "U0ALICE")
    channel, dedicated_msg = await _created(sandbox)
    assert channel.name == _expected_name(sandbox, incident)
    assert not channel.is_private and not channel.is_archived
    await until(lambda: {"U0ALICE", "U0BOB"} <= sandbox.slack.members(channel.id), what="Alice and Bob invited")
    assert len(sandbox.slack.created_channels()) == 1
    # The incident message with its controls in the new channel.
    assert dedicated_msg.text.startswith(f"[TRIGGERED] #{sandbox.pd.incidents[incident].number} {TITLE}")
    assert {"pd_acknowledge", "pd_resolve"} <= _actions(dedicated_msg)[0]
    # The service thread links to the channel, and Alice is told where it is.
    link = f"<#{channel.id}>"
    await until(lambda: any(link in line for line in reply_texts(service_msg)), what="the link reply")
    assert [line for line in reply_texts(service_msg) if link in line] == [
        f":hash: The incident now has its own channel, {link}, opened by <@U0ALICE>; its timeline continues there"]
    told = await until(lambda: [t for t in _told(sandbox, "U0ALICE") if link in t], what="Alice's ephemeral")
    assert told == [f"<@U0ALICE>, the incident's channel is {link}; you are invited."]
    # The service message becomes short and points at the channel.
    await until(lambda: f":hash: Worked in {link}" in _context(service_msg), what="the service message's pointer")
    assert len(_actions(service_msg)) == 1

    # Acknowledge from the message in the new channel.
    await _click(sandbox, channel.id, dedicated_msg, "pd_acknowledge", "U0ALICE")
    await until(lambda: status_of(dedicated_msg) == "acknowledged" and status_of(service_msg) == "acknowledged",
                what="both messages acknowledged")
    ack = ":heavy_check_mark: Acknowledged by <@U0ALICE> from Slack"
    await until(lambda: ack in reply_texts(dedicated_msg), what="the acknowledge line in the channel's thread")
    await sandbox.pd.wait_idle(10)
    # The channel's thread starts with the timeline so far (the escalation), then goes on there.
    assert reply_texts(dedicated_msg) == [
        f":clipboard: The timeline so far in <#{CHANNEL}>:",
        ":arrow_double_up: Escalated by <@U0ALICE> in PagerDuty, now assigned to <@U0BOB>", ack]
    assert not any("Acknowledged by" in line for line in reply_texts(service_msg))
    assert sandbox.pd.incidents[incident].status == "acknowledged"
    assert len(sandbox.slack.created_channels()) == 1


async def test_second_click_links_and_invites_without_a_second_channel(sandbox: Sandbox) -> None:
    _, service_msg = await _incident(sandbox)
    await _click(sandbox, CHANNEL, service_msg, "pd_create_channel", "U0ALICE")
    channel, _ = await _created(sandbox)
    await until(lambda: "U0ALICE" in sandbox.slack.members(channel.id), what="Alice invited")
    await until(lambda: any("Join channel" in str(b) for b in service_msg.blocks), what="the Join channel button")
    assert "U0BOB" not in sandbox.slack.members(channel.id)

    await _click(sandbox, CHANNEL, service_msg, "pd_create_channel", "U0BOB")
    told = await until(lambda: _told(sandbox, "U0BOB"), what="Bob's ephemeral")
    assert told == [f"<@U0BOB>, this incident is worked in <#{channel.id}>."]
    await until(lambda: "U0BOB" in sandbox.slack.members(channel.id), what="Bob invited to the public channel")
    await sandbox.pd.wait_idle(10)
    assert len(sandbox.slack.created_channels()) == 1
    assert len(sandbox.slack.calls_to("conversations.create")) == 1


async def test_a_taken_name_gets_a_suffix(sandbox: Sandbox) -> None:
    incident, service_msg = await _incident(sandbox)
    taken = _expected_name(sandbox, incident)
    sandbox.slack.add_channel("C0TAKEN1", taken, members={"U0DAVE"})
    await _click(sandbox, CHANNEL, service_msg, "pd_create_channel", "U0ALICE")
    channel, message = await _created(sandbox)
    assert channel.name == f"{taken}-2"
    assert TITLE in message.text
    assert sandbox.slack.messages("C0TAKEN1") == []
    assert [c.error for c in sandbox.slack.calls_to("conversations.create")] == ["name_taken", None]


async def test_a_channel_an_earlier_attempt_made_is_used_not_a_second_one(sandbox: Sandbox) -> None:
    # An earlier attempt created the channel, but its answer was lost (a timeout): the name is taken by the
    # bridge's own channel for this incident, which is the one to use.
    incident, service_msg = await _incident(sandbox)
    name = _expected_name(sandbox, incident)
    mine = sandbox.slack.add_channel("C0MADE01", name, members=set())
    mine.created_by_bot, mine.creator = True, sandbox.slack.bot_user_id
    await _click(sandbox, CHANNEL, service_msg, "pd_create_channel", "U0ALICE")
    await until(lambda: sandbox.slack.messages("C0MADE01"), what="the incident message in the channel made before")
    await until(lambda: "U0ALICE" in sandbox.slack.members("C0MADE01"), what="Alice invited")
    assert [c.id for c in sandbox.slack.created_channels()] == ["C0MADE01"]
    assert sandbox.slack.channel_by_name(f"{name}-2") is None


async def _refused_then_acknowledged(sb: Sandbox, service_msg: Message, incident: str, reason: str) -> None:
    await _click(sb, CHANNEL, service_msg, "pd_create_channel", "U0ALICE")
    told = await until(lambda: _told(sb, "U0ALICE"), what="the explanation to the clicker")
    assert len(told) == 1
    assert told[0].startswith("<@U0ALICE> :warning: The incident's own channel could not be created: ")
    assert reason in told[0] and told[0].endswith("The incident stays in this channel.")
    assert sb.slack.created_channels() == []
    # The incident keeps working in the service channel.
    await _click(sb, CHANNEL, service_msg, "pd_acknowledge", "U0ALICE")
    await until(lambda: status_of(service_msg) == "acknowledged", what="acknowledged in the service channel")
    await until(lambda: reply_texts(service_msg), what="the acknowledge line")
    await sb.pd.wait_idle(10)
    assert reply_texts(service_msg) == [":heavy_check_mark: Acknowledged by <@U0ALICE> from Slack"]
    assert sb.pd.incidents[incident].status == "acknowledged"
    assert sb.slack.created_channels() == []


async def test_restricted_workspace_is_explained_and_the_incident_stays(sandbox: Sandbox) -> None:
    incident, service_msg = await _incident(sandbox)
    sandbox.slack.fail("conversations.create", "restricted_action")
    await _refused_then_acknowledged(sandbox, service_msg, incident, "Settings &amp; permissions")  # Slack shows "&"


async def test_missing_scope_is_explained_and_the_incident_stays(sandbox: Sandbox) -> None:
    incident, service_msg = await _incident(sandbox)
    sandbox.slack.scopes.remove("channels:manage")
    await _refused_then_acknowledged(sandbox, service_msg, incident, "channels:manage")


async def test_policy_always_opens_the_channel_at_trigger(make_sandbox: SandboxFactory) -> None:
    async with make_sandbox(channels=Channels(dedicated="always")) as sb:
        incident, service_msg = await _incident(sb, urgency="low")
        channel, message = await _created(sb)
        assert channel.name == _expected_name(sb, incident)
        assert TITLE in message.text
        await until(lambda: "U0ALICE" in sb.slack.members(channel.id), what="the assignee invited")
        link = f"<#{channel.id}>"
        await until(lambda: any(link in line for line in reply_texts(service_msg)), what="the link reply")
        assert reply_texts(service_msg) == [
            f":hash: The incident now has its own channel, {link}, opened (the channel policy opens one for "
            "incidents like this); its timeline continues there"]
        assert sb.slack.ephemerals == []


async def test_policy_high_urgency_opens_only_for_high_urgency(make_sandbox: SandboxFactory) -> None:
    async with make_sandbox(channels=Channels(dedicated="high_urgency")) as sb:
        _, low = await _incident(sb, "Batch slow", service="PSVC002", channel="C0PLATFORM", urgency="low")
        high, _ = await _incident(sb, urgency="high")
        channel, _ = await _created(sb)
        assert channel.name == _expected_name(sb, high)
        await sb.pd.wait_idle(10)
        assert len(sb.slack.created_channels()) == 1
        assert any("pd_create_channel" in row for row in _actions(low))  # on demand for the low one


async def test_resolve_posts_the_summary_and_archives_the_channel(make_sandbox: SandboxFactory) -> None:
    async with make_sandbox(channels=Channels(archive_after_resolve_hours=0.001)) as sb:  # 3.6 s
        incident, service_msg = await _incident(sb)
        await _click(sb, CHANNEL, service_msg, "pd_create_channel", "U0ALICE")
        channel, dedicated_msg = await _created(sb)
        await _click(sb, channel.id, dedicated_msg, "pd_resolve", "U0ALICE")
        await until(lambda: status_of(dedicated_msg) == "resolved" and status_of(service_msg) == "resolved",
                    what="both messages resolved")
        number = sb.pd.incidents[incident].number
        summary = await until(lambda: next((m for m in sb.slack.messages(channel.id)
                                            if m.text.startswith(":clipboard:")), None), what="the summary")
        assert summary.text.startswith(f":clipboard: *Summary of #{number} {TITLE}*")
        assert "*Status:* resolved" in summary.text and "Alice Adams" in summary.text
        assert not channel.is_archived
        await until(lambda: channel.is_archived, timeout=30, what="the channel archived after resolve")
        await until(lambda: "(archived)" in _context(service_msg), what="the service message says archived")


async def test_reassigned_person_is_invited(sandbox: Sandbox) -> None:
    incident, service_msg = await _incident(sandbox)
    await _click(sandbox, CHANNEL, service_msg, "pd_create_channel", "U0ALICE")
    channel, dedicated_msg = await _created(sandbox)
    await until(lambda: "U0ALICE" in sandbox.slack.members(channel.id), what="Alice invited")
    assert "U0BOB" not in sandbox.slack.members(channel.id)
    await _click(sandbox, channel.id, dedicated_msg, "pd_reassign", "U0ALICE", selected_user="U0BOB")
    await until(lambda: "U0BOB" in sandbox.slack.members(channel.id), what="Bob invited after the reassign")
    await until(lambda: reply_texts(dedicated_msg), what="the reassign line in the channel's thread")
    assert reply_texts(dedicated_msg) == [":busts_in_silhouette: Reassigned to <@U0BOB> by <@U0ALICE> from Slack"]
    assert [a for a, _ in sandbox.pd.incidents[incident].assignments] == ["PUBOB01"]


async def test_private_channel_invites_only_the_clicker_and_assignees(make_sandbox: SandboxFactory) -> None:
    async with make_sandbox(channels=Channels(private=True)) as sb:
        _, service_msg = await _incident(sb)
        await _click(sb, CHANNEL, service_msg, "pd_create_channel", "U0LEAD")
        channel, _ = await _created(sb)
        assert channel.is_private
        await until(lambda: {"U0LEAD", "U0ALICE"} <= sb.slack.members(channel.id), what="clicker and assignee")
        await until(lambda: any("Join channel" in str(b) for b in service_msg.blocks), what="Join channel")
        await _click(sb, CHANNEL, service_msg, "pd_create_channel", "U0BOB")
        told = await until(lambda: _told(sb, "U0BOB"), what="Bob's ephemeral")
        assert "a private channel: ask someone in it to add you" in told[0]
        await sb.pd.wait_idle(10)
        assert "U0BOB" not in sb.slack.members(channel.id)


async def test_people_pagerduty_adds_later_are_invited_and_its_timeline_goes_to_the_channel(
        sandbox: Sandbox) -> None:
    incident, service_msg = await _incident(sandbox)
    await _click(sandbox, CHANNEL, service_msg, "pd_create_channel", "U0ALICE")
    channel, dedicated_msg = await _created(sandbox)
    await until(lambda: "U0ALICE" in sandbox.slack.members(channel.id), what="Alice invited")
    sandbox.pd.escalate(incident, "PUALICE", 2)  # in PagerDuty, not from Slack
    await until(lambda: "U0BOB" in sandbox.slack.members(channel.id), what="Bob invited after the escalation")
    sandbox.pd.add_responder(incident, "PUBOB01", "PUCAROL", "Need a DB hand")
    await until(lambda: "U0CAROL" in sandbox.slack.members(channel.id), what="Carol invited as a responder")
    await until(lambda: len(reply_texts(dedicated_msg)) >= 2, what="both lines in the channel's thread")
    await sandbox.pd.wait_idle(10)
    assert reply_texts(dedicated_msg) == [
        ":arrow_double_up: Escalated by <@U0ALICE> in PagerDuty, now assigned to <@U0BOB>",
        ":sos: <@U0BOB> asked <@U0CAROL> to respond in PagerDuty: Need a DB hand"]
    assert len(reply_texts(service_msg)) == 1  # only the link
    assert "U0DAVE" not in sandbox.slack.members(channel.id)


async def test_two_clicks_at_once_make_one_channel_and_invite_both(sandbox: Sandbox) -> None:
    _, service_msg = await _incident(sandbox)
    sandbox.slack.rate_limit("conversations.create", 1)  # the first try waits a second: both clicks land meanwhile
    await _click(sandbox, CHANNEL, service_msg, "pd_create_channel", "U0ALICE")
    await _click(sandbox, CHANNEL, service_msg, "pd_create_channel", "U0BOB")
    channel, _ = await _created(sandbox)
    await until(lambda: {"U0ALICE", "U0BOB"} <= sandbox.slack.members(channel.id), what="both invited")
    link = f"<#{channel.id}>"
    await until(lambda: all(any(link in t for t in _told(sandbox, u)) for u in ("U0ALICE", "U0BOB")),
                what="both told the link")
    await until(lambda: any(link in line for line in reply_texts(service_msg)), what="the link reply")
    await sandbox.pd.wait_idle(10)
    assert len(sandbox.slack.created_channels()) == 1
    assert [c.error for c in sandbox.slack.calls_to("conversations.create") if c.ok] == [None]
    # One link reply, crediting whichever click passed its checks first (both are in flight at once).
    (opened,) = [line for line in reply_texts(service_msg) if link in line]
    assert opened in {f":hash: The incident now has its own channel, {link}, opened by <@{who}>; its timeline "
                      "continues there" for who in ("U0ALICE", "U0BOB")}


async def test_policy_channel_that_cannot_be_created_is_said_in_the_service_thread(
        make_sandbox: SandboxFactory) -> None:
    async with make_sandbox(channels=Channels(dedicated="always")) as sb:
        sb.slack.fail("conversations.create", "restricted_action")
        incident, service_msg = await _incident(sb)
        await until(lambda: reply_texts(service_msg), what="the failure in the service thread")
        assert reply_texts(service_msg)[0].startswith(
            ":warning: The incident's own channel could not be created: ")
        assert "Settings &amp; permissions" in reply_texts(service_msg)[0]  # escaped: Slack shows "&"
        assert sb.slack.created_channels() == [] and sb.slack.ephemerals == []
        sb.pd.acknowledge(incident, "PUBOB01")
        await until(lambda: status_of(service_msg) == "acknowledged", what="still worked in the service channel")
        await until(lambda: len(reply_texts(service_msg)) >= 2, what="the acknowledge line")
        assert reply_texts(service_msg)[1] == ":eyes: Acknowledged by <@U0BOB> in PagerDuty"


async def test_resolve_in_pagerduty_posts_the_summary_once(sandbox: Sandbox) -> None:
    incident, service_msg = await _incident(sandbox)
    await _click(sandbox, CHANNEL, service_msg, "pd_create_channel", "U0ALICE")
    channel, dedicated_msg = await _created(sandbox)
    sandbox.pd.acknowledge(incident, "PUALICE")
    sandbox.pd.add_note(incident, "PUALICE", "Rolled back")
    sandbox.pd.resolve(incident, "PUBOB01")
    await until(lambda: status_of(dedicated_msg) == "resolved" and status_of(service_msg) == "resolved",
                what="both resolved")
    summary = await until(lambda: [m for m in sandbox.slack.messages(channel.id) if m.text.startswith(":clipboard:")],
                          what="the summary")
    await sandbox.pd.wait_idle(10)
    await until(lambda: any("Resolved by <@U0BOB>" in line for line in reply_texts(dedicated_msg)),
                what="the resolve line in the channel's thread")
    assert len(summary) == 1
    assert "Alice Adams: acknowledged, note" in summary[0].text and "Bob Brown: resolved" in summary[0].text
    assert not any(b["type"] == "actions" for b in dedicated_msg.blocks)
    assert not channel.is_archived  # archive_after_resolve_hours = 0: never


async def test_long_unicode_title_makes_a_valid_name(sandbox: Sandbox) -> None:
    title = "Zahlungsausfälle: Café-Kasse & API — 50% Fehler!! " + "sehr " * 30
    incident, service_msg = await _incident(sandbox, title)
    await _click(sandbox, CHANNEL, service_msg, "pd_create_channel", "U0ALICE")
    channel, _ = await _created(sandbox)
    number = sandbox.pd.incidents[incident].number
    assert channel.name == f"inc-{number}-zahlungsausfalle-cafe-kasse-api-50-fehler"


async def test_channel_archived_by_a_person_sends_the_incident_back_to_the_service_channel(
        sandbox: Sandbox) -> None:
    incident, service_msg = await _incident(sandbox)
    await _click(sandbox, CHANNEL, service_msg, "pd_create_channel", "U0ALICE")
    channel, dedicated_msg = await _created(sandbox)
    link = f"<#{channel.id}>"
    await until(lambda: any(link in line for line in reply_texts(service_msg)), what="the link reply")
    with sandbox.slack.lock:
        channel.is_archived = True  # someone archives the channel in Slack
    sandbox.pd.acknowledge(incident, "PUBOB01")
    await until(lambda: status_of(service_msg) == "acknowledged", what="the service message acknowledged")
    await until(lambda: any("Acknowledged by <@U0BOB>" in line for line in reply_texts(service_msg)),
                what="the acknowledge line back in the service thread")
    await until(lambda: "(archived)" in _context(service_msg), what="the service message says archived")
    assert reply_texts(dedicated_msg) == []
    assert any({"pd_acknowledge", "pd_resolve"} & row for row in _actions(service_msg))
