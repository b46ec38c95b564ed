"""The Temporal worker: `python worker.py`. Builds the clients, checks search attributes, makes sure the
sweep's schedule exists, runs the incident and sweep workflows and their activities until interrupted."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import Any

import httpx
from slack_sdk.web.async_client import AsyncWebClient
from temporalio.api.enums.v1 import IndexedValueType
from temporalio.api.operatorservice.v1 import AddSearchAttributesRequest, ListSearchAttributesRequest
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.service import RPCError, RPCStatusCode
from temporalio.worker import Worker

from activities.channels import ChannelActivities
from activities.direct_messages import DirectMessageActivities
from activities.identity import Directory, IdentityActivities
from activities.metrics import IDENTITY_MISSES
from activities.oncall import OncallActivities
from activities.pacing import BudgetActivities, TurnActivities, ensure_budget
from activities.pagerduty import PagerDutyActivities
from activities.pagerduty_api import PagerDutyApi
from activities.pagerduty_auth import credentials_from
from activities.pagerduty_pace import Pace
from activities.priorities import Priorities
from activities.recall import RecallActivities
from activities.slack import SlackActivities
from activities.sweep import PAGE_SIZE, SweepActivities
from ops.oncall_groups import ensure_oncall_groups
from ops.schedule import ensure_sweep_schedule, schedule_id
from ops.stall import exit_without_teardown, reported_if_slow, stacks
from settings import BridgeConfig, ConfigError, Settings, load_config
from workflows import search
from workflows.budget import Limits
from workflows.incident import IncidentWorkflow
from workflows.notify_prefs import NotifyPreferencesWorkflow
from workflows.oncall import OncallGroupsWorkflow
from workflows.pacing import SlackBudgetWorkflow
from workflows.sweep import SweepWorkflow, WebhookWarningWorkflow

log = logging.getLogger("bridge.worker")
# A stop lets calls in flight finish (an acknowledge already sent to PagerDuty is answered, not cut and resent
# by the next worker a call timeout later), within the compose file's stop_grace_period of 30 s.
GRACEFUL_STOP = timedelta(seconds=20)

INDEXED_TYPES = {
    "KEYWORD": IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD,
    "INT": IndexedValueType.INDEXED_VALUE_TYPE_INT,
    "BOOL": IndexedValueType.INDEXED_VALUE_TYPE_BOOL,
}
CLI_TYPES = {"KEYWORD": "Keyword", "INT": "Int", "BOOL": "Bool"}


class SearchAttributesMissing(Exception):
    pass


def _wanted() -> dict[str, str]:
    return {key.name: key.indexed_value_type.name for key in search.ALL_KEYS}


def register_command(namespace: str, missing: dict[str, str]) -> str:
    return "\n".join(
        f"temporal operator search-attribute create --namespace {namespace} --name {name} --type {CLI_TYPES[kind]}"
        for name, kind in missing.items()
    )


async def ensure_search_attributes(client: Client, namespace: str) -> None:
    """Register the incident search attributes that are missing, or explain exactly how to."""
    listed = await client.operator_service.list_search_attributes(ListSearchAttributesRequest(namespace=namespace))
    present = set(listed.custom_attributes) | set(listed.system_attributes)
    missing = {name: kind for name, kind in _wanted().items() if name not in present}
    if not missing:
        return
    try:
        await client.operator_service.add_search_attributes(AddSearchAttributesRequest(
            namespace=namespace,
            search_attributes={name: INDEXED_TYPES[kind] for name, kind in missing.items()}))
    except RPCError as exc:
        if exc.status in {RPCStatusCode.PERMISSION_DENIED, RPCStatusCode.UNAUTHENTICATED}:
            raise SearchAttributesMissing(
                "the worker may not register its search attributes; ask a Temporal admin to run:\n"
                + register_command(namespace, missing)) from None
        raise
    log.info("registered search attributes %s", ", ".join(missing))


def pacing_limits(config: BridgeConfig) -> Limits:
    return Limits.model_validate(config.slack.model_dump())


@asynccontextmanager
async def activities(settings: Settings, config: BridgeConfig, client: Client,
                     sweep_page_size: int = PAGE_SIZE) -> AsyncIterator[list[Callable[..., Any]]]:
    """The activity instances with their shared clients, closed on exit."""
    async with httpx.AsyncClient(base_url=settings.pagerduty_api_url, timeout=20) as http:
        pd = PagerDutyApi(http, credentials_from(settings, http), Pace(config.pagerduty.requests_per_minute))
        slack = AsyncWebClient(token=settings.secret("slack_bot_token"), base_url=settings.slack_api_url,
                               timeout=20)
        directory = Directory(pd, slack, config, on_miss=lambda d: IDENTITY_MISSES.labels(d).inc())
        slack_acts = SlackActivities(slack, directory, config, Priorities(pd))
        pd_acts, identity = PagerDutyActivities(pd), IdentityActivities(directory, config)
        budget = BudgetActivities(client, pacing_limits(config))
        turns, recall = TurnActivities(client, pacing_limits(config)), RecallActivities(client)
        sweep = SweepActivities(pd, slack, config, page_size=sweep_page_size)
        channels = ChannelActivities(slack, directory, pd)
        oncall = OncallActivities(pd, slack, directory, config)
        direct = DirectMessageActivities(client, slack, directory, config)
        yield [pd_acts.read_incident, pd_acts.write, pd_acts.write_landed, pd_acts.escalation_target,
               identity.resolve_actor,
               slack_acts.post_message, slack_acts.update_message, slack_acts.post_reply, slack_acts.tell_user,
               slack_acts.route, slack_acts.post_notice, budget.ask, turns.turn, recall.recall,
               sweep.list_open_incidents, sweep.start_missing, sweep.check_webhooks, sweep.report_webhook_health,
               sweep.show_warning, channels.create_channel, channels.invite, channels.post_summary,
               channels.archive, channels.set_conference_link, oncall.sync, oncall.warn,
               direct.open_direct_message]


def build_worker(client: Client, task_queue: str, activity_fns: list[Callable[..., Any]],
                 identity: str | None = None, graceful: timedelta = timedelta(0)) -> Worker:
    """`graceful`: how long calls in flight may go on once the worker is asked to stop, before they are cut."""
    return Worker(client, task_queue=task_queue, identity=identity,
                  workflows=[IncidentWorkflow, SlackBudgetWorkflow, SweepWorkflow, WebhookWarningWorkflow,
                             OncallGroupsWorkflow, NotifyPreferencesWorkflow],
                  activities=activity_fns, graceful_shutdown_timeout=graceful)


async def ensure_schedule(client: Client, task_queue: str, config: BridgeConfig) -> None:
    """The sweep is a safety net: a worker that may not manage schedules still runs, loudly."""
    try:
        await ensure_sweep_schedule(client, task_queue, config.timing.sweep_interval_seconds)
    except RPCError as exc:
        log.error("the sweep's schedule %s could not be created or updated (%s): incidents whose trigger webhook "
                  "is lost will not reach Slack; give the worker's Temporal identity permission to manage "
                  "schedules", schedule_id(task_queue), exc.message)


async def connect(settings: Settings) -> Client:
    address = settings.temporal_address or "localhost:7233"
    return await Client.connect(address, namespace=settings.temporal_namespace,
                                data_converter=pydantic_data_converter)


async def run_worker(settings: Settings, config: BridgeConfig, stop: asyncio.Event | None = None,
                     polling: asyncio.Event | None = None) -> None:
    client = await connect(settings)
    await ensure_search_attributes(client, settings.temporal_namespace)
    await ensure_budget(client, settings.temporal_task_queue, pacing_limits(config))
    await ensure_schedule(client, settings.temporal_task_queue, config)
    await ensure_oncall_groups(client, settings.temporal_task_queue, config)
    async with (activities(settings, config, client) as fns,
                build_worker(client, settings.temporal_task_queue, fns, graceful=GRACEFUL_STOP) as worker):
        log.info("worker polling task queue %s on %s", settings.temporal_task_queue,
                 settings.temporal_address or "localhost:7233")
        if polling is not None:
            polling.set()
        await (stop or asyncio.Event()).wait()
        grace = GRACEFUL_STOP.total_seconds()
        log.info("stopping: polling for work ends; PagerDuty and Slack calls in flight have up to %.0f s to "
                 "finish", grace)
        # Reported before a 30 s grace period (compose, Kubernetes' default) runs out and SIGKILL comes.
        async with reported_if_slow("the worker's shutdown", after=grace + 5):
            await worker.shutdown()
        log.info("stopped")


async def run_until_signalled(settings: Settings, config: BridgeConfig) -> None:
    """The worker until SIGTERM (a deploy, `docker compose stop`) or SIGINT, then a graceful stop. A second
    signal stops at once, after logging what the graceful stop was waiting on."""
    stop = asyncio.Event()
    work = asyncio.current_task()

    def signalled() -> None:
        if not stop.is_set():
            stop.set()
            if not polling.is_set() and work is not None:
                work.cancel()  # still starting (connecting to Temporal…): nothing in flight to wait for
            return
        log.error("stopping at once on a second signal; the graceful stop was waiting on:\n%s", stacks())
        os._exit(1)

    polling = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, signalled)
    try:
        await run_worker(settings, config, stop, polling)
    except asyncio.CancelledError:
        if not stop.is_set():
            raise
        log.info("stopped while starting")


def main() -> int:
    from ops.logs import setup_logging
    from ops.metrics_server import serve_worker_metrics

    setup_logging()
    try:
        settings = Settings()
        config = load_config(settings.bridge_config)
    except (ConfigError, ValueError) as exc:
        log.error("cannot start: %s", exc)
        return 2
    serve_worker_metrics(os.environ.get("WORKER_METRICS_PORT"))
    try:
        asyncio.run(run_until_signalled(settings, config))
    except ConfigError as exc:
        log.error("cannot start: %s", exc)
        return 2
    except SearchAttributesMissing as exc:
        log.error("%s", exc)
        return 3
    except KeyboardInterrupt:
        return 0
    return 0


if __name__ == "__main__":
    exit_without_teardown(main())
