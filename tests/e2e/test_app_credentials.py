"""The bridge on a PagerDuty Scoped OAuth app's credentials, and PagerDuty's rate limit, end to end."""

from __future__ import annotations

import json

from activities.pagerduty_scopes import RUNTIME_SCOPES
from ops.sandbox import Sandbox
from simulators._slack_model import Message
from tests.e2e.conftest import SandboxFactory, first_root, reply_texts, status_of, until

CHANNEL = "C0PAYMENTS"


async def _incident(sb: Sandbox, title: str = "Payments failing") -> tuple[str, Message]:
    incident = sb.pd.trigger("PSVC001", title)
    return incident, await until(lambda: first_root(sb, CHANNEL), what="root message")


def _every_version(message: Message) -> str:
    return json.dumps([message.blocks, *[v["blocks"] for v in message.history], [r.text for r in message.replies]])


async def test_clicks_go_through_a_token_expiry(make_sandbox: SandboxFactory) -> None:
    async with make_sandbox(pd_oauth=True) as sb:
        assert sb.settings.pagerduty_api_token is None
        incident, message = await _incident(sb)
        await sb.slack.click(CHANNEL, message.ts, "pd_acknowledge", "U0ALICE")
        await until(lambda: status_of(message) == "acknowledged", timeout=30, what="acknowledged")
        issued = sb.pd.tokens_issued
        assert sb.pd.expire_tokens() >= 1  # PagerDuty ends the token early (or a day has passed)
        await sb.slack.click(CHANNEL, message.ts, "pd_resolve", "U0BOB")
        await until(lambda: status_of(message) == "resolved", timeout=30, what="resolved after the expiry")
        await until(lambda: len(reply_texts(message)) >= 2, what="timeline")
        assert reply_texts(message) == [":heavy_check_mark: Acknowledged by <@U0ALICE> from Slack",
                                        ":heavy_check_mark: Resolved by <@U0BOB> from Slack"]
        assert sb.pd.incidents[incident].last_status_change_by == "PUBOB01"
        assert sb.pd.tokens_issued > issued
        puts = [(r.status, r.headers.get("from")) for r in sb.pd.requests if r.method == "PUT"]
        assert puts == [(200, "alice@example.com"), (200, "bob@example.com")]
        # The first request with the expired token got 401 and went again at once with a new one.
        requests = list(sb.pd.requests)
        refused = [n for n, r in enumerate(requests) if r.status == 401]
        assert refused and all(any((later.method, later.path, later.status) == (requests[n].method, requests[n].path,
                                                                                 200) for later in requests[n + 1:])
                               for n in refused)
        assert all(r.headers["authorization"].startswith("Bearer ") for r in sb.pd.requests
                   if r.path != "/oauth/token")
        assert "warning" not in _every_version(message)


async def test_a_scope_the_app_lacks_is_explained_to_the_person_who_clicked(make_sandbox: SandboxFactory) -> None:
    async with make_sandbox(pd_oauth=set(RUNTIME_SCOPES) - {"oncalls.read"}) as sb:
        _, message = await _incident(sb)
        await sb.slack.click(CHANNEL, message.ts, "pd_escalate", "U0ALICE")
        await until(lambda: reply_texts(message), timeout=30, what="failure reply")
        reply = reply_texts(message)[0]
        assert reply.startswith(":warning: Escalating for <@U0ALICE> failed: PagerDuty refused: ")
        assert "the bridge's PagerDuty app lacks the scope oncalls.read" in reply
        assert "A PagerDuty admin adds oncalls.read to the app (Integrations → App Registration" in reply
        told = [e.text for e in sb.slack.ephemerals if e.user == "U0ALICE"]
        assert any("lacks the scope oncalls.read" in text for text in told)
        assert [r.status for r in sb.pd.requests if r.path == "/oncalls"] == [403]  # refused, not retried


async def test_a_429_is_waited_out_without_troubling_the_click(sandbox: Sandbox) -> None:
    _, message = await _incident(sandbox)
    sandbox.pd.fail("/incidents/", 429, count=1, method="PUT", headers={"ratelimit-reset": "2"})
    await sandbox.slack.click(CHANNEL, message.ts, "pd_acknowledge", "U0ALICE")
    await until(lambda: status_of(message) == "acknowledged", timeout=30, what="acknowledged")
    await until(lambda: reply_texts(message), what="timeline reply")
    assert [r.status for r in sandbox.pd.requests if r.method == "PUT"] == [429, 200]
    shown = _every_version(message)
    assert "rate limit" not in shown and "retrying" not in shown and "warning" not in shown
