"""Holding back one incident's webhooks in the PagerDuty simulator (a late echo, for one incident only)."""

from __future__ import annotations

import json
from collections.abc import Iterator

import httpx
import pytest
from fastapi import FastAPI, Request, Response

from simulators.pagerduty import PagerDutySimulator
from simulators.server import ServedApp, stop_all

TOKEN = "pd-test-token"


class Receiver:
    def __init__(self) -> None:
        self.events: list[tuple[str, str]] = []  # (incident id, event type)
        self.app = FastAPI()

        @self.app.post("/hook")
        async def hook(request: Request) -> Response:
            event = json.loads(await request.body())["event"]
            incident = event["data"].get("incident") or event["data"]
            self.events.append((incident["id"], event["event_type"]))
            return Response(status_code=202)


@pytest.fixture
def served() -> Iterator[tuple[PagerDutySimulator, httpx.AsyncClient, Receiver]]:
    rec = Receiver()
    bridge = ServedApp(rec.app).start()
    sim = PagerDutySimulator(TOKEN, webhook_url=bridge.url + "/hook")
    sim.seed_demo()
    server = ServedApp(sim.app).start()
    yield sim, httpx.AsyncClient(base_url=server.url), rec
    stop_all(server, bridge)
    sim.close()


async def test_one_incident_held_while_others_flow_then_released_in_order(
    served: tuple[PagerDutySimulator, httpx.AsyncClient, Receiver],
) -> None:
    sim, client, rec = served
    held, free = sim.trigger("PSVC001", "held"), sim.trigger("PSVC001", "free")
    await sim.wait_idle()
    sim.hold_incident(held)
    sim.acknowledge(held, "PUALICE")
    sim.add_note(held, "PUALICE", "looking")
    sim.acknowledge(free, "PUBOB01")
    await sim.wait_idle()
    assert (free, "incident.acknowledged") in rec.events
    assert [e for e in rec.events if e[0] == held] == [(held, "incident.triggered")]
    assert sim.held_for(held) == 2 and sim.incidents[held].status == "acknowledged"
    assert sim.release_incident(held) == 2
    await sim.wait_idle()
    assert [t for i, t in rec.events if i == held] == ["incident.triggered", "incident.acknowledged",
                                                       "incident.annotated"]
    sim.resolve(held, "PUALICE")  # no longer held
    await sim.wait_idle()
    assert rec.events[-1] == (held, "incident.resolved") and sim.held_for(held) == 0
    await client.aclose()


async def test_hold_control_endpoint(served: tuple[PagerDutySimulator, httpx.AsyncClient, Receiver]) -> None:
    sim, client, rec = served
    incident = sim.trigger("PSVC001", "A")
    await sim.wait_idle()
    assert (await client.post("/_sim/hold", json={"incident_id": incident})).json() == {"held": 0}
    sim.resolve(incident, "PUALICE")
    await sim.wait_idle()
    assert rec.events == [(incident, "incident.triggered")]
    released = await client.post("/_sim/hold", json={"incident_id": incident, "hold": False})
    assert released.json() == {"released": 1}
    await sim.wait_idle()
    assert rec.events[-1] == (incident, "incident.resolved")
    await client.aclose()
