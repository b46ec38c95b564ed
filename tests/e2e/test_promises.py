"""The promises `/pd` makes in words, kept end to end: each test is what a person types or clicks in the
simulated Slack, answered by the real API and worker, with PagerDuty simulated and a real Temporal server."""

from __future__ import annotations

import time

from api.app import create_app
from ops.sandbox import Sandbox
from simulators._slack_model import Ephemeral
from simulators.server import ServedApp

PAYMENTS, PLATFORM = "C0PAYMENTS", "C0PLATFORM"


async def _pd(sb: Sandbox, user: str, text: str, channel: str = PAYMENTS) -> list[Ephemeral]:
    """Type `/pd text`; returns what the person was shown privately because of it (so far)."""
    before = len(sb.slack.ephemerals)
    status, body = await sb.slack.slash_command(user, channel, text)
    assert status == 200, body
    return [e for e in sb.slack.ephemerals[before:] if e.user == user]


async def test_a_retried_trigger_after_a_lost_answer_pages_once_even_on_another_api(sandbox: Sandbox) -> None:
    # PagerDuty creates the incident, but its answer is lost on the way back.
    sandbox.pd.fail("/incidents", 504, count=1, method="POST", applied=True)
    [lost] = await _pd(sandbox, "U0ALICE", "trigger payments-api Checkout failing")
    assert "Run the same command again: it will not create a second incident." in lost.text
    [incident] = sandbox.pd.incidents.values()
    # The person runs it again two minutes later, and another API replica (no memory of the first) takes it.
    other = create_app(sandbox.settings, sandbox.config, clock=lambda: time.time() + 120)
    with ServedApp(other) as replica:
        sandbox.slack.commands_url = f"{replica.url}/slack/commands"
        [again] = await _pd(sandbox, "U0ALICE", "trigger payments-api Checkout failing")
    assert len(sandbox.pd.incidents) == 1, "on-call was paged twice"
    assert f"#{incident.number} Checkout failing" in again.text and "no second incident" in again.text
