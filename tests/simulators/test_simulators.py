"""The simulators over real loopback HTTP: what the end-to-end tests and the sandbox demo rely on."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import httpx
import pytest
from fastapi import FastAPI, Request, Response
from slack_sdk.errors import SlackApiError
from slack_sdk.signature import SignatureVerifier
from slack_sdk.web.async_client import AsyncWebClient

from simulators.pagerduty import PagerDutySimulator
from simulators.server import ServedApp, stop_all
from simulators.slack import SlackSimulator

TOKEN = "pd-test-token"
AUTH = {"Authorization": f"Token token={TOKEN}"}
SECRETS = ["whsec-old", "whsec-new"]
SIGNING_SECRET = "slack-signing-secret"
BOT_TOKEN = "xoxb-sim-bot"
V3_FIXTURES = Path(__file__).resolve().parents[3] / "shared" / "third_party" / "pagerduty-webhooks-v3"


class Receiver:
    """A tiny served endpoint standing in for the bridge: records requests, answers scripted statuses."""

    def __init__(self) -> None:
        self.hits: list[tuple[dict[str, str], bytes]] = []
        self.statuses: list[int] = []
        self.reply = ""
        self.app = FastAPI()

        @self.app.post("/hook")
        async def hook(request: Request) -> Response:
            self.hits.append((dict(request.headers), await request.body()))
            status = self.statuses.pop(0) if self.statuses else 200
            return Response(self.reply, status_code=status, media_type="application/json")

    def events(self) -> list[dict[str, Any]]:
        return [json.loads(body)["event"] for _, body in self.hits]


@pytest.fixture
def pd() -> Iterator[tuple[PagerDutySimulator, httpx.AsyncClient, Receiver]]:
    rec = Receiver()
    bridge = ServedApp(rec.app).start()
    sim = PagerDutySimulator(TOKEN, webhook_url=bridge.url + "/hook", webhook_secret=SECRETS)
    sim.seed_demo()
    sim.retry_initial_delay = 0.01
    served = ServedApp(sim.app).start()
    yield sim, httpx.AsyncClient(base_url=served.url, headers=AUTH), rec
    stop_all(served, bridge)
    sim.close()


def put(status: str | None = None, **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"type": "incident_reference", **extra}
    if status:
        body["status"] = status
    return {"incident": body}


async def test_rest_requires_the_configured_token(pd: tuple[PagerDutySimulator, httpx.AsyncClient, Receiver]) -> None:
    sim, client, _rec = pd
    incident_id = sim.trigger("PSVC001", "Checkout latency")
    async with httpx.AsyncClient(base_url=str(client.base_url)) as anonymous:
        missing = await anonymous.get(f"/incidents/{incident_id}")
        wrong = await anonymous.get(f"/incidents/{incident_id}", headers={"Authorization": "Token token=nope"})
    assert missing.status_code == wrong.status_code == 401
    assert missing.json() == {"error": {"message": "Unauthorized", "code": 2006}}
    ok = await client.get(f"/incidents/{incident_id}")
    incident = ok.json()["incident"]
    assert incident["status"] == "triggered" and incident["incident_number"] == 1
    assert incident["html_url"] == f"https://sim.pagerduty.local/incidents/{incident_id}"
    assert [a["assignee"]["id"] for a in incident["assignments"]] == ["PUALICE"]
    assert [t["id"] for t in incident["teams"]] == ["PTPAY01"]
    assert (await client.get("/incidents/PNOPE00")).json()["error"]["code"] == 2100
    await client.aclose()


async def test_put_requires_from_and_is_recorded(pd: tuple[PagerDutySimulator, httpx.AsyncClient, Receiver]) -> None:
    sim, client, _rec = pd
    incident_id = sim.trigger("PSVC001", "Checkout latency")
    no_from = await client.put(f"/incidents/{incident_id}", json=put("acknowledged"))
    assert no_from.status_code == 400 and no_from.json()["error"]["code"] == 2016
    stranger = await client.put(f"/incidents/{incident_id}", json=put("acknowledged"), headers={"From": "x@y.z"})
    assert stranger.json()["error"]["code"] == 1008
    acked = await client.put(f"/incidents/{incident_id}", json=put("acknowledged"), headers={"From": "bob@example.com"})
    assert acked.status_code == 200 and acked.json()["incident"]["status"] == "acknowledged"
    assert sim.writes()[-1].headers["from"] == "bob@example.com" and sim.writes()[-1].status == 200
    assert [r.status for r in sim.writes()] == [400, 400, 200]
    again = await client.put(f"/incidents/{incident_id}", json=put("acknowledged"), headers={"From": "bob@example.com"})
    assert again.status_code == 200
    bob = {"From": "bob@example.com"}
    too_far = await client.put(f"/incidents/{incident_id}", json=put(escalation_level=3), headers=bob)
    assert too_far.json()["error"] == {"message": "Cannot Escalate", "code": 1006}
    await client.put(f"/incidents/{incident_id}", json=put("resolved"), headers={"From": "bob@example.com"})
    for status in ("resolved", "acknowledged"):
        late = await client.put(f"/incidents/{incident_id}", json=put(status), headers={"From": "bob@example.com"})
        assert late.json()["error"]["code"] == 1001
    await sim.wait_idle()
    emitted = [e["event"]["event_type"] for e in sim.events]
    assert emitted == ["incident.triggered", "incident.acknowledged", "incident.resolved"]
    await client.aclose()


async def test_webhook_is_signed_and_attributed_to_the_from_user(
    pd: tuple[PagerDutySimulator, httpx.AsyncClient, Receiver],
) -> None:
    sim, client, rec = pd
    incident_id = sim.trigger("PSVC001", "Checkout latency")
    await client.put(f"/incidents/{incident_id}", json=put(escalation_level=2), headers={"From": "alice@example.com"})
    await sim.wait_idle()
    assert [e["event_type"] for e in rec.events()] == ["incident.triggered", "incident.escalated"]
    headers, body = rec.hits[1]
    expected = {"v1=" + hmac.new(s.encode(), body, hashlib.sha256).hexdigest() for s in SECRETS}
    assert set(headers["x-pagerduty-signature"].split(",")) == expected
    assert headers["user-agent"] == "PagerDuty-Webhook/V3.0" and headers["content-type"] == "application/json"
    event = rec.events()[1]
    assert event["agent"]["id"] == "PUALICE" and event["agent"]["type"] == "user_reference"
    assert [a["id"] for a in event["data"]["assignees"]] == ["PUBOB01"]
    assert len(event["id"]) == 26 and event["occurred_at"].endswith("Z")
    captured = json.loads((V3_FIXTURES / "acknowledged_v3.json").read_text())["event"]
    assert set(captured) == set(event)
    assert set(captured["data"]) <= set(event["data"])
    assert rec.events()[0]["agent"]["type"] == "service_reference"
    await client.aclose()


async def test_duplicate_deliveries_repeat_the_same_event(
    pd: tuple[PagerDutySimulator, httpx.AsyncClient, Receiver],
) -> None:
    sim, client, rec = pd
    sim.duplicate_deliveries = 3
    sim.trigger("PSVC002", "Replica lag")
    await sim.wait_idle()
    assert len({e["id"] for e in rec.events()}) == 1 and len(rec.hits) == 3
    assert len({h["x-webhook-id"] for h, _ in rec.hits}) == 1
    await client.aclose()


async def test_delivery_retries_5xx_and_drops_4xx(
    pd: tuple[PagerDutySimulator, httpx.AsyncClient, Receiver],
) -> None:
    sim, client, rec = pd
    rec.statuses = [503, 503]
    first = sim.trigger("PSVC001", "A")
    await sim.wait_idle()
    assert [d.result for d in sim.deliveries] == [503, 503, 200]
    assert [d.outcome for d in sim.deliveries] == ["retrying", "retrying", "delivered"]
    rec.statuses = [403]
    sim.acknowledge(first, "PUALICE")
    await sim.wait_idle()
    assert sim.deliveries[-1].outcome == "dropped" and sim.deliveries[-1].status == 403
    sim.drop_next_webhooks(1)
    sim.resolve(first, "PUALICE")
    await sim.wait_idle()
    assert sim.incidents[first].status == "resolved" and len(rec.hits) == 4
    await client.aclose()


async def test_reorder_and_pause_hold_events(
    pd: tuple[PagerDutySimulator, httpx.AsyncClient, Receiver],
) -> None:
    sim, client, rec = pd
    sim.reorder = True
    incident_id = sim.trigger("PSVC001", "A")
    sim.acknowledge(incident_id, "PUALICE")
    sim.add_note(incident_id, "PUALICE", "looking")
    await sim.wait_idle()
    assert rec.hits == [] and sim.held_count == 3
    assert sim.flush() == 3
    await sim.wait_idle()
    assert [e["event_type"] for e in rec.events()] == [
        "incident.annotated",
        "incident.acknowledged",
        "incident.triggered",
    ]
    assert rec.events()[0]["data"]["type"] == "incident_note"
    sim.reorder, sim.paused = False, True
    sim.set_priority(incident_id, "PUBOB01", "P1")
    await sim.wait_idle()
    assert len(rec.hits) == 3
    sim.paused = False
    await sim.wait_idle()
    assert rec.events()[-1]["event_type"] == "incident.priority_updated"
    assert rec.events()[-1]["data"]["priority"]["summary"] == "P1"
    await client.aclose()


async def test_rest_faults_then_recovery(pd: tuple[PagerDutySimulator, httpx.AsyncClient, Receiver]) -> None:
    sim, client, _rec = pd
    incident_id = sim.trigger("PSVC001", "A")
    sim.fail("/incidents", 503, seconds=0.3)
    assert (await client.get(f"/incidents/{incident_id}")).status_code == 503
    await asyncio.sleep(0.35)
    assert (await client.get(f"/incidents/{incident_id}")).status_code == 200
    sim.fail("/users", 429, count=1, headers={"ratelimit-reset": "1"})
    limited = await client.get("/users", params={"query": "a"})
    assert limited.status_code == 429 and limited.headers["ratelimit-reset"] == "1"
    assert limited.json() == {"error": {"message": "Rate Limit Exceeded", "code": 2020}}
    found = await client.get("/users", params={"query": "EXAMPLE.COM", "include[]": "teams"})
    assert [u["email"] for u in found.json()["users"]][:2] == ["alice@example.com", "bob@example.com"]
    assert found.json()["users"][0]["teams"][0]["name"] == "Payments"
    assert [r.status for r in sim.requests if r.path == "/users"] == [429, 200]
    sim.delay("/oncalls", 0.2)
    started = time.monotonic()
    oncalls = await client.get("/oncalls", params={"escalation_policy_ids[]": "PEPPAY1"})
    assert time.monotonic() - started >= 0.2
    assert [(o["user"]["id"], o["escalation_level"]) for o in oncalls.json()["oncalls"]] == [
        ("PUALICE", 1),
        ("PUBOB01", 2),
    ]
    assert (await client.get("/users/me")).status_code == 400
    await client.aclose()


async def test_subscription_created_over_rest_receives_events(
    pd: tuple[PagerDutySimulator, httpx.AsyncClient, Receiver],
) -> None:
    sim, client, rec = pd
    body = {
        "webhook_subscription": {
            "type": "webhook_subscription",
            "delivery_method": {"type": "http_delivery_method", "url": str(sim.webhook_url)},
            "events": ["incident.triggered"],
            "filter": {"type": "service_reference", "id": "PSVC002"},
        }
    }
    sim.webhook_url = None  # only the subscription created below delivers now
    created = await client.post("/webhook_subscriptions", json=body)
    assert created.status_code == 201
    secret = created.json()["webhook_subscription"]["delivery_method"]["secret"]
    assert len(secret) == 64
    sim.trigger("PSVC001", "other service")
    sim.trigger("PSVC002", "ours")
    await sim.wait_idle()
    (headers, raw), *_ = rec.hits
    assert len(rec.hits) == 1
    assert headers["x-pagerduty-signature"] == "v1=" + hmac.new(secret.encode(), raw, hashlib.sha256).hexdigest()
    await client.aclose()


def test_served_app_stops_cleanly() -> None:
    before = threading.active_count()
    served = ServedApp(FastAPI()).start()
    assert httpx.get(served.url + "/nothing").status_code == 404
    served.stop()
    assert threading.active_count() == before


@pytest.fixture
def slack() -> Iterator[tuple[SlackSimulator, str, Receiver]]:
    rec = Receiver()
    bridge = ServedApp(rec.app).start()
    sim = SlackSimulator(SIGNING_SECRET, BOT_TOKEN, interactions_url=bridge.url + "/hook")
    sim.seed_demo()
    sim.add_channel("C0QUIET", "#quiet", bot_is_member=False)
    served = ServedApp(sim.app).start()
    yield sim, served.url, rec
    stop_all(served, bridge)


BLOCKS: list[dict[str, Any]] = [
    {"type": "header", "text": {"type": "plain_text", "text": "Checkout latency"}},
    {
        "type": "actions",
        "block_id": "incident_actions",
        "elements": [
            {"type": "button", "action_id": "pd_ack", "text": {"type": "plain_text", "text": "Ack"}, "value": "P1"},
            {"type": "users_select", "action_id": "pd_reassign"},
        ],
    },
]


async def test_slack_web_api_round_trip(slack: tuple[SlackSimulator, str, Receiver]) -> None:
    sim, url, _ = slack
    client = AsyncWebClient(token=BOT_TOKEN, base_url=url + "/api/")
    auth = await client.auth_test()
    assert auth["user_id"] == sim.bot_user_id and "users:read.email" in auth.headers["X-OAuth-Scopes"]
    root = await client.chat_postMessage(channel="C0DEFAULT", text="[TRIGGERED] latency", blocks=BLOCKS)
    reply = await client.chat_postMessage(channel="C0DEFAULT", text="acked by <@U0ALICE>", thread_ts=root["ts"])
    await client.chat_update(channel="C0DEFAULT", ts=root["ts"], text="[ACKED] latency", blocks=BLOCKS[:1])
    assert float(reply["ts"]) > float(root["ts"])
    (message,) = sim.messages("C0DEFAULT")
    assert message.text == "[ACKED] latency" and message.blocks == BLOCKS[:1] and message.update_count == 1
    assert message.history[0]["blocks"] == BLOCKS
    assert [m.text for m in sim.thread("C0DEFAULT", root["ts"])] == ["acked by <@U0ALICE>"]
    found = await client.users_lookupByEmail(email="carol@example.com")
    assert found["user"]["id"] == "U0CAROL"
    assert (await client.conversations_info(channel="C0PAYMENTS"))["channel"]["name"] == "payments-oncall"
    for call, error in [
        (client.chat_postMessage(channel="C0NOPE", text="x"), "channel_not_found"),
        (client.chat_postMessage(channel="C0QUIET", text="x"), "not_in_channel"),
        (client.chat_update(channel="C0DEFAULT", ts="1.2", text="x"), "message_not_found"),
        (client.users_lookupByEmail(email="nobody@example.com"), "users_not_found"),
        (AsyncWebClient(token="xoxb-wrong", base_url=url + "/api/").auth_test(), "invalid_auth"),
    ]:
        with pytest.raises(SlackApiError) as raised:
            await call
        assert raised.value.response["error"] == error


async def test_slack_rate_limit_and_failures(slack: tuple[SlackSimulator, str, Receiver]) -> None:
    sim, url, _ = slack
    client = AsyncWebClient(token=BOT_TOKEN, base_url=url + "/api/")
    sim.rate_limit("chat.postMessage", 1, retry_after=2)
    with pytest.raises(SlackApiError) as raised:
        await client.chat_postMessage(channel="C0DEFAULT", text="x")
    assert raised.value.response.status_code == 429
    assert raised.value.response.headers["Retry-After"] == "2"
    assert raised.value.response["error"] == "ratelimited"
    await client.chat_postMessage(channel="C0DEFAULT", text="x")
    sim.fail("chat.update", "internal_error", count=1)
    with pytest.raises(SlackApiError):
        await client.chat_update(channel="C0DEFAULT", ts=sim.messages("C0DEFAULT")[0].ts, text="y")
    assert [(c.ok, c.error) for c in sim.calls_to("chat.postMessage")] == [(False, "ratelimited"), (True, None)]


async def test_click_posts_a_signed_block_actions_payload(slack: tuple[SlackSimulator, str, Receiver]) -> None:
    sim, url, rec = slack
    client = AsyncWebClient(token=BOT_TOKEN, base_url=url + "/api/")
    root = await client.chat_postMessage(channel="C0PAYMENTS", text="incident", blocks=BLOCKS)
    status, _ = await sim.click("C0PAYMENTS", root["ts"], "pd_reassign", "U0ALICE", selected_user="U0BOB")
    assert status == 200
    headers, body = rec.hits[-1]
    assert SignatureVerifier(SIGNING_SECRET).is_valid_request(body, headers)
    assert headers["content-type"] == "application/x-www-form-urlencoded"
    payload = json.loads(parse_qs(body.decode())["payload"][0])
    assert payload["type"] == "block_actions" and payload["user"]["id"] == "U0ALICE"
    assert payload["container"] == {
        "type": "message",
        "message_ts": root["ts"],
        "channel_id": "C0PAYMENTS",
        "is_ephemeral": False,
    }
    (action,) = payload["actions"]
    assert (action["action_id"], action["block_id"], action["selected_user"]) == (
        "pd_reassign",
        "incident_actions",
        "U0BOB",
    )
    assert payload["message"]["blocks"] == BLOCKS
    async with httpx.AsyncClient() as http:
        answered = await http.post(payload["response_url"], json={"text": "Only you can see this"})
    assert answered.text == "ok" and sim.ephemerals[-1].user == "U0ALICE"
    view = {"type": "modal", "callback_id": "note", "title": {"type": "plain_text", "text": "Add note"}, "blocks": []}
    opened = await client.views_open(trigger_id=payload["trigger_id"], view=view)
    with pytest.raises(SlackApiError):
        await client.views_open(trigger_id="made-up", view=view)
    rec.reply = json.dumps({"response_action": "errors", "errors": {"note": "Required"}})
    status, _ = await sim.submit_view(opened["view"]["id"], "U0ALICE", {"note": {"text": {"type": "plain_text_input"}}})
    submitted = json.loads(parse_qs(rec.hits[-1][1].decode())["payload"][0])
    assert submitted["type"] == "view_submission" and submitted["view"]["callback_id"] == "note"
    assert sim.views[-1].errors == {"note": "Required"} and not sim.views[-1].closed
    rec.reply = ""
    filled = {"note": {"text": {"type": "plain_text_input", "value": "x"}}}
    await sim.submit_view(opened["view"]["id"], "U0ALICE", filled)
    assert sim.views[-1].closed


async def test_channel_page_and_state(slack: tuple[SlackSimulator, str, Receiver]) -> None:
    _, url, rec = slack
    client = AsyncWebClient(token=BOT_TOKEN, base_url=url + "/api/")
    root = await client.chat_postMessage(channel="C0DEFAULT", text="incident", blocks=BLOCKS)
    async with httpx.AsyncClient(base_url=url) as http:
        assert "payments-oncall" in (await http.get("/")).text
        page = (await http.get("/channels/C0DEFAULT")).text
        assert "Acting as" in page and "pd_ack" in page and "</script>" in page
        state = (await http.get("/_sim/state/C0DEFAULT", params={"user": "U0BOB"})).json()
        assert state["messages"][0]["ts"] == root["ts"] and state["view"] is None
        clicked = await http.post(
            "/_sim/click", json={"channel": "C0DEFAULT", "ts": root["ts"], "action_id": "pd_ack", "user_id": "U0BOB"}
        )
    assert clicked.json()["status"] == 200
    action = json.loads(parse_qs(rec.hits[-1][1].decode())["payload"][0])["actions"][0]
    assert (action["type"], action["value"]) == ("button", "P1")
