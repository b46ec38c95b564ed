"""The whole bridge against simulated PagerDuty and Slack on loopback: used by `dev.py run` when no
credentials are configured, and by the end-to-end tests. Every part is real: HTTP servers, signed
webhooks and interactions, the API, the worker, and a Temporal server."""

from __future__ import annotations

import asyncio
import contextlib
import secrets
from contextlib import AsyncExitStack
from typing import Any

from pydantic import SecretStr
from temporalio.client import Client
from temporalio.service import RPCError
from temporalio.worker import Worker

from activities.pacing import ensure_budget
from activities.pagerduty_scopes import RUNTIME_SCOPES
from activities.sweep import warning_workflow_id
from api.app import create_app
from ops.oncall_groups import ensure_oncall_groups, oncall_workflow_id
from ops.schedule import ensure_sweep_schedule, schedule_id
from ops.stall import reported_if_slow
from settings import Authorization, BridgeConfig, Identity, Routing, Settings, Timing
from simulators.pagerduty import PagerDutySimulator
from simulators.server import ServedApp
from simulators.slack import USERGROUP_SCOPES, SlackSimulator
from worker import activities, build_worker, connect, ensure_search_attributes, pacing_limits
from workflows.notify_prefs import notify_workflow_id

ROUTES = {"PSVC001": "C0PAYMENTS", "PSVC002": "C0PLATFORM"}
APP_CLIENT_ID = "sandbox-bridge-app"


def sandbox_config(timing: Timing | None = None, **authorization: Any) -> BridgeConfig:
    return BridgeConfig(
        routing=Routing(default_channel="C0DEFAULT", services=ROUTES),
        identity=Identity(),
        authorization=Authorization(admin_slack_users=["U0LEAD"], **authorization),
        timing=timing or Timing(),
    )


class Sandbox:
    """Simulators + API + worker. Use `async with Sandbox(address) as sb:`.

    `slack_limits=True` makes the simulated Slack enforce Slack's rate limits (429 + Retry-After).
    `pd_oauth=True` runs the bridge on a Scoped OAuth app's credentials instead of an API key; the app is given
    every scope the bridge asks for, or the ones listed (`pd_oauth={"incidents.read", ...}`).
    """

    def __init__(self, temporal_address: str, *, namespace: str = "default", task_queue: str = "pd-slack-bridge",
                 config: BridgeConfig | None = None, api_port: int = 0, pd_port: int = 0, slack_port: int = 0,
                 run_worker: bool = True, slack_limits: bool = False, sweep: bool = False,
                 pd_oauth: bool | set[str] = False) -> None:
        self.config = config or sandbox_config()
        self._ports = (api_port, pd_port, slack_port)
        self._run_worker = run_worker
        # Off by default: a sweep firing in the middle of a test would start workflows the test does not expect.
        self._sweep = sweep
        webhook_secret, signing_secret = secrets.token_hex(16), secrets.token_hex(16)
        self.pd = PagerDutySimulator(token="sandbox-pagerduty-token", webhook_secret=webhook_secret)
        self.slack = SlackSimulator(signing_secret=signing_secret, bot_token="xoxb-sandbox-token",
                                    rate_limits=slack_limits)
        self.pd.seed_demo()
        # The on-call lead is an admin in the sandbox config and needs a PagerDuty user to act as.
        self.pd.add_user("PULEAD1", "Lee Lead", "lead@example.com")
        self.slack.seed_demo()
        self.slack.scopes += USERGROUP_SCOPES
        self.settings = Settings(
            temporal_address=temporal_address, temporal_namespace=namespace, temporal_task_queue=task_queue,
            pagerduty_api_token=SecretStr("sandbox-pagerduty-token"), pagerduty_webhook_secrets=webhook_secret,
            slack_bot_token=SecretStr("xoxb-sandbox-token"), slack_signing_secret=SecretStr(signing_secret),
        )
        if pd_oauth:
            client_secret = secrets.token_hex(16)
            self.pd.register_app(APP_CLIENT_ID, client_secret,
                                 RUNTIME_SCOPES if pd_oauth is True else set(pd_oauth))
            self.settings = self.settings.model_copy(update={
                "pagerduty_api_token": None, "pagerduty_client_id": APP_CLIENT_ID,
                "pagerduty_client_secret": SecretStr(client_secret), "pagerduty_subdomain": self.pd.subdomain,
                "pagerduty_region": self.pd.region})
        self._stack = AsyncExitStack()
        self.worker: Worker | None = None
        self.client: Client | None = None
        self.api: ServedApp | None = None
        self._worker_task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> Sandbox:
        api_port, pd_port, slack_port = self._ports
        pd_server = self._stack.enter_context(ServedApp(self.pd.app, port=pd_port))
        slack_server = self._stack.enter_context(ServedApp(self.slack.app, port=slack_port))
        self.settings = self.settings.model_copy(update={
            "pagerduty_api_url": pd_server.url, "slack_api_url": f"{slack_server.url}/api/",
            "pagerduty_oauth_url": f"{pd_server.url}/oauth/token"})
        self.api = self._stack.enter_context(ServedApp(create_app(self.settings, self.config), port=api_port))
        self.pd.webhook_url = f"{self.api.url}/pagerduty/webhooks"
        self.slack.interactions_url = f"{self.api.url}/slack/interactions"
        self.slack.commands_url = f"{self.api.url}/slack/commands"
        self.slack.options_url = f"{self.api.url}/slack/options"
        self.slack.public_url = slack_server.url
        self._stack.callback(self.pd.close)
        self.client = await connect(self.settings)
        await ensure_search_attributes(self.client, self.settings.temporal_namespace)
        await ensure_budget(self.client, self.settings.temporal_task_queue, pacing_limits(self.config))
        if self._run_worker:
            await self.start_worker()
        if self.config.oncall_groups:
            await ensure_oncall_groups(self.client, self.settings.temporal_task_queue, self.config)
            self._stack.push_async_callback(self._stop_oncall_groups)
        self._stack.push_async_callback(self._stop_notify_preferences)
        if self._sweep:
            await ensure_sweep_schedule(self.client, self.settings.temporal_task_queue,
                                        self.config.timing.sweep_interval_seconds)
            self._stack.push_async_callback(self._delete_schedule)
        return self

    async def _delete_schedule(self) -> None:
        assert self.client is not None
        task_queue = self.settings.temporal_task_queue
        await self.client.get_schedule_handle(schedule_id(task_queue)).delete()
        with contextlib.suppress(RPCError):  # no warning workflow when no sweep ran
            await self.client.get_workflow_handle(warning_workflow_id(task_queue)).terminate("sandbox closed")

    async def _stop_oncall_groups(self) -> None:
        assert self.client is not None
        with contextlib.suppress(RPCError):
            await self.client.get_workflow_handle(oncall_workflow_id(self.settings.temporal_task_queue)).terminate(
                "sandbox closed")

    async def _stop_notify_preferences(self) -> None:
        assert self.client is not None
        with contextlib.suppress(RPCError):  # started by the first /pd notify on|off only
            await self.client.get_workflow_handle(notify_workflow_id(self.settings.temporal_task_queue)).terminate(
                "sandbox closed")

    async def start_worker(self) -> None:
        assert self.client is not None
        fns = await self._stack.enter_async_context(activities(self.settings, self.config, self.client))
        self.worker = build_worker(self.client, self.settings.temporal_task_queue, fns)
        self._worker_task = asyncio.create_task(self.worker.run())

    async def stop_worker(self) -> None:
        if self.worker is not None and self._worker_task is not None:
            await self.worker.shutdown()
            await self._worker_task
            self.worker = self._worker_task = None

    async def __aexit__(self, *exc: object) -> None:
        async with reported_if_slow("stopping the sandbox's worker"):
            await self.stop_worker()
        async with reported_if_slow("closing the sandbox"):
            await self._stack.aclose()

    @property
    def api_url(self) -> str:
        assert self.api is not None
        return self.api.url
