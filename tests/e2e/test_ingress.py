"""The API's front door over real HTTP: signatures first, then size and shape, with actionable errors."""

from __future__ import annotations

import json
import time
from pathlib import Path
from urllib.parse import urlencode

import httpx

from api.signatures import pagerduty_signature
from ops.sandbox import Sandbox
from tests.conftest import SHARED
from tests.e2e.conftest import first_root, reply_texts, status_of, until
from tests.e2e.signed import post_slack, post_webhook, slack_form

CAPTURES = SHARED / "third_party" / "pagerduty-webhooks-v3"


async def test_bad_pagerduty_signature_is_401_before_anything_else(sandbox: Sandbox) -> None:
    body = Path(CAPTURES / "acknowledged_v3.json").read_bytes()
    response = await post_webhook(sandbox, body, signature=pagerduty_signature(body, "some-other-secret"))
    assert response.status_code == 401 and "does not match" in response.json()["error"]
    garbage = await post_webhook(sandbox, b"not json at all", signature="v1=00")
    assert garbage.status_code == 401  # the signature is checked before the body is parsed


async def test_malformed_but_signed_webhook_is_400_with_a_reason(sandbox: Sandbox) -> None:
    response = await post_webhook(sandbox, b'{"event": {"id": "x"}}')
    assert response.status_code == 400 and "not a PagerDuty v3 webhook" in response.json()["error"]


async def test_oversized_webhook_is_413(sandbox: Sandbox) -> None:
    body = b'{"event": ' + b" " * (1024 * 1024) + b"{}}"
    response = await post_webhook(sandbox, body)
    assert response.status_code == 413


async def test_non_incident_events_are_accepted_and_ignored(sandbox: Sandbox) -> None:
    body = (SHARED / "third_party" / "signature-vectors" / "pagerduty_alda_ping_body.json").read_bytes()
    response = await post_webhook(sandbox, body)
    assert response.status_code == 202 and response.json()["status"] == "ignored"


async def test_real_captured_webhook_is_accepted_once_temporal_has_it(sandbox: Sandbox) -> None:
    response = await post_webhook(sandbox, (CAPTURES / "triggered_v3.json").read_bytes())
    assert response.status_code == 202 and response.json() == {"status": "accepted", "incident": "PFQZPSY"}
    assert sandbox.client is not None
    description = await sandbox.client.get_workflow_handle("pd-incident-PFQZPSY").describe()
    assert description.workflow_type == "IncidentWorkflow"


async def test_slack_stale_timestamp_and_wrong_secret_are_401(sandbox: Sandbox) -> None:
    body = urlencode({"payload": json.dumps({"type": "block_actions", "user": {"id": "U0ALICE"}})}).encode()
    stale = await post_slack(sandbox, body, timestamp=int(time.time()) - 301)
    wrong = await post_slack(sandbox, body, secret="not-the-signing-secret")
    assert stale.status_code == 401 and "stale" in stale.json()["error"]
    assert wrong.status_code == 401 and wrong.json()["error"] == "bad Slack signature"


async def test_slack_malformed_payload_is_400(sandbox: Sandbox) -> None:
    response = await post_slack(sandbox, b"payload=%7Bnot-json")
    assert response.status_code == 400 and "payload" in response.json()["error"]


async def test_empty_note_gets_an_inline_error_and_nothing_is_sent(sandbox: Sandbox) -> None:
    view = {"id": "V1", "callback_id": "pd_add_note_modal",
            "private_metadata": json.dumps({"incident_id": "PNOPE01", "channel": "C0PAYMENTS"}),
            "state": {"values": {"pd_note": {"pd_note_text": {"type": "plain_text_input", "value": "   "}}}}}
    body = urlencode({"payload": json.dumps({"type": "view_submission", "user": {"id": "U0ALICE"},
                                             "view": view})}).encode()
    response = await post_slack(sandbox, body)
    assert response.status_code == 200
    assert response.json() == {"response_action": "errors", "errors": {"pd_note": "Write something first."}}
    assert sandbox.pd.writes() == []


async def test_health_and_readiness(sandbox: Sandbox) -> None:
    async with httpx.AsyncClient() as client:
        alive = await client.get(f"{sandbox.api_url}/healthz")
        ready = await client.get(f"{sandbox.api_url}/readyz")
        metrics = await client.get(f"{sandbox.api_url}/metrics")
    assert alive.status_code == 200 and ready.json() == {"status": "ready", "temporal": "reachable"}
    assert "bridge_pagerduty_webhooks_total" in metrics.text
    assert "bridge_oldest_pending_command_seconds" in metrics.text


async def test_naive_timestamp_is_refused_and_the_incident_keeps_working(sandbox: Sandbox) -> None:
    incident = sandbox.pd.trigger("PSVC001", "Naive timestamps")
    message = await until(lambda: first_root(sandbox, "C0PAYMENTS"), what="root message")
    event = json.loads((CAPTURES / "acknowledged_v3.json").read_bytes())
    event["event"].update(occurred_at="2026-12-01T12:00:00", id="01NAIVE")
    event["event"]["data"].update(id=incident)
    refused = await post_webhook(sandbox, json.dumps(event).encode())
    assert refused.status_code == 400
    assert "event.occurred_at" in refused.json()["error"] and "no timezone" in refused.json()["error"]
    sandbox.pd.acknowledge(incident, "PUBOB01")  # a later, valid webhook for the same incident
    await until(lambda: status_of(message) == "acknowledged", what="acknowledged after the refused webhook")
    await until(lambda: reply_texts(message), what="thread reply")
    assert reply_texts(message) == [":eyes: Acknowledged by <@U0BOB> in PagerDuty"]


ODD_SLACK = {
    "actions not a list": {"type": "block_actions", "user": {"id": "U0ALICE"}, "actions": "pd_resolve"},
    "user missing": {"type": "block_actions", "actions": [{"action_id": "pd_resolve", "value": "PINC001"}]},
    "user not an object": {"type": "block_actions", "user": "U0ALICE",
                           "actions": [{"action_id": "pd_resolve", "value": "PINC001"}]},
    "view missing": {"type": "view_submission", "user": {"id": "U0ALICE"}},
    "metadata not JSON": {"type": "view_submission", "user": {"id": "U0ALICE"}, "view": {
        "callback_id": "pd_add_note_modal", "private_metadata": "PINC001"}},
    "metadata not an object": {"type": "view_submission", "user": {"id": "U0ALICE"}, "view": {
        "callback_id": "pd_add_note_modal", "private_metadata": '["PINC001"]'}},
    "incident id not an id": {"type": "block_actions", "user": {"id": "U0ALICE"},
                              "actions": [{"action_id": "pd_resolve", "value": "P" * 1001}]},
}


async def test_odd_signed_slack_payloads_are_refused_with_a_reason(sandbox: Sandbox) -> None:
    answers = {name: await post_slack(sandbox, slack_form(payload)) for name, payload in ODD_SLACK.items()}
    answers["nested 100k deep"] = await post_slack(sandbox, b"payload=" + b"%5B" * 100_000)
    assert {name: r.status_code for name, r in answers.items()} == dict.fromkeys(answers, 400)
    assert all(r.json()["error"] for r in answers.values())
    assert sandbox.pd.writes() == []
