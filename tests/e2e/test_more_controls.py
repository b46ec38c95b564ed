"""Snooze, priority and add-responder over real HTTP: attribution, authorization, echoes, failures; and the
thread line of an incident triggered from Slack."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from ops.sandbox import Sandbox
from simulators._slack_model import Message
from tests.e2e.conftest import first_root, reply_texts, status_of, until

CHANNEL = "C0PAYMENTS"


async def _incident(sb: Sandbox) -> tuple[str, Message]:
    incident = sb.pd.trigger("PSVC001", "Card payments failing")
    message = await until(lambda: first_root(sb, CHANNEL), what="root message")
    return incident, message


async def _acknowledged(sb: Sandbox) -> tuple[str, Message]:
    incident, message = await _incident(sb)
    sb.pd.acknowledge(incident, "PUBOB01")
    await until(lambda: status_of(message) == "acknowledged", what="acknowledged")
    await until(lambda: reply_texts(message), what="acknowledge reply")
    return incident, message


async def _click(sb: Sandbox, message: Message, action_id: str, user: str, **extra: str) -> None:
    status, body = await sb.slack.click(CHANNEL, message.ts, action_id, user, **extra)
    assert status == 200, body


def _writes(sb: Sandbox) -> list[tuple[str, str | None]]:
    return [(r.path, r.headers.get("from")) for r in sb.pd.writes() if not r.path.startswith("/_sim")]


def _told(sb: Sandbox, user: str) -> list[str]:
    return [e.text for e in sb.slack.ephemerals if e.user == user]


async def _settled(sb: Sandbox, message: Message, count: int) -> list[str]:
    await sb.pd.wait_idle(10)
    await until(lambda: len(reply_texts(message)) >= count, what=f"{count} replies")
    return reply_texts(message)


async def test_priority_is_set_as_the_clicker_and_its_echo_is_not_external(sandbox: Sandbox) -> None:
    incident, message = await _incident(sandbox)
    await _click(sandbox, message, "pd_priority", "U0ALICE", selected_option="PPRIO01")
    await until(lambda: sandbox.pd.delivered("incident.priority_updated"), what="priority echo")
    assert await _settled(sandbox, message, 1) == [":label: Priority set to P1 by <@U0ALICE> from Slack"]
    assert sandbox.pd.incidents[incident].priority_id == "PPRIO01"
    assert _writes(sandbox) == [(f"/incidents/{incident}", "alice@example.com")]
    await until(lambda: "/ P1" in str(message.blocks), what="priority shown in the message")


async def test_priority_control_lists_the_accounts_priorities(sandbox: Sandbox) -> None:
    _, message = await _incident(sandbox)
    more = next(b for b in message.blocks if b.get("block_id", "").endswith(":more"))
    select = next(e for e in more["elements"] if e["action_id"] == "pd_priority")
    assert [o["text"]["text"] for o in select["options"]] == ["P1", "P2", "P3", "P4", "P5"]
    assert not any(e["action_id"] == "pd_snooze" for e in more["elements"])  # only once acknowledged


async def test_snooze_is_sent_as_the_clicker_and_its_end_is_explained(sandbox: Sandbox) -> None:
    incident, message = await _acknowledged(sandbox)
    await _click(sandbox, message, "pd_snooze", "U0ALICE", selected_option="3600")
    lines = await _settled(sandbox, message, 2)
    assert lines[1] == (":zzz: Snoozed for 1 h by <@U0ALICE> from Slack; PagerDuty triggers it again when the "
                        "snooze ends")
    assert _writes(sandbox) == [(f"/incidents/{incident}/snooze", "alice@example.com")]
    assert sandbox.pd.incidents[incident].snoozed_until is not None
    sandbox.pd.end_snooze(incident)
    await until(lambda: status_of(message) == "triggered", what="triggered again")
    lines = await _settled(sandbox, message, 3)
    assert lines[2] == (":alarm_clock: The snooze <@U0ALICE> set from Slack ended: PagerDuty triggered the "
                        "incident again")


async def test_a_snoozed_incident_shows_until_when(sandbox: Sandbox) -> None:
    """Not only "Acknowledged": the status says until when it is snoozed, in each reader's time zone."""
    incident, message = await _acknowledged(sandbox)
    await _click(sandbox, message, "pd_snooze", "U0ALICE", selected_option="3600")
    await _settled(sandbox, message, 2)
    status = await until(lambda: next((f["text"] for b in message.blocks for f in b.get("fields", [])
                                       if f["text"].startswith("*Status*") and "snoozed" in f["text"]), None),
                         what="the snooze in the message's status")
    snoozed = sandbox.pd.incidents[incident].snoozed_until
    assert snoozed is not None
    until_pd = datetime.fromisoformat(snoozed.replace("Z", "+00:00"))
    shown = re.fullmatch(r"\*Status\*\n:large_yellow_circle: Acknowledged\n:zzz: snoozed until "
                         r"<!date\^(\d+)\^\{time\}\|(\d\d:\d\d) UTC>", status)
    assert shown is not None, status
    at = datetime.fromtimestamp(int(shown[1]), UTC)
    assert abs((at - until_pd).total_seconds()) < 60 and shown[2] == f"{at:%H:%M}"
    sandbox.pd.end_snooze(incident)
    await until(lambda: status_of(message) == "triggered", what="triggered again")
    assert "snoozed" not in str(message.blocks)


async def test_snooze_refused_by_pagerduty_is_explained(sandbox: Sandbox) -> None:
    _, message = await _acknowledged(sandbox)
    refusal = {"error": {"message": "Snooze Duration is Invalid", "code": 1013}}
    sandbox.pd.fail("/incidents/", 400, method="POST", body=refusal)
    await _click(sandbox, message, "pd_snooze", "U0ALICE", selected_option="86400")
    lines = await _settled(sandbox, message, 2)
    assert lines[1].startswith(":warning: Snoozing for <@U0ALICE> failed: ") and "snooze length" in lines[1]
    await until(lambda: _told(sandbox, "U0ALICE"), what="ephemeral failure")
    await until(lambda: ":warning: Snoozing for <@U0ALICE> failed" in str(message.blocks),
                what="failure shown in the message")


async def test_responder_is_asked_as_the_clicker_and_its_echo_is_not_external(sandbox: Sandbox) -> None:
    incident, message = await _incident(sandbox)
    await _click(sandbox, message, "pd_add_responder", "U0ALICE", selected_user="U0BOB")
    await until(lambda: sandbox.pd.delivered("incident.responder.added"), what="responder echo")
    number = sandbox.pd.incidents[incident].number
    assert await _settled(sandbox, message, 1) == [
        f":sos: <@U0ALICE> asked <@U0BOB> to respond, from Slack: Please help with #{number}"]
    request = sandbox.pd.incidents[incident].responders[0]
    assert request["requester"]["id"] == "PUALICE" and request["user"]["id"] == "PUBOB01"
    assert _writes(sandbox) == [(f"/incidents/{incident}/responder_requests", "alice@example.com")]


async def test_other_team_is_refused_and_admin_allowed(sandbox: Sandbox) -> None:
    incident, message = await _incident(sandbox)
    await _click(sandbox, message, "pd_priority", "U0CAROL", selected_option="PPRIO02")
    told = await until(lambda: _told(sandbox, "U0CAROL"), what="refusal")
    assert "only people on the Payments team can act on this incident" in told[0]
    await _click(sandbox, message, "pd_add_responder", "U0LEAD", selected_user="U0BOB")
    await until(lambda: _writes(sandbox), what="admin's write")
    assert _writes(sandbox) == [(f"/incidents/{incident}/responder_requests", "lead@example.com")]
    assert sandbox.pd.incidents[incident].priority_id is None


async def test_trigger_from_slack_names_the_person_and_monitoring_does_not(sandbox: Sandbox) -> None:
    sandbox.pd.trigger("PSVC001", "From the slash command", agent_user_id="PUALICE", incident_key="slack-0a1b2c")
    ours = await until(lambda: first_root(sandbox, CHANNEL), what="root message")
    assert await _settled(sandbox, ours, 1) == [":rotating_light: Triggered by <@U0ALICE> from Slack"]
    sandbox.pd.trigger("PSVC002", "From monitoring")
    monitored = await until(lambda: first_root(sandbox, "C0PLATFORM"), what="second root message")
    await sandbox.pd.wait_idle(10)
    assert reply_texts(monitored) == []
