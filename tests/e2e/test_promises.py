"""The promises `/pd` makes in words, kept end to end: each test is what a person types or clicks in the
simulated Slack, answered by the real API and worker, with PagerDuty simulated and a real Temporal server."""

from __future__ import annotations

import time
from typing import Any

from api.app import create_app
from ops.sandbox import Sandbox
from simulators._slack_model import Ephemeral
from simulators.server import ServedApp
from tests.e2e.conftest import first_root, until

PAYMENTS, PLATFORM = "C0PAYMENTS", "C0PLATFORM"


async def _pd(sb: Sandbox, user: str, text: str, channel: str = PAYMENTS) -> list[Ephemeral]:
    """Type `/pd text`; returns what the person was shown privately because of it (so far)."""
    before = len(sb.slack.ephemerals)
    status, body = await sb.slack.slash_command(user, channel, text)
    assert status == 200, body
    return [e for e in sb.slack.ephemerals[before:] if e.user == user]


async def test_a_retried_trigger_after_a_lost_answer_pages_once_even_on_another_api(sandbox: Sandbox) -> None:
    # PagerDuty creates the incident, but its answer is lost on the way back.
    sandbox.pd.fail("/incidents", 504, count=1, method="POST", applied=True)
    [lost] = await _pd(sandbox, "U0ALICE", "trigger payments-api Checkout failing")
    assert "Run the same command again: it will not create a second incident." in lost.text
    [incident] = sandbox.pd.incidents.values()
    # The person runs it again two minutes later, and another API replica (no memory of the first) takes it.
    other = create_app(sandbox.settings, sandbox.config, clock=lambda: time.time() + 120)
    with ServedApp(other) as replica:
        sandbox.slack.commands_url = f"{replica.url}/slack/commands"
        [again] = await _pd(sandbox, "U0ALICE", "trigger payments-api Checkout failing")
    assert len(sandbox.pd.incidents) == 1, "on-call was paged twice"
    assert f"#{incident.number} Checkout failing" in again.text and "no second incident" in again.text


def _dm(sb: Sandbox, *people: str) -> str:
    """A direct message between people, without the bot: Slack refuses chat.postEphemeral there."""
    channel_id = "D0" + "".join(p[2:5] for p in people)
    sb.slack.add_channel(channel_id, "@" + "-".join(people), bot_is_member=False, is_private=True,
                         members=set(people))
    return channel_id


def _seen(sb: Sandbox, user: str, channel: str, after: int = 0) -> list[str]:
    return [e.text for e in sb.slack.ephemerals[after:] if e.user == user and e.channel == channel]


async def test_a_refused_click_on_a_pd_open_row_in_a_dm_reaches_the_person_and_shows_nothing_publicly(
        sandbox: Sandbox) -> None:
    incident = sandbox.pd.trigger("PSVC001", "Card payments failing")
    message = await until(lambda: first_root(sandbox, PAYMENTS), what="incident message")
    dm = _dm(sandbox, "U0DAVE", "U0BOB")
    [listed] = await _pd(sandbox, "U0DAVE", "open payments-api", channel=dm)
    updates_before = message.update_count
    mark = len(sandbox.slack.ephemerals)
    status, body = await sandbox.slack.click(dm, listed.ts, "pd_resolve", "U0DAVE")
    assert status == 200, body
    told = await until(lambda: _seen(sandbox, "U0DAVE", dm, mark), what="Dave told in the DM")
    assert "only people on the Payments team can act on this incident" in told[0]
    assert sandbox.pd.incidents[incident].status == "triggered" and _pd_writes(sandbox) == []
    # The refused click never showed "resolving for @dave" on the shared message, and spent no chat.update.
    assert message.update_count == updates_before
    assert all("resolving" not in str(h).lower() for h in message.history)


async def test_pd_ack_typed_in_a_dm_hears_back_when_pagerduty_refuses(sandbox: Sandbox) -> None:
    incident = sandbox.pd.trigger("PSVC001", "Card payments failing")
    await until(lambda: first_root(sandbox, PAYMENTS), what="incident message")
    sandbox.pd.fail(f"/incidents/{incident}", 403, method="PUT",
                    body={"error": {"message": "Access Denied", "code": 2010}})
    dm = _dm(sandbox, "U0ALICE", "U0BOB")
    [first] = await _pd(sandbox, "U0ALICE", "ack 1", channel=dm)
    assert first.text.startswith("Acknowledging #1 Card payments failing")
    mark = len(sandbox.slack.ephemerals)
    told = await until(lambda: _seen(sandbox, "U0ALICE", dm, mark), what="the failure told in the DM")
    assert "failed" in told[0] and "Access Denied" in told[0]


async def test_a_trigger_form_whose_lookup_is_rate_limited_says_nothing_was_sent(sandbox: Sandbox) -> None:
    assert await _pd(sandbox, "U0BOB", "trigger") == []
    view = await until(lambda: sandbox.slack.open_view_for("U0BOB"), what="trigger modal")
    sandbox.slack.rate_limit("users.info", 10, retry_after=30)
    status, body = await sandbox.slack.submit_view(view.id, "U0BOB", _form_values("PSVC001", "Refunds stuck"))
    assert status == 200 and view.closed, body
    told = await until(lambda: [e.text for e in sandbox.slack.ephemerals if e.user == "U0BOB"], what="an answer")
    assert "Nothing was sent to PagerDuty" in told[0] and "Refunds stuck" in told[0]
    assert sandbox.pd.incidents == {} and _pd_writes(sandbox) == []


async def test_pd_resolve_for_another_team_says_one_thing_a_person_can_act_on(sandbox: Sandbox) -> None:
    sandbox.pd.trigger("PSVC001", "Card payments failing")
    await until(lambda: first_root(sandbox, PAYMENTS), what="incident message")
    [refused] = await _pd(sandbox, "U0CAROL", "resolve 1", channel=PLATFORM)
    assert "Resolving" not in refused.text
    assert "only people on the Payments team can act on this incident" in refused.text
    assert "<@U0ALICE>" in refused.text and "<@U0LEAD>" in refused.text  # the assignee, an admin by name
    assert "PTPAY01" not in refused.text and "authorization." not in refused.text
    [eve] = await _pd(sandbox, "U0EVE", "resolve 1")
    assert "eve@example.com" in eve.text and "<@U0LEAD>" in eve.text
    assert "[identity" not in eve.text and "BRIDGE_CONFIG" not in eve.text and "Resolving" not in eve.text
    # Already resolved: one answer, no "Resolving" first.
    sandbox.pd.resolve(next(iter(sandbox.pd.incidents)), "PUBOB01")
    [done] = await _pd(sandbox, "U0ALICE", "resolve 1")
    assert done.text == "#1 Card payments failing is already resolved in PagerDuty; reopen it there first. " \
                        "Nothing was sent."
    assert _pd_writes(sandbox) == []


def _form_values(service: str, title: str) -> dict[str, dict[str, dict[str, Any]]]:
    return {"pd_trigger_service": {"pd_trigger_service_choice": {
                "type": "external_select", "selected_option": {"value": service}}},
            "pd_trigger_title": {"pd_trigger_title_text": {"type": "plain_text_input", "value": title}},
            "pd_trigger_urgency": {"pd_trigger_urgency_choice": {
                "type": "static_select", "selected_option": {"value": "high"}}}}


def _pd_writes(sb: Sandbox) -> list[tuple[str, str, str | None]]:
    return [(r.method, r.path, r.headers.get("from")) for r in sb.pd.writes() if not r.path.startswith("/_sim")]


async def test_oncall_and_open_in_an_incidents_own_channel_mean_its_service(sandbox: Sandbox) -> None:
    sandbox.pd.trigger("PSVC001", "Card payments failing")
    message = await until(lambda: first_root(sandbox, PAYMENTS), what="incident message")
    status, body = await sandbox.slack.click(PAYMENTS, message.ts, "pd_create_channel", "U0ALICE")
    assert status == 200, body
    channel = await until(lambda: next(iter(sandbox.slack.created_channels()), None), what="the incident channel")
    [oncall] = await _pd(sandbox, "U0BOB", "oncall", channel=channel.id)
    assert oncall.text.splitlines()[:2] == ["*On call now for Payments Escalation*", "Level 1: <@U0ALICE>"]
    [listed] = await _pd(sandbox, "U0BOB", "open", channel=channel.id)
    assert "this incident's service" in listed.text and "Card payments failing" in str(listed.blocks)
    # Any other unrouted channel still asks for a service.
    [elsewhere] = await _pd(sandbox, "U0BOB", "oncall", channel="C0DEFAULT")
    assert "No PagerDuty service is routed to this channel" in elsewhere.text
