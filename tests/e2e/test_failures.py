"""The bridge on its worst day: outages, rate limits, refusals, a dead worker, Temporal gone."""

from __future__ import annotations

import json

import httpx

from api.app import create_app
from api.signatures import pagerduty_signature
from ops.sandbox import Sandbox
from settings import Timing
from simulators._slack_model import Message
from simulators.server import ServedApp
from tests.e2e.conftest import SandboxFactory, first_root, reply_texts, status_of, until

CHANNEL = "C0PAYMENTS"


async def _incident(sb: Sandbox, title: str = "Payments failing") -> tuple[str, Message]:
    incident = sb.pd.trigger("PSVC001", title)
    return incident, await until(lambda: first_root(sb, CHANNEL), what="root message")


def _puts(sb: Sandbox) -> list[tuple[int, str | None, float]]:
    return [(r.status, r.headers.get("from"), r.at) for r in sb.pd.requests if r.method == "PUT"]


def _shows(message: Message, text: str) -> bool:
    return text in json.dumps(message.blocks)


async def test_pagerduty_outage_window_then_recovery_lands_the_action_once(sandbox: Sandbox) -> None:
    incident, message = await _incident(sandbox)
    sandbox.pd.fail("/incidents/", 503, seconds=3, method="PUT")
    await sandbox.slack.click(CHANNEL, message.ts, "pd_acknowledge", "U0ALICE")
    await until(lambda: _shows(message, "PagerDuty API unavailable"), what="retrying shown in the message")
    await until(lambda: status_of(message) == "acknowledged", timeout=30, what="acknowledged after recovery")
    await until(lambda: reply_texts(message), what="timeline reply")
    landed = [p for p in _puts(sandbox) if p[0] == 200]
    assert len(landed) == 1 and landed[0][1] == "alice@example.com"
    assert len(_puts(sandbox)) >= 2  # at least one refused attempt before it landed
    assert sandbox.pd.incidents[incident].status == "acknowledged"
    assert reply_texts(message) == [":heavy_check_mark: Acknowledged by <@U0ALICE> from Slack"]


async def test_pagerduty_down_past_the_deadline_is_a_visible_failure(make_sandbox: SandboxFactory) -> None:
    async with make_sandbox(Timing(action_deadline_seconds=4)) as sb:
        _, message = await _incident(sb)
        sb.pd.fail("/incidents/", 503, method="PUT")
        await sb.slack.click(CHANNEL, message.ts, "pd_resolve", "U0ALICE")
        await until(lambda: reply_texts(message), timeout=30, what="failure reply")
        reply = reply_texts(message)[0]
        assert reply.startswith(":warning: Resolving for <@U0ALICE> failed: ")
        assert "gave up after" in reply and "PagerDuty last showed the incident as *triggered*" in reply
        assert any(e.user == "U0ALICE" and "failed" in e.text for e in sb.slack.ephemerals)
        await until(lambda: _shows(message, "failed"), what="failure shown in the message")
        assert status_of(message) == "triggered"


async def test_permanent_refusal_is_explained_and_not_retried(sandbox: Sandbox) -> None:
    _, message = await _incident(sandbox)
    refusal = {"error": {"message": "Incident Already Merged", "code": 1019}}
    sandbox.pd.fail("/incidents/", 400, method="PUT", body=refusal)
    await sandbox.slack.click(CHANNEL, message.ts, "pd_acknowledge", "U0ALICE")
    await until(lambda: reply_texts(message), what="refusal reply")
    assert "PagerDuty refused" in reply_texts(message)[0]
    assert "already merged into another incident" in reply_texts(message)[0]
    assert len(_puts(sandbox)) == 1


async def test_pagerduty_rate_limit_waits_for_ratelimit_reset(sandbox: Sandbox) -> None:
    _, message = await _incident(sandbox)
    sandbox.pd.fail("/incidents/", 429, count=1, method="PUT", headers={"ratelimit-reset": "2"})
    await sandbox.slack.click(CHANNEL, message.ts, "pd_acknowledge", "U0ALICE")
    await until(lambda: status_of(message) == "acknowledged", timeout=30, what="acknowledged")
    (limited, _, first), (ok, _, second) = _puts(sandbox)
    assert (limited, ok) == (429, 200)
    assert second - first >= 2.0


async def test_slack_rate_limit_honours_retry_after_and_ends_on_the_latest_state(sandbox: Sandbox) -> None:
    incident, message = await _incident(sandbox)
    sandbox.slack.rate_limit("chat.update", count=1, retry_after=2)
    sandbox.pd.acknowledge(incident, "PUALICE")
    sandbox.pd.resolve(incident, "PUALICE")
    await until(lambda: status_of(message) == "resolved", timeout=30, what="resolved message")
    updates = sandbox.slack.calls_to("chat.update")
    limited = next(i for i, c in enumerate(updates) if c.error == "ratelimited")
    assert updates[limited + 1].time - updates[limited].time >= 2.0
    assert len(updates) <= 4  # coalesced: never one update per intermediate event after the limit
    assert not any(b["type"] == "actions" for b in message.blocks)


async def test_unusable_routed_channel_falls_back_to_default_and_is_counted(sandbox: Sandbox) -> None:
    sandbox.slack.fail("chat.postMessage", "channel_not_found", count=1)
    sandbox.pd.trigger("PSVC001", "Routed channel was archived")
    message = await until(lambda: first_root(sandbox, "C0DEFAULT"), what="message in the default channel")
    assert "Routed channel was archived" in message.text
    async with httpx.AsyncClient() as client:
        metrics = (await client.get(f"{sandbox.api_url}/metrics")).text
    assert 'bridge_slack_errors_total{error="channel_not_found",method="post incident message"}' in metrics


async def test_worker_killed_mid_incident_converges_after_restart(sandbox: Sandbox) -> None:
    incident, message = await _incident(sandbox, "Worker outage")
    await sandbox.stop_worker()
    sandbox.pd.acknowledge(incident, "PUBOB01")
    sandbox.pd.add_note(incident, "PUBOB01", "Looking")
    sandbox.pd.resolve(incident, "PUBOB01")
    await sandbox.pd.wait_idle(10)
    assert all(d.result == 202 for d in sandbox.pd.deliveries)  # accepted although no worker runs
    assert status_of(message) == "triggered" and message.replies == []
    await sandbox.start_worker()
    await until(lambda: status_of(message) == "resolved" and len(reply_texts(message)) >= 3, timeout=30,
                what="converged timeline")
    assert reply_texts(message) == [
        ":eyes: Acknowledged by <@U0BOB> in PagerDuty",
        ":memo: Note by <@U0BOB> in PagerDuty: Looking",
        ":white_check_mark: Resolved by <@U0BOB> in PagerDuty",
    ]
    assert len(sandbox.slack.messages(CHANNEL)) == 1


async def test_temporal_unreachable_answers_503_so_pagerduty_retries(sandbox: Sandbox) -> None:
    settings = sandbox.settings.model_copy(update={"temporal_address": "127.0.0.1:9"})
    body = b'{"event": {"id": "E1", "event_type": "incident.acknowledged", "resource_type": "incident", ' \
           b'"occurred_at": "2026-11-26T12:00:00.000Z", "agent": null, "data": {"id": "PX1", "type": "incident", ' \
           b'"status": "acknowledged"}}}'
    secret = settings.webhook_secrets()[0]
    with ServedApp(create_app(settings, sandbox.config)) as api:
        async with httpx.AsyncClient() as client:
            response = await client.post(f"{api.url}/pagerduty/webhooks", content=body,
                                         headers={"X-PagerDuty-Signature": pagerduty_signature(body, secret)})
            ready = await client.get(f"{api.url}/readyz")
            alive = await client.get(f"{api.url}/healthz")
    assert response.status_code == 503 and "PagerDuty will retry" in response.text
    assert ready.status_code == 503 and alive.status_code == 200


async def test_search_attributes_are_set_and_filterable(sandbox: Sandbox) -> None:
    incident, message = await _incident(sandbox)
    sandbox.pd.acknowledge(incident, "PUALICE")
    await until(lambda: status_of(message) == "acknowledged", what="acknowledged")
    assert sandbox.client is not None
    query = f'IncidentStatus = "acknowledged" AND PdIncidentId = "{incident}" AND PdServiceId = "PSVC001"'

    async def listed() -> list[str]:
        assert sandbox.client is not None
        return [w.id async for w in sandbox.client.list_workflows(query)]

    found: list[str] = []
    for _ in range(100):
        found = await listed()
        if found:
            break
        await until(lambda: True)
    assert found == [f"pd-incident-{incident}"]


async def test_click_while_temporal_is_unreachable_tells_the_person(sandbox: Sandbox) -> None:
    _, message = await _incident(sandbox)
    settings = sandbox.settings.model_copy(update={"temporal_address": "127.0.0.1:9"})
    with ServedApp(create_app(settings, sandbox.config)) as api:
        sandbox.slack.interactions_url = f"{api.url}/slack/interactions"
        status, _ = await sandbox.slack.click(CHANNEL, message.ts, "pd_acknowledge", "U0ALICE")
        told = await until(lambda: [e.text for e in sandbox.slack.ephemerals if e.user == "U0ALICE"],
                           what="ephemeral to the clicker")
    assert status == 200
    assert "Nothing was sent to PagerDuty" in told[0]
    assert sandbox.pd.writes() == []


async def test_deleted_incident_message_is_posted_again(sandbox: Sandbox) -> None:
    incident, first = await _incident(sandbox)
    sandbox.slack.fail("chat.update", "message_not_found", count=1)
    sandbox.pd.acknowledge(incident, "PUALICE")
    reposted = await until(lambda: next((m for m in sandbox.slack.messages(CHANNEL) if m.ts != first.ts), None),
                           what="a new incident message")
    await until(lambda: status_of(reposted) == "acknowledged", what="the new message up to date")


async def test_note_dialog_that_slack_will_not_open_is_explained(sandbox: Sandbox) -> None:
    _, message = await _incident(sandbox)
    sandbox.slack.fail("views.open", "expired_trigger_id", count=1)
    await sandbox.slack.click(CHANNEL, message.ts, "pd_add_note", "U0ALICE")
    told = await until(lambda: [e.text for e in sandbox.slack.ephemerals if e.user == "U0ALICE"],
                       what="ephemeral explanation")
    assert "expired_trigger_id" in told[0] and "nothing was sent to PagerDuty" in told[0]
