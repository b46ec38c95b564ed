"""The sweep and webhook-warning workflows on the time-skipping server, with the real activities against
the PagerDuty and Slack simulators over loopback (the simulated PagerDuty sends no webhooks here)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from prometheus_client import REGISTRY
from pydantic import SecretStr
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from activities.sweep import warning_workflow_id
from ops.sandbox import sandbox_config
from settings import Settings
from simulators._slack_model import Message
from simulators.pagerduty import PagerDutySimulator
from simulators.server import ServedApp, stop_all
from simulators.slack import SlackSimulator
from tests.e2e.conftest import until
from tests.workflows.fakes import eventually
from worker import activities, build_worker
from workflows.incident import IncidentWorkflow
from workflows.models import IncidentState
from workflows.sweep import SweepWorkflow, WebhookWarningWorkflow
from workflows.sweep_models import SubscriptionState, SweepInput, SweepResult, WarningState

BRIDGE_URL = "https://bridge.example.com/pagerduty/webhooks"


@dataclass
class Rig:
    env: WorkflowEnvironment
    client: Client
    queue: str
    pd: PagerDutySimulator
    slack: SlackSimulator

    async def sweep(self) -> SweepResult:
        # In real time: while a sweep's activity waits to start, nothing else is due but the long-running
        # workflows' implicit execution timeout, and a skipping clock would jump ten years to it, ending them.
        with self.env.auto_time_skipping_disabled():
            return await self.client.execute_workflow(SweepWorkflow.run, SweepInput(), id=f"sweep-{uuid.uuid4()}",
                                                      task_queue=self.queue)

    async def warning(self) -> WarningState:
        handle = self.client.get_workflow_handle_for(WebhookWarningWorkflow.run, warning_workflow_id(self.queue))
        return await handle.query(WebhookWarningWorkflow.state)

    def list_calls(self) -> int:
        return sum(1 for r in self.pd.requests if r.method == "GET" and r.path == "/incidents")

    def roots(self, channel: str) -> list[Message]:
        return self.slack.messages(channel)


@asynccontextmanager
async def rig(env: WorkflowEnvironment, page_size: int = 100) -> AsyncIterator[Rig]:
    pd = PagerDutySimulator(token="pd-token")
    slack = SlackSimulator(signing_secret="sign", bot_token="xoxb-token")
    pd.seed_demo()
    slack.seed_demo()
    pd_server, slack_server = ServedApp(pd.app).start(), ServedApp(slack.app).start()
    settings = Settings(pagerduty_api_token=SecretStr("pd-token"), pagerduty_api_url=pd_server.url,
                        slack_bot_token=SecretStr("xoxb-token"), slack_api_url=f"{slack_server.url}/api/")
    queue = f"sweep-{uuid.uuid4().hex[:8]}"
    try:
        async with (activities(settings, sandbox_config(), env.client, sweep_page_size=page_size) as fns,
                    build_worker(env.client, queue, fns)):
            yield Rig(env, env.client, queue, pd, slack)
    finally:
        stop_all(pd_server, slack_server)
        pd.close()


async def test_an_incident_no_webhook_announced_is_posted_after_a_sweep(ts_env: WorkflowEnvironment) -> None:
    async with rig(ts_env) as r:
        incident = r.pd.trigger("PSVC001", "Ledger lag <growing>", webhooks=False)
        first = await r.sweep()
        message = await until(lambda: next(iter(r.roots("C0PAYMENTS")), None), what="the swept incident's message")
        second = await r.sweep()
        state = await r.client.get_workflow_handle_for(IncidentWorkflow.run, f"pd-incident-{incident}").query(
            IncidentWorkflow.state)
    assert first.started == [incident] and first.listed == 1
    assert second.started == [] and second.listed == 1  # its workflow runs: left alone
    assert "Ledger lag &lt;growing&gt;" in message.text and message.text.startswith("[TRIGGERED]")
    assert len(r.roots("C0PAYMENTS")) == 1
    assert isinstance(state, IncidentState) and state.known
    assert [e for e in state.seen_event_ids if e.startswith("sweep-")] == [state.seen_event_ids[0]]


async def test_many_open_incidents_cost_one_list_call_per_page(ts_env: WorkflowEnvironment) -> None:
    async with rig(ts_env, page_size=3) as r:
        opened = [r.pd.trigger("PSVC002", f"Replica {n} behind", webhooks=False) for n in range(7)]
        resolved = r.pd.trigger("PSVC002", "Already over", webhooks=False)
        r.pd.resolve(resolved, "PUCAROL")
        result = await r.sweep()
        await until(lambda: len(r.roots("C0PLATFORM")) == 7, what="seven incident messages")
    assert sorted(result.started) == sorted(opened)
    assert result.pages == 3 and r.list_calls() == 3
    assert not any(r.path == f"/incidents/{resolved}" for r in r.pd.requests)


async def test_a_disabled_subscription_gets_one_warning_kept_up_to_date(ts_env: WorkflowEnvironment) -> None:
    async with rig(ts_env) as r:
        sub = r.pd.create_subscription({"delivery_method": {"url": BRIDGE_URL}, "events": ["incident.triggered"]})
        r.pd.disable_subscription(sub["id"])
        assert (await r.sweep()).webhooks is SubscriptionState.DISABLED
        warning = await until(lambda: next(iter(r.roots("C0DEFAULT")), None), what="the webhook warning")
        await r.sweep()
        await eventually(lambda: _checks(r, 2), what="the second report")
        assert len(r.roots("C0DEFAULT")) == 1 and warning.update_count == 0
        assert sub["id"] in warning.text and "/enable" in warning.text
        assert _gauge("disabled") == 1 and _gauge("active") == 0

        r.pd.delete_subscription(sub["id"])
        await r.sweep()
        await until(lambda: warning.update_count == 1, timeout=60, what="the warning edited to 'missing'")
        assert "not set up" in warning.text and "ctl subscribe" in warning.text

        r.pd.create_subscription({"delivery_method": {"url": BRIDGE_URL}, "events": ["incident.triggered"]})
        assert (await r.sweep()).webhooks is SubscriptionState.ACTIVE
        await until(lambda: warning.update_count == 2, what="the warning edited to 'resolved'")
        await r.sweep()
        await eventually(lambda: _checks(r, 5), what="the fifth report")
    assert warning.text.startswith(":white_check_mark: Resolved")
    assert len(r.roots("C0DEFAULT")) == 1 and warning.update_count == 2
    assert _gauge("active") == 1 and _gauge("missing") == 0


async def test_the_problem_coming_back_gets_a_fresh_warning(ts_env: WorkflowEnvironment) -> None:
    async with rig(ts_env) as r:
        await r.sweep()  # no subscription at all
        await until(lambda: len(r.roots("C0DEFAULT")) == 1, what="the first warning")
        sub = r.pd.create_subscription({"delivery_method": {"url": BRIDGE_URL}, "events": ["incident.triggered"]})
        await r.sweep()
        await until(lambda: r.roots("C0DEFAULT")[0].text.startswith(":white_check_mark:"), what="resolved")
        r.pd.disable_subscription(sub["id"], temporarily=False)
        await r.sweep()
        await until(lambda: len(r.roots("C0DEFAULT")) == 2, what="a new warning below the resolved one")
    assert "stopped sending webhooks" in r.roots("C0DEFAULT")[1].text


async def _checks(r: Rig, count: int) -> bool:
    return (await r.warning()).checks >= count


def _gauge(state: str) -> float | None:
    return REGISTRY.get_sample_value("bridge_pagerduty_webhook_subscription", {"state": state})
