"""The sandbox's channel page in a real headless Chromium (Debian's package, driven by Playwright): it looks
like Slack, shows typed text literally, and a click on Acknowledge changes the incident message."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio
from playwright.async_api import Browser, Page, async_playwright

from ops.sandbox import Sandbox
from tests.e2e.conftest import first_root, until

CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]
HOSTILE = "Queue <b>stuck</b> & <!channel> *not bold* <script>window.pwned=1</script>"


def ensure_chromium() -> Path:
    """Debian's chromium, installed here when missing and we may (nothing downloads a browser build)."""
    if CHROMIUM.exists():
        return CHROMIUM
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        pytest.skip("/usr/bin/chromium is missing and cannot be installed here (needs root and apt-get)")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run(["apt-get", "update", "-qq"], check=True, env=env, timeout=600)
    subprocess.run(["apt-get", "install", "-y", "-qq", "chromium"], check=True, env=env, timeout=900)
    return CHROMIUM


@pytest_asyncio.fixture
async def browser() -> AsyncIterator[Browser]:
    path = ensure_chromium()
    async with async_playwright() as pw:
        chromium = await pw.chromium.launch(executable_path=str(path), args=ARGS, headless=True)
        try:
            yield chromium
        finally:
            await chromium.close()


async def open_channel(browser: Browser, sb: Sandbox, channel: str, user: str) -> Page:
    page = await browser.new_page()
    await page.goto(f"{sb.slack.public_url}/channels/{channel}?user={user}")
    await page.select_option("#actor", user)
    return page


@pytest.mark.timeout(240)
async def test_acting_as_alice_acknowledge_changes_the_message(browser: Browser, sandbox: Sandbox) -> None:
    sandbox.pd.trigger("PSVC001", HOSTILE)
    message = await until(lambda: first_root(sandbox, "C0PAYMENTS"), what="the incident message")
    page = await open_channel(browser, sandbox, "C0PAYMENTS", "U0ALICE")
    card = page.locator("#messages .msg").first
    await card.get_by_text("Triggered").wait_for()
    before = await card.inner_text()

    await card.get_by_role("button", name="Acknowledge").click()
    await until(lambda: message.text.startswith("[ACKNOWLEDGED]"), what="acknowledged in Slack's record")
    await card.get_by_text("Acknowledged by").first.wait_for(timeout=15000)
    after = await card.inner_text()
    pwned = await page.evaluate("() => window.pwned === undefined")
    bold = await card.locator("b").all_inner_texts()
    await page.close()

    assert "🔴 Triggered" in before and "🟡 Acknowledged" in after
    assert ":red_circle:" not in before + after and "*Status*" not in before + after
    assert "Status" in bold  # *Status* rendered bold, as Slack shows it
    # Typed text stays text: tags, entities and mentions exactly as typed, nothing executed or styled.
    assert "Queue <b>stuck</b> & <!channel> *not bold* <script>window.pwned=1</script>" in after
    assert pwned and "stuck" not in bold
    assert "@Alice Adams" in after or "@alice" in after


async def test_mrkdwn_shapes_render_like_slack(browser: Browser, sandbox: Sandbox) -> None:
    text = ("*bold* _italic_ ~gone~ `a<b` <https://example.com/x?a=1&amp;b=2|the runbook> <https://example.org> "
            "<@U0BOB> <!here> :eyes: :no_such_emoji: 1 &lt; 2 &amp;&amp; 3 &gt; 2\n```line <1>\nline 2```")
    sandbox.slack.call("chat.postMessage", {"channel": "C0PLATFORM", "text": text}, sandbox.slack.bot_token)
    page = await open_channel(browser, sandbox, "C0PLATFORM", "U0ALICE")
    card = page.locator("#messages .msg").first
    await card.wait_for()
    shown = await card.inner_text()
    html = await card.inner_html()
    links = await card.locator("a").evaluate_all("(els) => els.map((e) => [e.textContent, e.href])")
    channels = await page.locator("nav a").all_inner_texts()
    await page.close()
    assert "<b>bold</b>" in html and "<i>italic</i>" in html and "<s>gone</s>" in html
    assert "<code>a&lt;b</code>" in html and "<pre>line &lt;1&gt;\nline 2</pre>" in html
    assert links == [["the runbook", "https://example.com/x?a=1&b=2"], ["https://example.org", "https://example.org/"]]
    assert "@Bob Brown" in shown or "@bob" in shown
    assert "@here" in shown and "👀" in shown and ":no_such_emoji:" in shown
    assert "1 < 2 && 3 > 2" in shown
    assert any("incidents" in c for c in channels) and any("platform-oncall" in c for c in channels)


@pytest.mark.timeout(240)
async def test_acting_as_alice_create_channel_opens_it_in_the_list(browser: Browser, sandbox: Sandbox) -> None:
    incident = sandbox.pd.trigger("PSVC001", "Checkout errors spiking")
    await until(lambda: first_root(sandbox, "C0PAYMENTS"), what="the incident message")
    name = f"inc-{sandbox.pd.incidents[incident].number}-checkout-errors-spiking"
    page = await open_channel(browser, sandbox, "C0PAYMENTS", "U0ALICE")
    card = page.locator("#messages .msg").first
    await card.get_by_text("Triggered").wait_for()
    assert await page.locator("nav a", has_text=name).count() == 0

    await card.get_by_role("button", name="Create channel").click()
    created = await until(lambda: sandbox.slack.channel_by_name(name), what="the channel in Slack's record")
    listed = page.locator("nav a", has_text=name)
    await listed.wait_for(timeout=15000)  # appears in the sidebar without a reload
    await card.get_by_role("button", name="Join channel").wait_for(timeout=15000)
    told = await page.locator("#ephemerals").inner_text()
    await listed.click()
    await page.wait_for_url(f"**/channels/{created.id}**")
    shown = page.locator("#messages .msg").first
    await shown.get_by_text("Checkout errors spiking").wait_for(timeout=15000)
    text = await shown.inner_text()
    buttons = await shown.get_by_role("button").all_inner_texts()
    here = await page.locator("nav a.here").inner_text()
    await page.close()

    assert name in here and "U0ALICE" in sandbox.slack.members(created.id)
    assert "🔴 Triggered" in text and ":red_circle:" not in text
    assert "Acknowledge" in buttons and "Resolve" in buttons
    # The link to the channel, told only to Alice, shows its name as Slack does (not its id).
    assert f"the incident's channel is #{name}; you are invited." in told and created.id not in told


def bridge_shortcodes() -> set[str]:
    """Every emoji shortcode the bridge's own code writes into Slack text."""
    root = Path(__file__).resolve().parents[2]
    found: set[str] = set()
    for folder in ("activities", "workflows", "api"):
        for source in (root / folder).glob("*.py"):
            found |= set(re.findall(r"(?<![\w:]):([a-z][a-z0-9_+-]*):(?!\w)", source.read_text()))
    return found


async def clock(page: Page) -> list[str]:
    """The page's reader's local time now and a minute ago, as HH:MM."""
    shown: list[str] = await page.evaluate("""() => [0, 60000].map((back) => {
        const d = new Date(Date.now() - back);
        return `${String(d.getHours()).padStart(2, "0")}:${String(d.getMinutes()).padStart(2, "0")}`; })""")
    return shown


@pytest.mark.timeout(240)
async def test_the_page_reads_like_slack(browser: Browser, sandbox: Sandbox) -> None:
    """Times of posting, folded threads, "(edited)", every shortcode as emoji, no HTTP talk on screen."""
    codes = bridge_shortcodes()
    assert {"hash", "clipboard", "zzz"} <= codes
    moment = f"<!date^{int(time.time())}^until {{time}}|fallback UTC>"  # as the bridge writes a snooze's end
    sandbox.slack.call("chat.postMessage", {"channel": "C0PLATFORM",
                                            "text": " ".join(f":{c}:" for c in codes) + " " + moment},
                       sandbox.slack.bot_token)
    sandbox.pd.trigger("PSVC001", "Checkout errors spiking")
    message = await until(lambda: first_root(sandbox, "C0PAYMENTS"), what="the incident message")
    page = await open_channel(browser, sandbox, "C0PAYMENTS", "U0ALICE")
    card = page.locator("#messages > .msg").first
    await card.get_by_text("Triggered").wait_for()
    await card.get_by_role("button", name="Acknowledge").click()
    await until(lambda: message.replies, what="the acknowledgement in the thread")
    folded = card.get_by_text("1 reply")
    await folded.wait_for(timeout=15000)
    await card.locator(".ctx", has_text="Acknowledged by @alice from Slack").wait_for(timeout=15000)
    edited = await card.locator(".meta").first.inner_text()
    collapsed = await card.inner_text()
    now = await clock(page)
    await folded.click()
    await card.get_by_text("Hide replies").wait_for()
    opened = await card.inner_text()
    on_screen = await page.locator("body").inner_text()
    await page.goto(f"{sandbox.slack.public_url}/channels/C0PLATFORM")
    emoji = page.locator("#messages > .msg").first
    await emoji.wait_for()
    drawn = await emoji.inner_text()
    await page.close()

    assert "(edited)" in edited and "times" not in edited
    assert edited.split()[-2] in now  # the time it was posted, in the reader's time zone, not a fixed one
    # Folded: the message's own line only; opened: the thread's reply under it too.
    assert collapsed.count("Acknowledged by @alice from Slack") == 1
    assert opened.count("Acknowledged by @alice from Slack") == 2
    assert "HTTP" not in on_screen and "answered" not in on_screen
    assert not re.search(r":[a-z_]+:", drawn), drawn
    assert "#️⃣" in drawn and "📋" in drawn and "💤" in drawn
    assert "fallback" not in drawn and any(f"until {hhmm}" in drawn for hhmm in now)


@pytest.mark.timeout(240)
async def test_the_note_modal_closes_and_the_trigger_form_shows_its_choices(browser: Browser,
                                                                            sandbox: Sandbox) -> None:
    sandbox.pd.trigger("PSVC001", "Checkout errors spiking")
    await until(lambda: first_root(sandbox, "C0PAYMENTS"), what="the incident message")
    page = await open_channel(browser, sandbox, "C0PAYMENTS", "U0ALICE")
    card = page.locator("#messages > .msg").first
    modal = page.locator("#modal")
    closed = []
    for how in ("Cancel", "Escape", "reload"):
        await card.get_by_role("button", name="Add note").click()
        await modal.get_by_role("button", name="Add note").wait_for(timeout=15000)
        if how == "Cancel":
            await modal.get_by_role("button", name="Cancel").click()
        elif how == "Escape":
            await page.keyboard.press("Escape")
        else:
            await page.reload()
        await modal.wait_for(state="hidden")
        closed.append(await until(lambda: sandbox.slack.open_view_for("U0ALICE") is None, what=f"closed ({how})"))
    await page.locator("#sim-command input").fill("/pd trigger")
    await page.locator("#sim-command button").click()
    urgency = modal.locator("select[data-action=pd_trigger_urgency_choice]")
    await urgency.wait_for(timeout=15000)
    chosen = await urgency.evaluate("(el) => el.options[el.selectedIndex].text")
    on_screen = await page.locator("body").inner_text()
    await page.close()

    assert closed == [True, True, True]
    assert chosen == "High (pages now)"
    assert "answered" not in on_screen
