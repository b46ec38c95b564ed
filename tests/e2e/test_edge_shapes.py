"""Every documented PagerDuty v3 event gets a 2xx, and no signed body of any shape gets a 5xx."""

from __future__ import annotations

import copy
import json
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
import pytest_asyncio
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ops.sandbox import Sandbox
from tests.conftest import SHARED
from tests.e2e.conftest import SandboxFactory
from tests.e2e.signed import post_slack, post_webhook, slack_form

CAPTURES = SHARED / "third_party" / "pagerduty-webhooks-v3"
PING = SHARED / "third_party" / "signature-vectors" / "pagerduty_alda_ping_body.json"
INCIDENT = {"id": "PDOC001", "type": "incident_reference", "summary": "Checkout latency"}

# PagerDuty's documented v3 event types with the `data.type` each carries (developer docs, webhooks overview).
DOCUMENTED: dict[str, str] = {
    **{f"incident.{name}": "incident" for name in [
        "triggered", "acknowledged", "unacknowledged", "resolved", "reopened", "escalated", "reassigned",
        "delegated", "priority_updated", "incident_type.changed", "service_updated"]},
    "incident.annotated": "incident_note",
    "incident.responder.added": "incident_responder",
    "incident.responder.replied": "incident_responder",
    "incident.status_update_published": "incident_status_update",
    "incident.conference_bridge.updated": "incident_conference_bridge",
    "incident.custom_field_values.updated": "incident_field_values",
    "incident.role.assigned": "incident_role_assignment",
    **{f"incident.task.{name}": "incident_task" for name in ["created", "updated", "completed"]},
    **{f"incident.action_invocation.{name}": "incident_action_invocation"
       for name in ["created", "updated", "terminated"]},
    "incident.workflow.started": "incident_workflow_instance",
    "incident.workflow.completed": "incident_workflow_instance",
    **{f"service.{name}": "service" for name in ["created", "updated", "deleted", "custom_field_values.updated"]},
    "pagey.ping": "ping",
}


def _data(event_type: str, data_type: str) -> dict[str, Any]:
    if data_type == "incident":
        return {**INCIDENT, "type": "incident", "number": 7, "status": "triggered", "title": "Checkout latency"}
    if data_type == "incident_role_assignment":
        return {"type": data_type, "incident_role_assignments": [
            {"incident": INCIDENT, "role": {"id": "PROLE01", "name": "Scribe"},
             "user": {"id": "PUALICE", "type": "user_reference"}}]}
    if event_type.startswith("incident."):
        return {"type": data_type, "id": "PX00001", "incident": INCIDENT}
    return {"type": data_type, "id": "PSVC009", "message": "Hello from your friend Pagey!"}


def _envelope(event_type: str, data: dict[str, Any]) -> bytes:
    resource = event_type.split(".", 1)[0]
    return json.dumps({"event": {
        "id": "01JDOCEVENT0000000000000001", "event_type": event_type, "resource_type": resource,
        "occurred_at": "2026-12-01T12:00:00.000Z", "agent": None, "client": None, "data": data}}).encode()


@pytest_asyncio.fixture
async def quiet_sandbox(make_sandbox: SandboxFactory) -> AsyncIterator[Sandbox]:
    """The API on real Temporal without a worker: these tests are about what the edge answers."""
    async with make_sandbox(run_worker=False) as sb:
        yield sb


BODIES = {t: _envelope(t, _data(t, d)) for t, d in DOCUMENTED.items()} | {
    p.name: p.read_bytes() for p in sorted(CAPTURES.glob("*.json"))} | {"captured pagey.ping": PING.read_bytes()}


async def test_every_documented_v3_event_is_answered_2xx(quiet_sandbox: Sandbox) -> None:
    wrong: dict[str, str] = {}
    for name, body in BODIES.items():  # one sandbox for the whole table: each request is independent
        response = await post_webhook(quiet_sandbox, body)
        event_type = json.loads(body)["event"]["event_type"]
        used = event_type.startswith("incident.") and event_type != "incident.unsupported"
        if response.status_code != 202 or (used and response.json()["status"] != "accepted"):
            wrong[name] = f"{response.status_code} {response.text}"
    assert not wrong, f"PagerDuty would drop these and disable the subscription: {wrong}"
    async with httpx.AsyncClient() as client:
        metrics = (await client.get(f"{quiet_sandbox.api_url}/metrics")).text
    assert 'bridge_pagerduty_webhooks_total{outcome="ignored",reason="not_an_incident"}' in metrics
    assert 'bridge_pagerduty_webhooks_total{outcome="accepted",reason="incident.role.assigned"}' in metrics


async def test_role_assignment_reaches_the_incident_workflow(quiet_sandbox: Sandbox) -> None:
    body = _envelope("incident.role.assigned", _data("incident.role.assigned", "incident_role_assignment"))
    response = await post_webhook(quiet_sandbox, body)
    assert response.status_code == 202 and response.json() == {"status": "accepted", "incident": "PDOC001"}
    assert quiet_sandbox.client is not None
    description = await quiet_sandbox.client.get_workflow_handle("pd-incident-PDOC001").describe()
    assert description.workflow_type == "IncidentWorkflow"


# ---- odd shapes: every value of a real payload replaced by a value of another type, or removed ----------

ODD = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=12)
    | st.sampled_from(["", "x" * 3000, "2026-12-01T12:00:00", "PINC001", "[]", "{}", "null"]),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
    max_leaves=6)


def _paths(node: Any, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    children = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else []
    for key, child in children:
        yield (*prefix, key)
        yield from _paths(child, (*prefix, key))


@st.composite
def _mutated(draw: st.DrawFn, bases: list[Any]) -> Any:
    doc = copy.deepcopy(draw(st.sampled_from(bases)))
    for _ in range(draw(st.integers(1, 3))):
        paths = list(_paths(doc))
        if not paths:
            break
        *parent_path, key = draw(st.sampled_from(paths))
        parent = doc
        for step in parent_path:
            parent = parent[step]
        if draw(st.booleans()) and isinstance(parent, dict):
            del parent[key]
        else:
            parent[key] = draw(ODD)
    return doc


def _slack_bases() -> list[Any]:
    click: dict[str, Any] = {"type": "block_actions", "user": {"id": "U0ALICE"}, "trigger_id": "1.2.abc",
             "channel": {"id": "C0PAYMENTS"}, "container": {"type": "message", "channel_id": "C0PAYMENTS",
                                                           "message_ts": "1764590400.000100"},
             "message": {"ts": "1764590400.000100"},
             "actions": [{"action_id": "pd_acknowledge", "value": "PFUZZ01", "block_id": "pd_controls:PFUZZ01:x",
                          "action_ts": "1764590401.1"}]}
    reassign = copy.deepcopy(click)
    reassign["actions"] = [{"action_id": "pd_reassign", "block_id": "pd_controls:PFUZZ01:triggered",
                            "selected_user": "U0BOB", "action_ts": "1764590402.2"}]
    note_click: dict[str, Any] = copy.deepcopy(click)
    note_click["actions"][0]["action_id"] = "pd_add_note"
    submission = {"type": "view_submission", "user": {"id": "U0ALICE"}, "view": {
        "id": "V1", "callback_id": "pd_add_note_modal",
        "private_metadata": json.dumps({"incident_id": "PFUZZ01", "channel": "C0PAYMENTS", "ts": "1.2"}),
        "state": {"values": {"pd_note": {"pd_note_text": {"type": "plain_text_input", "value": "rolled back"}}}}}}
    return [click, reassign, note_click, submission]


def _webhook_bases() -> list[Any]:
    return [json.loads(p.read_bytes()) for p in sorted(CAPTURES.glob("*.json"))] + [json.loads(PING.read_bytes())]


NO_5XX = settings(max_examples=100, deadline=None, derandomize=True,
                  suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


def _assert_answered(response: httpx.Response, sent: Any) -> None:
    assert response.status_code < 500, f"{response.status_code} {response.text[:300]} for {json.dumps(sent)[:600]}"
    if response.status_code >= 400:
        assert response.json()["error"], "a refusal says why"


@NO_5XX
@given(payload=_mutated(_slack_bases()))
async def test_no_signed_slack_payload_gets_a_5xx(quiet_sandbox: Sandbox, payload: Any) -> None:
    _assert_answered(await post_slack(quiet_sandbox, slack_form(payload)), payload)


@NO_5XX
@given(document=_mutated(_webhook_bases()))
async def test_no_signed_webhook_gets_a_5xx(quiet_sandbox: Sandbox, document: Any) -> None:
    _assert_answered(await post_webhook(quiet_sandbox, json.dumps(document).encode()), document)


@pytest.mark.parametrize("nesting", ["[" * 100_000, '{"a":' * 100_000, "[" * 990 + "]" * 990])
async def test_deeply_nested_bodies_are_refused_not_5xx(quiet_sandbox: Sandbox, nesting: str) -> None:
    webhook = await post_webhook(quiet_sandbox, nesting.encode())
    slack = await post_slack(quiet_sandbox, b"payload=" + nesting.encode())
    assert webhook.status_code == 400 and slack.status_code == 400, (webhook.text, slack.text)
