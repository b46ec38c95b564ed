"""Slack -> PagerDuty over real HTTP: signed clicks from the simulated channel, writes as the clicker, echoes."""

from __future__ import annotations

import asyncio
import json
import time
from datetime import UTC, datetime, timedelta
from urllib.parse import urlencode

import httpx

from api.signatures import slack_signature
from ops.sandbox import Sandbox
from settings import Timing
from simulators._slack_model import Message
from tests.e2e.conftest import SandboxFactory, first_root, reply_texts, status_of, until

CHANNEL = "C0PAYMENTS"


async def _incident(sb: Sandbox, title: str = "Card payments failing") -> tuple[str, Message]:
    incident = sb.pd.trigger("PSVC001", title)
    message = await until(lambda: first_root(sb, CHANNEL), what="root message")
    return incident, message


async def _click(sb: Sandbox, message: Message, action_id: str, user: str, **extra: str) -> None:
    status, body = await sb.slack.click(CHANNEL, message.ts, action_id, user, **extra)
    assert status == 200, body


def _writes_from(sb: Sandbox) -> list[str | None]:
    return [r.headers.get("from") for r in sb.pd.writes() if not r.path.startswith("/_sim")]


async def _write_note(sb: Sandbox, message: Message, user: str, text: str) -> None:
    """Click Add note, wait for the modal the bridge opens, and submit it."""
    await _click(sb, message, "pd_add_note", user)
    view = await until(lambda: next((v for v in sb.slack.views if v.user_id == user and not v.closed), None),
                       what="note modal")
    values = {"pd_note": {"pd_note_text": {"type": "plain_text_input", "value": text}}}
    status, body = await sb.slack.submit_view(view.id, user, values)
    assert status == 200, body


async def _replay_last_interaction(sb: Sandbox) -> None:
    body = urlencode({"payload": json.dumps(sb.slack.interactions[-1].payload)}).encode()
    timestamp = str(int(time.time()))
    headers = {"X-Slack-Request-Timestamp": timestamp, "Content-Type": "application/x-www-form-urlencoded",
               "X-Slack-Signature": slack_signature(body, timestamp, sb.settings.secret("slack_signing_secret"))}
    async with httpx.AsyncClient() as client:
        response = await client.post(f"{sb.api_url}/slack/interactions", content=body, headers=headers)
    assert response.status_code == 200, response.text


def _ephemerals_for(sb: Sandbox, user: str) -> list[str]:
    return [e.text for e in sb.slack.ephemerals if e.user == user]


async def test_acknowledge_acts_as_the_clicker_and_its_echo_is_not_external(sandbox: Sandbox) -> None:
    incident, message = await _incident(sandbox)
    await _click(sandbox, message, "pd_acknowledge", "U0ALICE")
    await until(lambda: status_of(message) == "acknowledged", what="acknowledged")
    await until(lambda: sandbox.pd.delivered("incident.acknowledged"), what="echo delivered")
    await sandbox.pd.wait_idle(10)
    await until(lambda: reply_texts(message), what="timeline reply")
    assert sandbox.pd.incidents[incident].status == "acknowledged"
    assert _writes_from(sandbox) == ["alice@example.com"]
    assert reply_texts(message) == [":heavy_check_mark: Acknowledged by <@U0ALICE> from Slack"]
    # The message's own update is a separate Slack call, paced apart from the thread reply.
    await until(lambda: any("Acknowledged by <@U0ALICE> from Slack" in str(b) for b in message.blocks),
                what="the outcome on the message")


async def test_resolve_finalises_the_message(sandbox: Sandbox) -> None:
    _, message = await _incident(sandbox)
    await _click(sandbox, message, "pd_resolve", "U0BOB")
    await until(lambda: status_of(message) == "resolved", what="resolved")
    await until(lambda: reply_texts(message), what="timeline reply")
    assert _writes_from(sandbox) == ["bob@example.com"]
    assert not any(b["type"] == "actions" for b in message.blocks)
    assert reply_texts(message) == [":heavy_check_mark: Resolved by <@U0BOB> from Slack"]


async def test_escalate_goes_to_the_next_level_and_says_so_at_the_last(sandbox: Sandbox) -> None:
    incident, message = await _incident(sandbox)
    await _click(sandbox, message, "pd_escalate", "U0ALICE")
    await until(lambda: len(reply_texts(message)) >= 1, what="escalation reply")
    assert [a for a, _ in sandbox.pd.incidents[incident].assignments] == ["PUBOB01"]
    assert reply_texts(message) == [
        ":arrow_double_up: Escalated by <@U0ALICE> from Slack, now assigned to <@U0BOB>"]
    await _click(sandbox, message, "pd_escalate", "U0BOB")
    await until(lambda: len(reply_texts(message)) >= 2, what="last-level reply")
    assert "already at the last level (2 of 2)" in reply_texts(message)[-1]
    assert len(_writes_from(sandbox)) == 1


async def test_escalate_at_the_last_level_after_the_clickers_own_escalation_in_pagerduty(sandbox: Sandbox) -> None:
    # Alice escalates to the last level in PagerDuty; its webhook is late, and comes while her Escalate click
    # is being planned. The click finds nobody further and writes nothing: her webhook is hers, in PagerDuty.
    incident, message = await _incident(sandbox)
    sandbox.pd.hold_incident(incident)
    sandbox.pd.escalate(incident, "PUALICE", 2)
    log = f"/incidents/{incident}/log_entries"
    sandbox.pd.delay(log, 1.5)  # the click's planning reads the incident's log slowly
    status, body = await sandbox.slack.click(CHANNEL, message.ts, "pd_escalate", "U0ALICE")
    assert status == 200, body
    await until(lambda: any(r.path == log for r in sandbox.pd.requests), what="the click being planned")
    sandbox.pd.release_incident(incident)
    await until(lambda: any("last level" in line for line in reply_texts(message)), what="the click's outcome")
    assert ":arrow_double_up: Escalated by <@U0ALICE> in PagerDuty, now assigned to <@U0BOB>" in reply_texts(message)
    assert not any("from Slack" in line for line in reply_texts(message))
    assert _writes_from(sandbox) == []


async def test_reassign_maps_the_chosen_slack_user(sandbox: Sandbox) -> None:
    incident, message = await _incident(sandbox)
    await _click(sandbox, message, "pd_reassign", "U0ALICE", selected_user="U0BOB")
    await until(lambda: reply_texts(message), what="reassign reply")
    assert [a for a, _ in sandbox.pd.incidents[incident].assignments] == ["PUBOB01"]
    assert _writes_from(sandbox) == ["alice@example.com"]
    assert reply_texts(message) == [":busts_in_silhouette: Reassigned to <@U0BOB> by <@U0ALICE> from Slack"]


async def test_reassign_to_an_unmapped_person_sends_nothing(sandbox: Sandbox) -> None:
    _, message = await _incident(sandbox)
    await _click(sandbox, message, "pd_reassign", "U0ALICE", selected_user="U0EVE")
    told = await until(lambda: _ephemerals_for(sandbox, "U0ALICE"), what="ephemeral refusal")
    assert "Cannot reassign to <@U0EVE>" in told[0] and "eve@example.com" in told[0]
    assert _writes_from(sandbox) == []


async def test_note_from_the_modal_is_added_once_as_the_author(sandbox: Sandbox) -> None:
    incident, message = await _incident(sandbox)
    await _write_note(sandbox, message, "U0ALICE", "Rolled back deploy 142")
    await _replay_last_interaction(sandbox)  # Slack delivering the same submission again
    await until(lambda: reply_texts(message), what="note reply")
    await sandbox.pd.wait_idle(10)
    notes = sandbox.pd.incidents[incident].notes
    assert [(n.content, n.user_id) for n in notes] == [("Rolled back deploy 142", "PUALICE")]
    assert reply_texts(message) == [":memo: Note by <@U0ALICE> from Slack: Rolled back deploy 142"]


async def test_unmapped_person_is_told_exactly_what_failed(sandbox: Sandbox) -> None:
    _, message = await _incident(sandbox)
    await _click(sandbox, message, "pd_acknowledge", "U0EVE")
    told = await until(lambda: _ephemerals_for(sandbox, "U0EVE"), what="ephemeral")
    assert "eve@example.com" in told[0] and "[identity" not in told[0] and "<@U0LEAD>" in told[0]
    assert _writes_from(sandbox) == [] and status_of(message) == "triggered"


async def test_person_of_another_team_is_refused(sandbox: Sandbox) -> None:
    _, message = await _incident(sandbox)
    await _click(sandbox, message, "pd_resolve", "U0CAROL")
    told = await until(lambda: _ephemerals_for(sandbox, "U0CAROL"), what="ephemeral")
    assert "only people on the Payments team can act on this incident" in told[0]
    assert _writes_from(sandbox) == [] and status_of(message) == "triggered"
    async with httpx.AsyncClient() as client:
        metrics = (await client.get(f"{sandbox.api_url}/metrics")).text
    assert 'bridge_actions_total{kind="resolve",outcome="refused_authorization"}' in metrics


async def test_admin_may_act_on_any_team_incident(sandbox: Sandbox) -> None:
    _, message = await _incident(sandbox)
    await _click(sandbox, message, "pd_resolve", "U0LEAD")
    await until(lambda: status_of(message) == "resolved", what="resolved by admin")
    assert _writes_from(sandbox) == ["lead@example.com"]


async def test_echo_before_the_response_and_duplicated_is_still_one_confirmation(sandbox: Sandbox) -> None:
    _, message = await _incident(sandbox)
    sandbox.pd.respond_late("/incidents", 1.5)
    sandbox.pd.duplicate_deliveries = 3
    await _click(sandbox, message, "pd_acknowledge", "U0ALICE")
    await until(lambda: len(sandbox.pd.delivered("incident.acknowledged")) == 3, what="three echoes")
    await until(lambda: reply_texts(message), what="timeline reply")
    await until(lambda: not any("acknowledging" in str(b) for b in message.blocks), what="pending cleared")
    assert reply_texts(message) == [":heavy_check_mark: Acknowledged by <@U0ALICE> from Slack"]
    assert _writes_from(sandbox) == ["alice@example.com"]


async def test_double_click_writes_once(sandbox: Sandbox) -> None:
    _, message = await _incident(sandbox)
    await _click(sandbox, message, "pd_acknowledge", "U0ALICE")
    await _click(sandbox, message, "pd_acknowledge", "U0ALICE")
    await until(lambda: status_of(message) == "acknowledged", what="acknowledged")
    await until(lambda: reply_texts(message), what="timeline reply")
    await sandbox.pd.wait_idle(10)
    assert _writes_from(sandbox) == ["alice@example.com"]
    assert len(_ephemerals_for(sandbox, "U0ALICE")) == 1


async def test_channel_page_controls_reach_the_bridge(sandbox: Sandbox) -> None:
    """The simulated channel's web page posts clicks to /_sim/click; the bridge receives them signed."""
    incident, message = await _incident(sandbox)
    slack_url = sandbox.slack.public_url
    async with httpx.AsyncClient() as client:
        page = await client.get(f"{slack_url}/channels/{CHANNEL}")
        clicked = await client.post(f"{slack_url}/_sim/click", json={
            "channel": CHANNEL, "ts": message.ts, "action_id": "pd_acknowledge", "user_id": "U0BOB"})
    assert page.status_code == 200 and "payments-oncall" in page.text
    assert clicked.status_code == 200, clicked.text
    await until(lambda: status_of(message) == "acknowledged", what="acknowledged from the page")
    assert _writes_from(sandbox) == ["bob@example.com"]
    assert sandbox.pd.incidents[incident].status == "acknowledged"


async def test_a_deliberate_repeat_note_is_posted_again(sandbox: Sandbox) -> None:
    incident, message = await _incident(sandbox)
    earlier = sandbox.pd.add_note(incident, "PUALICE", "still investigating")
    earlier.created_at = (datetime.now(UTC) - timedelta(minutes=10)).isoformat()  # written ten minutes ago
    await _write_note(sandbox, message, "U0ALICE", "still investigating")
    await until(lambda: len(sandbox.pd.incidents[incident].notes) == 2, what="second note in PagerDuty")
    assert _writes_from(sandbox) == ["alice@example.com"]


async def test_click_on_a_message_whose_workflow_is_gone_reuses_that_message(sandbox: Sandbox) -> None:
    incident, message = await _incident(sandbox)
    assert sandbox.client is not None
    await sandbox.client.get_workflow_handle(f"pd-incident-{incident}").terminate("operator reset")
    await _click(sandbox, message, "pd_acknowledge", "U0ALICE")
    await until(lambda: status_of(message) == "acknowledged", what="the original message updated")
    await until(lambda: reply_texts(message), what="reply in the original thread")
    assert reply_texts(message) == [":heavy_check_mark: Acknowledged by <@U0ALICE> from Slack"]
    assert len(sandbox.slack.messages(CHANNEL)) == 1
    assert _writes_from(sandbox) == ["alice@example.com"]


async def test_echo_that_never_comes_is_repaired_by_a_read(make_sandbox: SandboxFactory) -> None:
    async with make_sandbox(Timing(confirmation_deadline_seconds=2)) as sb:
        incident, message = await _incident(sb)
        # Acknowledge in a later second than the trigger: in the same second PagerDuty's REST answer
        # (whole seconds) cannot be ordered against the trigger webhook and the bridge reads at once.
        await asyncio.sleep(1.1)
        sb.pd.drop_next_webhooks(1)  # the acknowledge's webhook is lost
        await _click(sb, message, "pd_acknowledge", "U0ALICE")
        await until(lambda: status_of(message) == "acknowledged", what="acknowledged from the PUT answer")
        put_at = next(r.at for r in sb.pd.requests if r.method == "PUT")
        read = await until(lambda: next((r for r in sb.pd.requests if r.method == "GET" and r.at > put_at + 1.5
                                         and r.path == f"/incidents/{incident}"), None),
                           timeout=30, what="a re-read after the confirmation deadline")
        assert read.at - put_at >= 2.0
        assert reply_texts(message) == [":heavy_check_mark: Acknowledged by <@U0ALICE> from Slack"]
