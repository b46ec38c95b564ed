"""Status updates over real HTTP: the Update status form in the simulated Slack, the status update posted in
the simulated PagerDuty as the person, its webhook taken as the echo; one made in PagerDuty shown once."""

from __future__ import annotations

from ops.sandbox import Sandbox
from simulators._slack_model import Message
from tests.e2e.conftest import first_root, reply_texts, until
from tests.e2e.test_write_path import _replay_last_interaction

CHANNEL = "C0PAYMENTS"
TYPED = "Rolled back <!here> & *fixed* <@U0BOB>"
SHOWN = "Rolled back &lt;!here&gt; &amp; *fixed* &lt;@U0BOB&gt;"


async def _incident(sb: Sandbox) -> tuple[str, Message]:
    incident = sb.pd.trigger("PSVC001", "Card payments failing")
    message = await until(lambda: first_root(sb, CHANNEL), what="root message")
    return incident, message


async def _post_status(sb: Sandbox, message: Message, user: str, text: str) -> None:
    """Click Update status, wait for the form the bridge opens, and submit it."""
    status, body = await sb.slack.click(CHANNEL, message.ts, "pd_status_update", user)
    assert status == 200, body
    view = await until(lambda: next((v for v in sb.slack.views if v.user_id == user and not v.closed), None),
                       what="status update form")
    assert view.view["callback_id"] == "pd_status_update_modal"
    values = {"pd_status": {"pd_status_text": {"type": "plain_text_input", "value": text}}}
    status, body = await sb.slack.submit_view(view.id, user, values)
    assert status == 200, body


def _published(sb: Sandbox, incident: str) -> list[tuple[str, str]]:
    return [(u.message, u.user_id) for u in sb.pd.incident_status_updates(incident)]


def _writes(sb: Sandbox) -> list[tuple[str, str | None]]:
    return [(r.path, r.headers.get("from")) for r in sb.pd.writes() if not r.path.startswith("/_sim")]


async def test_a_status_update_from_slack_is_published_once_as_the_person_and_shown_once(sandbox: Sandbox) -> None:
    incident, message = await _incident(sandbox)
    assert any(e.get("action_id") == "pd_status_update" for b in message.blocks if b["type"] == "actions"
               for e in b["elements"])
    sandbox.pd.respond_late(f"/incidents/{incident}/status_updates", 1.5)  # the echo comes before the answer
    sandbox.pd.duplicate_deliveries = 2
    await _post_status(sandbox, message, "U0ALICE", TYPED)
    await _replay_last_interaction(sandbox)  # Slack delivering the same submission again
    await until(lambda: len(sandbox.pd.delivered("incident.status_update_published")) == 2, what="two echoes")
    await until(lambda: reply_texts(message), what="the status update in the thread")
    await sandbox.pd.wait_idle(10)
    assert _published(sandbox, incident) == [(TYPED, "PUALICE")]
    assert _writes(sandbox) == [(f"/incidents/{incident}/status_updates", "alice@example.com")]
    assert reply_texts(message) == [f":mega: Status update by <@U0ALICE> from Slack: {SHOWN}"]


async def test_an_echo_that_comes_long_after_the_answer_is_still_no_second_line(sandbox: Sandbox) -> None:
    incident, message = await _incident(sandbox)
    sandbox.pd.hold_incident(incident)
    await _post_status(sandbox, message, "U0ALICE", "Fix deployed, watching")
    await until(lambda: reply_texts(message), what="the status update in the thread")
    assert sandbox.pd.release_incident(incident) == 1
    await until(lambda: sandbox.pd.delivered("incident.status_update_published"), what="the late echo")
    await sandbox.pd.wait_idle(10)
    sandbox.pd.add_note(incident, "PUBOB01", "seen it")  # handled after the echo by the incident's workflow
    await until(lambda: len(reply_texts(message)) >= 2, what="the note after the echo")
    assert reply_texts(message) == [":mega: Status update by <@U0ALICE> from Slack: Fix deployed, watching",
                                    ":memo: Note by <@U0BOB> in PagerDuty: seen it"]


async def test_a_status_update_made_in_pagerduty_is_shown_once_credited_to_its_author(sandbox: Sandbox) -> None:
    incident, message = await _incident(sandbox)
    sandbox.pd.duplicate_deliveries = 3
    sandbox.pd.publish_status_update(incident, "PUBOB01", "Customers may see 504s <!channel>")
    await until(lambda: reply_texts(message), what="the status update in the thread")
    await sandbox.pd.wait_idle(10)
    assert len(sandbox.pd.delivered("incident.status_update_published")) == 3
    assert reply_texts(message) == [
        ":mega: Status update by <@U0BOB> in PagerDuty: Customers may see 504s &lt;!channel&gt;"]


async def test_someone_of_another_team_is_refused_and_nothing_is_published(sandbox: Sandbox) -> None:
    incident, message = await _incident(sandbox)
    await _post_status(sandbox, message, "U0CAROL", "All good")
    told = await until(lambda: [e.text for e in sandbox.slack.ephemerals if e.user == "U0CAROL"], what="refusal")
    assert "only people on the Payments team can act on this incident" in told[0]
    assert _published(sandbox, incident) == [] and _writes(sandbox) == []


async def test_a_failed_status_update_is_told_to_the_person(sandbox: Sandbox) -> None:
    incident, message = await _incident(sandbox)
    sandbox.pd.fail(f"/incidents/{incident}/status_updates", 400, count=1,
                    body={"error": {"message": "Invalid Input Provided", "code": 2001, "errors": ["Too long"]}})
    await _post_status(sandbox, message, "U0ALICE", "Update")
    told = await until(lambda: [e.text for e in sandbox.slack.ephemerals if e.user == "U0ALICE"], what="told")
    assert "Posting a status update for <@U0ALICE> failed" in told[0] and "Too long" in told[0]
    assert _published(sandbox, incident) == []
