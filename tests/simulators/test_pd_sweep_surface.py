"""What the sweep needs from the PagerDuty simulator, over loopback HTTP: silent incidents, filtered and
paged incident lists, webhook subscriptions that can be disabled and enabled again."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from activities.pagerduty_api import PagerDutyApi
from simulators.pagerduty import CONSTRUCTOR_SUBSCRIPTION_ID, PagerDutySimulator
from simulators.server import ServedApp, stop_all
from tests.simulators.test_simulators import AUTH, TOKEN, Receiver

Rig = tuple[PagerDutySimulator, ServedApp, Receiver]


@pytest.fixture
def rig() -> Iterator[Rig]:
    rec = Receiver()
    bridge = ServedApp(rec.app).start()
    sim = PagerDutySimulator(TOKEN, webhook_url=bridge.url + "/hook")
    sim.seed_demo()
    served = ServedApp(sim.app).start()
    yield sim, served, rec
    stop_all(served, bridge)
    sim.close()


async def test_an_incident_can_be_created_without_any_webhook(rig: Rig) -> None:
    sim, served, rec = rig


    async with httpx.AsyncClient(base_url=served.url, headers=AUTH) as http:
        answer = await http.post("/_sim/trigger", json={"service_id": "PSVC001", "webhooks": False})
        loud = sim.trigger("PSVC001", "Heard of")
        await sim.wait_idle()
    quiet = answer.json()["incident"]["id"]
    assert sim.incidents[quiet].status == "triggered"
    assert [e["data"]["id"] for e in rec.events()] == [loud]


async def test_open_incidents_are_listed_by_status_and_service_in_pages(rig: Rig) -> None:
    sim, served, _ = rig
    payments = [sim.trigger("PSVC001", f"p{n}", webhooks=False) for n in range(5)]
    sim.trigger("PSVC002", "platform", webhooks=False)
    sim.resolve(payments.pop(0), "PUALICE")
    sim.acknowledge(payments[0], "PUALICE")


    async with httpx.AsyncClient(base_url=served.url) as http:
        api = PagerDutyApi(http, TOKEN)
        first, more = await api.list_open_incidents_page(["PSVC001"], 0, 3)
        second, last = await api.list_open_incidents_page(["PSVC001"], 3, 3)
        everything, _ = await api.list_open_incidents_page(None, 0, 100)
    assert more and not last
    assert [i["id"] for i in first + second] == payments
    assert len(everything) == 5


async def test_subscriptions_are_listed_disabled_and_enabled_again(rig: Rig) -> None:
    sim, served, rec = rig


    async with httpx.AsyncClient(base_url=served.url, headers=AUTH) as http:
        api = PagerDutyApi(http, TOKEN)
        (listed,) = await api.list_webhook_subscriptions()
        await http.post(f"/_sim/subscriptions/{CONSTRUCTOR_SUBSCRIPTION_ID}/disable")
        sim.trigger("PSVC001", "lost while disabled")
        (disabled,) = await api.list_webhook_subscriptions()
        enabled = await http.post(f"/webhook_subscriptions/{CONSTRUCTOR_SUBSCRIPTION_ID}/enable")
        heard = sim.trigger("PSVC001", "heard again")
        await sim.wait_idle()
    assert listed["delivery_method"]["url"].endswith("/hook") and listed["active"]
    assert listed["delivery_method"]["secret"] is None
    assert disabled["delivery_method"]["temporarily_disabled"] is True
    assert enabled.json()["webhook_subscription"]["delivery_method"]["temporarily_disabled"] is False
    assert [e["data"]["id"] for e in rec.events()] == [heard]
