"""The sandbox's `/pd trigger` form in a real headless Chromium: typing in the service select asks the bridge's
options load URL through the simulated Slack, and a service past PagerDuty's first page can be chosen."""

from __future__ import annotations

import pytest
from playwright.async_api import Browser

from ops.sandbox import Sandbox
from tests.e2e.conftest import until
from tests.e2e.test_channel_page_browser import browser, open_channel
from tests.e2e.test_trigger_form import _many_services

__all__ = ["browser"]  # the fixture, used by name below


@pytest.mark.timeout(240)
async def test_typing_in_the_sandbox_form_finds_a_service_past_the_first_page(browser: Browser,
                                                                               sandbox: Sandbox) -> None:
    _many_services(sandbox)
    # The page is open first: as in Slack, a modal opens in the client the person has open (a reload drops it).
    page = await open_channel(browser, sandbox, "C0PAYMENTS", "U0BOB")
    status, body = await sandbox.slack.slash_command("U0BOB", "C0PAYMENTS", "trigger")
    assert status == 200, body
    search = page.locator("#modal input[data-suggest]")
    await search.wait_for(timeout=15000)
    await search.fill("zeta-ch")
    select = page.locator("#modal select[data-kind='external_select']")
    await select.locator("option", has_text="zeta-checkout").wait_for(state="attached", timeout=15000)
    await select.select_option("PZCHECK")
    await page.locator("#modal input[data-kind='plain_text_input']").fill("Checkout slow")
    await page.locator("#modal button[type='submit']").click()
    incident = await until(lambda: next(iter(sandbox.pd.incidents.values()), None), what="the incident")
    await page.close()
    assert incident.service_id == "PZCHECK" and incident.title == "Checkout slow"
