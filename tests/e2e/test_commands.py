"""The `/pd` slash command end to end: typed in the simulated Slack, signed, answered by the real API, with
PagerDuty simulated and the incident workflows running on a real Temporal server."""

from __future__ import annotations

from typing import Any

import httpx

from ops.sandbox import Sandbox
from simulators._slack_model import Ephemeral
from tests.e2e.conftest import first_root, reply_texts, root_messages, status_of, until

PAYMENTS, PLATFORM = "C0PAYMENTS", "C0PLATFORM"


async def _pd(sb: Sandbox, user: str, text: str, channel: str = PAYMENTS) -> list[Ephemeral]:
    """Type `/pd text`; returns what the person was shown privately because of it."""
    before = len(sb.slack.ephemerals)
    status, body = await sb.slack.slash_command(user, channel, text)
    assert status == 200, body
    return [e for e in sb.slack.ephemerals[before:] if e.user == user]


def _said(sb: Sandbox, user: str) -> list[str]:
    return [e.text for e in sb.slack.ephemerals if e.user == user]


def _pd_writes(sb: Sandbox) -> list[tuple[str, str, str | None]]:
    return [(r.method, r.path, r.headers.get("from")) for r in sb.pd.writes() if not r.path.startswith("/_sim")]


def _buttons(blocks: list[dict[str, Any]]) -> list[tuple[str, str | None]]:
    return [(e["action_id"], e.get("value")) for b in blocks if b["type"] == "actions" for e in b["elements"]]


async def test_help_and_unknown_subcommands_answer_privately_and_send_nothing(sandbox: Sandbox) -> None:
    [usage] = await _pd(sandbox, "U0ALICE", "")
    assert "/pd mine" in usage.text and "/pd trigger" in usage.text
    [unknown] = await _pd(sandbox, "U0ALICE", "  pagee   me ")
    assert "`pagee` is not a /pd subcommand" in unknown.text
    assert sandbox.slack.responses[-1]["response_type"] == "ephemeral"
    assert _pd_writes(sandbox) == [] and root_messages(sandbox, PAYMENTS) == []


async def test_mine_lists_my_incidents_with_the_message_controls(sandbox: Sandbox) -> None:
    mine = sandbox.pd.trigger("PSVC001", "Card payments failing")  # level 1 of payments: Alice
    sandbox.pd.trigger("PSVC002", "Disk full")  # Carol's
    message = await until(lambda: first_root(sandbox, PAYMENTS), what="incident message")
    [answer] = await _pd(sandbox, "U0ALICE", "mine")
    assert "Card payments failing" in str(answer.blocks) and "Disk full" not in str(answer.blocks)
    assert ("pd_acknowledge", mine) in _buttons(answer.blocks) and ("pd_resolve", mine) in _buttons(answer.blocks)
    # A click on the private list takes the incident message's path: as Alice, through the workflow.
    status, body = await sandbox.slack.click(PAYMENTS, answer.ts, "pd_acknowledge", "U0ALICE")
    assert status == 200, body
    await until(lambda: status_of(message) == "acknowledged", what="acknowledged from /pd mine")
    assert _pd_writes(sandbox) == [("PUT", f"/incidents/{mine}", "alice@example.com")]
    [none] = await _pd(sandbox, "U0DAVE", "mine")
    assert none.text == "You have no open incidents assigned to you in PagerDuty."


async def test_mine_for_an_unmapped_person_says_what_to_fix(sandbox: Sandbox) -> None:
    [answer] = await _pd(sandbox, "U0EVE", "mine")
    assert "eve@example.com" in answer.text and "<@U0LEAD>" in answer.text  # who can help, by name
    assert "[identity" not in answer.text  # config keys are for the logs and the doctor
    assert not any(r.path == "/incidents" for r in sandbox.pd.requests)


async def test_open_shows_the_channels_service_or_the_named_one(sandbox: Sandbox) -> None:
    sandbox.pd.trigger("PSVC001", "Card payments failing")
    sandbox.pd.trigger("PSVC002", "Disk <b>full</b> & slow")
    [here] = await _pd(sandbox, "U0BOB", "open")
    assert "Card payments failing" in str(here.blocks) and "Disk" not in str(here.blocks)
    [named] = await _pd(sandbox, "U0BOB", 'open "platform-db"')
    assert "Disk &lt;b&gt;full&lt;/b&gt; &amp; slow" in str(named.blocks)
    [unknown] = await _pd(sandbox, "U0BOB", "open billing")
    assert "PagerDuty has no service named “billing”" in unknown.text
    [unrouted] = await _pd(sandbox, "U0BOB", "open", channel="C0DEFAULT")
    assert "No PagerDuty service is routed to this channel" in unrouted.text


async def test_oncall_names_people_level_by_level_as_mentions(sandbox: Sandbox) -> None:
    sandbox.pd.add_user("PUFRANK", "Frank <Ops>", "frank@example.com")  # no Slack account
    sandbox.pd.escalation_policies["PEPPLT1"].levels[1].append("PUFRANK")
    [payments] = await _pd(sandbox, "U0CAROL", "oncall")
    assert payments.text.splitlines() == ["*On call now for Payments Escalation*",
                                          "Level 1: <@U0ALICE>", "Level 2: <@U0BOB>"]
    [platform] = await _pd(sandbox, "U0CAROL", 'oncall "Platform Escalation"')
    assert platform.text.splitlines()[1:] == ["Level 1: <@U0CAROL>", "Level 2: <@U0DAVE>, Frank &lt;Ops&gt;"]


async def test_trigger_creates_the_incident_as_the_person_once(sandbox: Sandbox) -> None:
    [told] = await _pd(sandbox, "U0ALICE", "trigger payments-api   Checkout <!channel> down --low")
    assert "Triggered <" in told.text and "#1 Checkout &lt;!channel&gt; down" in told.text
    assert _pd_writes(sandbox) == [("POST", "/incidents", "alice@example.com")]
    [incident] = sandbox.pd.incidents.values()
    assert (incident.title, incident.urgency, incident.service_id) == ("Checkout <!channel> down", "low", "PSVC001")
    # It reaches Slack through the normal read path: the triggered webhook, naming Alice as the agent.
    message = await until(lambda: first_root(sandbox, PAYMENTS), what="incident message")
    assert "Checkout &lt;!channel&gt; down" in message.text
    [event] = [e["event"] for e in sandbox.pd.events if e["event"]["event_type"] == "incident.triggered"]
    assert event["agent"]["id"] == "PUALICE" and event["agent"]["type"] == "user_reference"
    assert event["data"]["incident_key"].startswith("slack-")
    # The same command again (a double Enter) is the same incident, not a second page.
    [again] = await _pd(sandbox, "U0ALICE", "trigger payments-api Checkout <!channel> down --low")
    assert "Already triggered" in again.text and len(sandbox.pd.incidents) == 1


async def test_trigger_on_another_teams_service_is_refused_but_an_admin_may(sandbox: Sandbox) -> None:
    [refused] = await _pd(sandbox, "U0CAROL", "trigger payments-api Card payments failing")
    assert "only people on the Payments team can trigger incidents on payments-api" in refused.text
    [unknown] = await _pd(sandbox, "U0CAROL", "trigger billing Card payments failing")
    assert "PagerDuty has no service named “billing”" in unknown.text
    [eve] = await _pd(sandbox, "U0EVE", "trigger payments-api Card payments failing")
    assert "eve@example.com" in eve.text
    assert _pd_writes(sandbox) == []
    [admin] = await _pd(sandbox, "U0LEAD", 'trigger "payments-api" Card payments failing')
    assert admin.text.startswith("Triggered <")
    assert _pd_writes(sandbox) == [("POST", "/incidents", "lead@example.com")]


async def test_trigger_without_arguments_opens_the_form(sandbox: Sandbox) -> None:
    assert await _pd(sandbox, "U0BOB", "trigger") == []
    view = await until(lambda: sandbox.slack.open_view_for("U0BOB"), what="trigger modal")
    assert view.callback_id == "pd_trigger_modal"
    values: dict[str, dict[str, dict[str, Any]]] = {"pd_trigger_service": {"pd_trigger_service_choice": {
                  "type": "static_select", "selected_option": {"value": "PSVC001"}}},
              "pd_trigger_title": {"pd_trigger_title_text": {"type": "plain_text_input", "value": "Refunds stuck"}},
              "pd_trigger_urgency": {"pd_trigger_urgency_choice": {
                  "type": "static_select", "selected_option": {"value": "high"}}}}
    status, body = await sandbox.slack.submit_view(view.id, "U0BOB", values)
    assert status == 200 and view.closed, body
    told = await until(lambda: _said(sandbox, "U0BOB"), what="private answer")
    assert told[0].startswith("Triggered <") and "Refunds stuck" in told[0]
    assert _pd_writes(sandbox) == [("POST", "/incidents", "bob@example.com")]
    await until(lambda: first_root(sandbox, PAYMENTS), what="incident message")


async def test_pagerduty_down_is_a_clear_private_answer(sandbox: Sandbox) -> None:
    sandbox.pd.fail("/incidents", 503)
    [mine] = await _pd(sandbox, "U0ALICE", "mine")
    assert mine.text.startswith("PagerDuty could not answer") and "try again in a minute" in mine.text
    [trigger] = await _pd(sandbox, "U0ALICE", "trigger payments-api Card payments failing")
    assert "it will not create a second incident" in trigger.text
    assert sandbox.pd.incidents == {}


async def test_slow_pagerduty_answers_through_the_response_url(sandbox: Sandbox) -> None:
    sandbox.pd.trigger("PSVC001", "Card payments failing")
    sandbox.pd.delay("/incidents", 3.0)
    [first] = await _pd(sandbox, "U0ALICE", "open")
    assert first.text.startswith("Asking PagerDuty")
    late = await until(lambda: [r for r in sandbox.slack.responses if "source" not in r], what="response_url post")
    assert late[0]["response_type"] == "ephemeral" and "Card payments failing" in str(late[0]["blocks"])


async def test_ack_by_number_acknowledges_that_incident_through_its_workflow(sandbox: Sandbox) -> None:
    ids = [sandbox.pd.trigger("PSVC001", f"Incident {n}") for n in range(1, 8)]
    await until(lambda: len(root_messages(sandbox, PAYMENTS)) == 7, what="seven incident messages")
    [told] = await _pd(sandbox, "U0ALICE", "ack #7")
    assert told.text.startswith("Acknowledging #7 Incident 7")
    seventh = next(m for m in root_messages(sandbox, PAYMENTS) if "Incident 7" in m.text)
    await until(lambda: status_of(seventh) == "acknowledged", what="#7 acknowledged")
    await until(lambda: reply_texts(seventh), what="timeline reply")
    assert reply_texts(seventh) == [":heavy_check_mark: Acknowledged by <@U0ALICE> from Slack"]
    assert sandbox.pd.incidents[ids[6]].status == "acknowledged"
    assert [i.status for i in sandbox.pd.incidents.values()].count("acknowledged") == 1
    assert _pd_writes(sandbox) == [("PUT", f"/incidents/{ids[6]}", "alice@example.com")]


async def test_resolve_by_number_is_refused_for_another_team_and_unknown_numbers(sandbox: Sandbox) -> None:
    sandbox.pd.trigger("PSVC001", "Card payments failing")
    message = await until(lambda: first_root(sandbox, PAYMENTS), what="incident message")
    [refusal] = await _pd(sandbox, "U0CAROL", "resolve 1", channel=PLATFORM)  # decided before answering
    assert "only people on the Payments team can act on this incident" in refusal.text
    assert status_of(message) == "triggered"
    [missing] = await _pd(sandbox, "U0CAROL", "resolve 42")
    assert missing.text == "PagerDuty has no incident #42. Nothing was sent to PagerDuty."
    [bad] = await _pd(sandbox, "U0CAROL", "resolve seven")
    assert "Write its number" in bad.text
    assert _pd_writes(sandbox) == []


async def test_channel_page_command_box_reaches_the_bridge(sandbox: Sandbox) -> None:
    async with httpx.AsyncClient() as client:
        page = await client.get(f"{sandbox.slack.public_url}/channels/{PAYMENTS}")
        sent = await client.post(f"{sandbox.slack.public_url}/_sim/command",
                                 json={"channel": PAYMENTS, "user_id": "U0CAROL", "command": "/pd", "text": "oncall"})
    assert page.status_code == 200 and "id='sim-command'" in page.text
    assert sent.status_code == 200 and sent.json()["status"] == 200
    assert "Level 1: <@U0ALICE>" in _said(sandbox, "U0CAROL")[-1]
