"""The sandbox's channel list (sidebar and index) shows channels created at run time, private ones with a lock and
archived ones marked, and keeps up while the page is open: over HTTP, and in headless Chromium."""

from __future__ import annotations

import re
from collections.abc import Iterator

import httpx
import pytest
from playwright.async_api import Browser, Page

from simulators.channel_list import LOCK
from simulators.server import ServedApp
from simulators.slack import SlackSimulator
from tests.e2e.test_channel_page_browser import browser  # noqa: F401  (the fixture)

BOT_TOKEN = "xoxb-sim-bot"


@pytest.fixture
def served() -> Iterator[tuple[SlackSimulator, str]]:
    sim = SlackSimulator("signing-secret", BOT_TOKEN)
    sim.seed_demo()
    with ServedApp(sim.app) as app:
        yield sim, app.url


def create(sim: SlackSimulator, name: str, private: bool = False) -> str:
    status, body, _ = sim.call("conversations.create", {"name": name, "is_private": private}, BOT_TOKEN)
    assert status == 200 and body["ok"], body
    return str(body["channel"]["id"])


def archive(sim: SlackSimulator, channel: str) -> None:
    assert sim.call("conversations.archive", {"channel": channel}, BOT_TOKEN)[1]["ok"]


def _text(markup: str) -> str:
    return re.sub(r"<[^>]+>", "", markup)


async def test_index_and_sidebar_show_created_channels(served: tuple[SlackSimulator, str]) -> None:
    sim, url = served
    public, private = create(sim, "inc-1-db"), create(sim, "inc-2-secret", private=True)
    archive(sim, public)
    async with httpx.AsyncClient(base_url=url) as http:
        index = _text((await http.get("/")).text)
        sidebar = _text((await http.get("/channels/C0PAYMENTS")).text)
        listed = (await http.get("/_sim/channels")).json()["channels"]
        state = (await http.get(f"/_sim/state/{private}")).json()
    for shown in (index, sidebar):
        assert "# payments-oncall" in shown
        assert "# inc-1-db archived" in shown and f"{LOCK} inc-2-secret" in shown
    by_id = {c["id"]: c for c in listed}
    assert (by_id[public]["is_archived"], by_id[private]["is_private"]) == (True, True)
    assert {c["id"] for c in state["channels"]} >= {"C0PAYMENTS", public, private}


async def open_page(chromium: Browser, url: str) -> Page:
    page = await chromium.new_page()
    await page.goto(url)
    return page


async def test_sidebar_picks_up_new_channels_without_a_reload(
    browser: Browser, served: tuple[SlackSimulator, str]  # noqa: F811
) -> None:
    sim, url = served
    page = await open_page(browser, f"{url}/channels/C0PAYMENTS?user=U0ALICE")
    await page.evaluate("() => { window.sameDocument = true; }")
    sidebar = page.locator("nav a")
    assert not any("inc-3" in t for t in await sidebar.all_inner_texts())

    created = create(sim, "inc-3-checkout")
    secret = create(sim, "inc-4-secret", private=True)
    await sidebar.filter(has_text="inc-3-checkout").wait_for(timeout=5000)
    await sidebar.filter(has_text="inc-4-secret").wait_for(timeout=5000)
    archive(sim, created)
    await sidebar.filter(has_text="inc-3-checkout").filter(has_text="archived").wait_for(timeout=5000)
    texts = await sidebar.all_inner_texts()
    assert await page.evaluate("() => window.sameDocument === true")  # the page was never reloaded
    assert f"{LOCK} inc-4-secret" in texts and "# payments-oncall" in texts
    assert any(t.startswith("# inc-3-checkout") and t.endswith("archived") for t in texts)

    # The new channel's page renders its messages like any other channel's.
    sim.call("chat.postMessage", {"channel": secret, "text": "*Status* :red_circle: Triggered"}, BOT_TOKEN)
    await sidebar.filter(has_text="inc-4-secret").click()
    await page.wait_for_url(f"**/channels/{secret}*")
    card = page.locator("#messages .msg").first
    await card.get_by_text("Triggered").wait_for(timeout=5000)
    shown = await card.inner_text()
    here = await page.locator("nav a.here").inner_text()
    await page.close()
    assert "🔴 Triggered" in shown and "*Status*" not in shown
    assert here == f"{LOCK} inc-4-secret"


async def test_index_picks_up_new_channels_without_a_reload(
    browser: Browser, served: tuple[SlackSimulator, str]  # noqa: F811
) -> None:
    sim, url = served
    page = await open_page(browser, url + "/")
    items = page.locator("#channels li")
    await items.filter(has_text="payments-oncall").wait_for()
    archive(sim, create(sim, "inc-5-api"))
    await items.filter(has_text="inc-5-api").wait_for(timeout=5000)
    texts = await items.all_inner_texts()
    await page.close()
    assert "# inc-5-api archived" in texts
