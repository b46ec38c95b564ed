"""The `/pd trigger` form reaches every service: its service select is an external_select that the simulated
Slack fills from the bridge's options load URL (`POST /slack/options`, a signed `block_suggestion`) as the
person types, however many pages of services the account has. Real API and worker, simulators, Temporal."""

from __future__ import annotations

from typing import Any

from ops.sandbox import Sandbox
from simulators._slack_model import View
from tests.e2e.conftest import first_root, until

SERVICE = "pd_trigger_service_choice"


def _many_services(sb: Sandbox) -> None:
    """150 services before the ones the test wants: PagerDuty's first page of `GET /services` ends at 100."""
    for n in range(150):
        sb.pd.add_service(f"PFILL{n:03d}", f"filler-{n:03d}", "PEPPLT1", ["PTPLAT1"])
    sb.pd.add_service("PZCHECK", "zeta-checkout", "PEPPAY1", ["PTPAY01"])
    sb.pd.add_service("PZSRCH1", "zeta-search", "PEPPLT1", ["PTPLAT1"])


def _values(service: str, title: str) -> dict[str, dict[str, dict[str, Any]]]:
    return {"pd_trigger_service": {SERVICE: {"type": "external_select", "selected_option": {"value": service}}},
            "pd_trigger_title": {"pd_trigger_title_text": {"type": "plain_text_input", "value": title}},
            "pd_trigger_urgency": {"pd_trigger_urgency_choice": {
                "type": "static_select", "selected_option": {"value": "high"}}}}


async def _open_form(sb: Sandbox, user: str, text: str = "trigger") -> View:
    status, body = await sb.slack.slash_command(user, "C0PAYMENTS", text)
    assert status == 200, body
    return await until(lambda: sb.slack.open_view_for(user), what="the trigger form")


def _told(sb: Sandbox, user: str) -> list[str]:
    return [e.text for e in sb.slack.ephemerals if e.user == user]


def _service_element(view: View) -> dict[str, Any]:
    [block] = [b for b in view.view["blocks"] if b.get("block_id") == "pd_trigger_service"]
    return dict(block["element"])


async def test_a_service_past_the_first_page_is_found_by_typing_and_triggered(sandbox: Sandbox) -> None:
    _many_services(sandbox)
    view = await _open_form(sandbox, "U0BOB")
    options = await sandbox.slack.suggest(view.id, "U0BOB", SERVICE, "zeta")
    # Every service matching what was typed, other teams' too: the team check comes on submission.
    assert [(o["text"]["text"], o["value"]) for o in options] == [
        ("zeta-checkout", "PZCHECK"), ("zeta-search", "PZSRCH1")]
    assert len(await sandbox.slack.suggest(view.id, "U0BOB", SERVICE, "")) == 100  # Slack's most
    status, body = await sandbox.slack.submit_view(view.id, "U0BOB", _values("PZCHECK", "Checkout slow"))
    assert status == 200 and view.closed, body
    told = await until(lambda: _told(sandbox, "U0BOB"), what="Bob's answer")
    assert told[0].startswith("Triggered <") and "Checkout slow" in told[0]
    [incident] = sandbox.pd.incidents.values()
    assert incident.service_id == "PZCHECK"
    await until(lambda: first_root(sandbox, "C0DEFAULT"), what="the incident message")


async def test_a_service_named_in_the_command_is_preselected_and_another_teams_is_refused(
        sandbox: Sandbox) -> None:
    _many_services(sandbox)
    view = await _open_form(sandbox, "U0BOB", "trigger zeta-search")
    element = _service_element(view)
    assert element["type"] == "external_select"
    assert element["initial_option"] == {"text": {"type": "plain_text", "text": "zeta-search"}, "value": "PZSRCH1"}
    # Bob (Payments) may see the Search team's service, but not trigger on it.
    status, body = await sandbox.slack.submit_view(view.id, "U0BOB", _values("PZSRCH1", "Index stale"))
    assert status == 200, body
    told = await until(lambda: _told(sandbox, "U0BOB"), what="Bob's refusal")
    assert "only people on the Platform team can trigger incidents on zeta-search" in told[0]
    assert sandbox.pd.incidents == {}


async def test_an_options_request_with_a_bad_signature_gets_401_and_no_services(sandbox: Sandbox) -> None:
    view = await _open_form(sandbox, "U0BOB")
    sandbox.slack.sign_requests = False
    assert await sandbox.slack.suggest(view.id, "U0BOB", SERVICE, "pay") == []
    last = sandbox.slack.interactions[-1]
    assert (last.type, last.status) == ("block_suggestion", 401)
    sandbox.slack.sign_requests = True
    [payments] = await sandbox.slack.suggest(view.id, "U0BOB", SERVICE, "payments")
    assert payments["value"] == "PSVC001"
