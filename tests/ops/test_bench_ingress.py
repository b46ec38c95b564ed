"""The ingress bench: its webhooks are ones the bridge accepts, and its bare endpoint checks signatures."""

from __future__ import annotations

import json
from typing import Any

import httpx

from api.app import create_app
from api.pd_events import parse_webhook
from api.signatures import verify_pagerduty
from ops.bare_ingress import BareIngress
from ops.bench_ingress import Bodies
from simulators.pagerduty import PagerDutySimulator
from workflows.models import PdEvent


def _bodies() -> Bodies:
    pd = PagerDutySimulator(token="t", webhook_secret="hook-secret")
    pd.seed_demo()
    pd.trigger("PSVC001", "ingress bench")
    return Bodies(template=pd.events[-1], secret="hook-secret")


def _split(request: bytes) -> tuple[dict[str, str], bytes]:
    head, _, body = request.partition(b"\r\n\r\n")
    lines = head.decode().split("\r\n")
    assert lines[0] == "POST /pagerduty/webhooks HTTP/1.1"
    headers = dict(line.split(": ", 1) for line in lines[1:])
    assert int(headers["Content-Length"]) == len(body)
    return headers, body


def test_every_bench_webhook_is_signed_and_names_a_new_incident() -> None:
    incidents = set()
    for request in _bodies().take(3):
        headers, body = _split(request)
        assert verify_pagerduty(body, headers["X-PagerDuty-Signature"], ["hook-secret"])
        event = parse_webhook(body)
        assert isinstance(event, PdEvent) and event.event_type == "incident.triggered"
        incidents.add(event.incident_id)
    assert len(incidents) == 3


async def test_the_bare_endpoint_refuses_a_bad_signature_before_touching_temporal() -> None:
    _, body = _split(_bodies().take(1)[0])
    app: Any = BareIngress("127.0.0.1:1", "default", "q", "another-secret")
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
        answer = await client.post("/pagerduty/webhooks", content=body,
                                   headers={"X-PagerDuty-Signature": "v1=" + "0" * 64})
    assert answer.status_code == 401
    assert json.loads(answer.content) == {"error": "bad signature"}


async def test_the_webhook_route_takes_only_post() -> None:
    transport = httpx.ASGITransport(app=create_app())
    async with httpx.AsyncClient(transport=transport, base_url="http://bridge") as client:
        answer = await client.get("/pagerduty/webhooks")
    assert answer.status_code == 405
