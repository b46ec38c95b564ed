"""Direct messages to assignees end to end: `/pd notify` typed in the simulated Slack, incidents triggered in the
simulated PagerDuty, the DM opened with conversations.open, and clicks made in the DM, all over signed HTTP."""

from __future__ import annotations

import asyncio

from ops.sandbox import Sandbox
from settings import Notifications
from simulators._slack_model import Message
from tests.e2e.conftest import SandboxFactory, first_root, reply_texts, root_messages, status_of, until
from workflows.models import IncidentState

CHANNEL = "C0PAYMENTS"
ALICE_DM, BOB_DM = "D0ALICE", "D0BOB"  # the simulated Slack's conversation with each person


async def _pd(sb: Sandbox, user: str, text: str) -> str:
    """Type `/pd text`; returns what the person was shown privately."""
    before = len(sb.slack.ephemerals)
    status, body = await sb.slack.slash_command(user, CHANNEL, text)
    assert status == 200, body
    [answer] = [e.text for e in sb.slack.ephemerals[before:] if e.user == user]
    return answer


def _dm(sb: Sandbox, channel: str) -> Message | None:
    return first_root(sb, channel) if channel in sb.slack.channels else None


def _text(message: Message) -> str:
    return str(message.blocks)


def _writes_from(sb: Sandbox) -> list[str | None]:
    return [r.headers.get("from") for r in sb.pd.writes() if not r.path.startswith("/_sim")]


async def _state(sb: Sandbox, incident: str) -> IncidentState:
    assert sb.client is not None
    state: IncidentState = await sb.client.get_workflow_handle(f"pd-incident-{incident}").query(
        "state", result_type=IncidentState)
    return state


async def _decided(sb: Sandbox, incident: str, pd_user: str, timeout: float = 20.0) -> str:
    """Wait until the incident has decided about `pd_user`'s direct message (its `state` query); the phase."""
    deadline = asyncio.get_running_loop().time() + timeout
    while asyncio.get_running_loop().time() < deadline:
        state = await _state(sb, incident)
        found = next((d.phase for d in state.dms if d.pd_user == pd_user and d.phase != "opening"), None)
        if found:
            return found
        await asyncio.sleep(0.1)
    raise AssertionError(f"no decision about {pd_user}'s direct message within {timeout} s")


async def test_an_opted_in_assignee_gets_a_dm_acts_from_it_and_it_stays_current(sandbox: Sandbox) -> None:
    assert "Direct messages are on for you" in await _pd(sandbox, "U0ALICE", "notify on")
    assert "you said `/pd notify on`" in await _pd(sandbox, "U0ALICE", "notify")
    incident = sandbox.pd.trigger("PSVC001", "Card payments failing")  # level 1 of payments: Alice
    message = await until(lambda: first_root(sandbox, CHANNEL), what="channel message")
    dm = await until(lambda: _dm(sandbox, ALICE_DM), what="Alice's direct message")
    assert "Card payments failing" in _text(dm) and "Assigned to you" in _text(dm)
    assert {"pd_acknowledge", "pd_resolve", "pd_escalate", "pd_reassign"} <= {
        e["action_id"] for b in dm.blocks if b["type"] == "actions" for e in b["elements"]}
    # Alice acknowledges from her DM: done in PagerDuty as her, told once in the thread, both messages follow.
    status, body = await sandbox.slack.click(ALICE_DM, dm.ts, "pd_acknowledge", "U0ALICE")
    assert status == 200, body
    await until(lambda: status_of(message) == "acknowledged", what="channel message acknowledged")
    await until(lambda: status_of(dm) == "acknowledged", what="the DM updated in place")
    await until(lambda: sandbox.pd.delivered("incident.acknowledged"), what="echo delivered")
    await sandbox.pd.wait_idle(10)
    await until(lambda: reply_texts(message), what="timeline reply")
    assert sandbox.pd.incidents[incident].status == "acknowledged"
    assert _writes_from(sandbox) == ["alice@example.com"]
    assert reply_texts(message) == [":heavy_check_mark: Acknowledged by <@U0ALICE> from Slack"]
    assert len(root_messages(sandbox, ALICE_DM)) == 1 and dm.update_count >= 1
    assert len(root_messages(sandbox, CHANNEL)) == 1


async def test_reassign_sends_the_new_assignee_a_dm_and_the_old_one_is_told(sandbox: Sandbox) -> None:
    await _pd(sandbox, "U0ALICE", "notify on")
    await _pd(sandbox, "U0BOB", "notify on")
    sandbox.pd.trigger("PSVC001", "Card payments failing")
    message = await until(lambda: first_root(sandbox, CHANNEL), what="channel message")
    alice = await until(lambda: _dm(sandbox, ALICE_DM), what="Alice's direct message")
    assert _dm(sandbox, BOB_DM) is None
    status, body = await sandbox.slack.click(CHANNEL, message.ts, "pd_reassign", "U0ALICE", selected_user="U0BOB")
    assert status == 200, body
    bob = await until(lambda: _dm(sandbox, BOB_DM), what="Bob's direct message")
    assert "Assigned to you" in _text(bob)
    await until(lambda: "No longer assigned to you" in _text(alice), what="Alice's DM says it is no longer hers")
    assert len(root_messages(sandbox, ALICE_DM)) == 1 and len(root_messages(sandbox, BOB_DM)) == 1


async def test_who_did_not_opt_in_or_opted_out_gets_none(make_sandbox: SandboxFactory) -> None:
    async with make_sandbox(notifications=Notifications(direct_messages="on")) as sb:
        assert "everyone gets them" in await _pd(sb, "U0BOB", "notify")
        assert "Direct messages are off for you" in await _pd(sb, "U0ALICE", "notify off")
        incident = sb.pd.trigger("PSVC001", "Card payments failing")
        message = await until(lambda: first_root(sb, CHANNEL), what="channel message")
        assert await _decided(sb, incident, "PUALICE") == "none"
        # In mode "on", Bob gets one without asking when the incident escalates to him.
        status, body = await sb.slack.click(CHANNEL, message.ts, "pd_escalate", "U0ALICE")
        assert status == 200, body
        bob = await until(lambda: _dm(sb, BOB_DM), what="Bob's direct message")
        assert "Assigned to you" in _text(bob)
        assert _dm(sb, ALICE_DM) is None


async def test_opt_in_mode_sends_none_to_who_never_asked(sandbox: Sandbox) -> None:
    incident = sandbox.pd.trigger("PSVC001", "Card payments failing")
    await until(lambda: first_root(sandbox, CHANNEL), what="channel message")
    assert await _decided(sandbox, incident, "PUALICE") == "none"
    assert _dm(sandbox, ALICE_DM) is None and not sandbox.slack.calls_to("conversations.open")


async def test_mode_off_sends_none_and_says_the_admins_turned_them_off(make_sandbox: SandboxFactory) -> None:
    async with make_sandbox(notifications=Notifications(direct_messages="off")) as sb:
        assert "turned off by the bridge's admins" in await _pd(sb, "U0ALICE", "notify on")
        assert "turned off by the bridge's admins" in await _pd(sb, "U0ALICE", "notify")
        incident = sb.pd.trigger("PSVC001", "Card payments failing")
        await until(lambda: first_root(sb, CHANNEL), what="channel message")
        assert await _decided(sb, incident, "PUALICE") == "none"
        assert _dm(sb, ALICE_DM) is None and not sb.slack.calls_to("conversations.open")


async def test_an_assignee_without_slack_gets_none_and_the_incident_goes_on(make_sandbox: SandboxFactory) -> None:
    async with make_sandbox(notifications=Notifications(direct_messages="on")) as sb:
        sb.pd.add_user("PUZED01", "Zed Zhou", "zed@example.com", ["PTPAY01"])  # no Slack account matches
        incident = sb.pd.trigger("PSVC001", "Card payments failing")
        message = await until(lambda: first_root(sb, CHANNEL), what="channel message")
        await until(lambda: _dm(sb, ALICE_DM), what="Alice's direct message")
        sb.pd.reassign(incident, "PUALICE", ["PUZED01"])  # in PagerDuty itself
        assert await _decided(sb, incident, "PUZED01") == "none"
        await until(lambda: "Zed Zhou" in _text(message), what="the channel message shows Zed assigned")
        await until(lambda: "No longer assigned to you" in _text(first_root(sb, ALICE_DM) or message),
                    what="Alice's DM follows")
        status, body = await sb.slack.click(CHANNEL, message.ts, "pd_acknowledge", "U0BOB")
        assert status == 200, body
        await until(lambda: status_of(message) == "acknowledged", what="acknowledged")
