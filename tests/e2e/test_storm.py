"""Alert storms against a simulated Slack that enforces Slack's rate limits: one shared budget paces every
incident's calls, so every message ends right, once, with almost no 429s, and the channel gets one notice."""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import subprocess
import sys
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
from temporalio.api.enums.v1 import TaskQueueType
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflowservice.v1 import DescribeTaskQueueRequest
from temporalio.client import Client
from temporalio.service import RPCError

from ops.bench_ingress import stop_process
from ops.bench_storm import Deliverer, StormPlan, StormResult, classify, is_final, play
from ops.sandbox import Sandbox
from ops.schedule import schedule_id
from simulators._slack_model import Call
from tests.e2e.conftest import SandboxFactory, until

ROOT = Path(__file__).resolve().parents[2]

POST_BURST, POSTS_PER_SECOND = 2, 1.0  # the bridge's default budget per channel (settings.SlackPacing)


async def _storm(sb: Sandbox, incidents: int, seed: int) -> StormPlan:
    """Every incident played to the end in PagerDuty, then all webhooks delivered shuffled, ~10% twice."""
    plan = StormPlan()
    async with httpx.AsyncClient(timeout=10.0) as client:
        out = Deliverer(sb, client, random.Random(seed), StormResult(incidents, 120.0, "shuffled"))
        await play(sb, plan, incidents, None, out)
        await out.drain()
    return plan


def _all_final(sb: Sandbox, plan: StormPlan) -> bool:
    roots, _ = classify(sb, plan)
    return len(roots) == len(plan.channel) and all(is_final(texts) for texts in roots.values())


def _posts(sb: Sandbox, channel: str) -> list[Call]:
    return [c for c in sb.slack.calls_to("chat.postMessage") if c.params.get("channel") == channel and c.ok]


def _most_in_any_window(calls: list[Call], window: float) -> int:
    times = sorted(c.time for c in calls)
    return max((sum(1 for t in times[i:] if t - start < window) for i, start in enumerate(times)), default=0)


async def test_storm_of_40_incidents_ends_right_once_each_with_hardly_a_429(make_sandbox: SandboxFactory) -> None:
    async with make_sandbox(slack_limits=True) as sb:
        plan = await _storm(sb, 40, seed=11)
        await until(lambda: _all_final(sb, plan), timeout=150, what="every incident's message resolved")
        await until(lambda: not any(_notice_open(sb, c) for c in set(plan.channel.values())), timeout=60,
                    what="storm notices finished")
        roots, notices = classify(sb, plan)
        counts = sb.slack.call_counts()
    assert Counter(len(texts) for texts in roots.values()) == Counter({1: 40})  # one message per incident
    assert all(notices.values())  # each channel got its storm notice
    calls, limited = sum(c.calls for c in counts), sum(c.ratelimited for c in counts)
    where = [(c.method, c.channel, c.ratelimited) for c in counts if c.ratelimited]
    assert limited <= max(5, calls // 100), f"{limited} of {calls} Slack calls answered 429: {where}"


def _notice_open(sb: Sandbox, channel: str) -> bool:
    notices = [m for m in sb.slack.messages(channel) if "Alert storm" in m.text]
    return not notices or any("Alert storm over" not in m.text for m in notices)


async def test_two_workers_draw_on_one_budget_per_channel(make_sandbox: SandboxFactory, tmp_path: Path) -> None:
    async with make_sandbox(slack_limits=True) as sb, _second_worker(sb, tmp_path):
        plan = await _storm(sb, 30, seed=5)
        await until(lambda: _all_final(sb, plan), timeout=120, what="every incident's message resolved")
        assert sb.client is not None
        workers = await _slack_workers(sb.client, sb)
        counts = sb.slack.call_counts()
        paces = {channel: _most_in_any_window(_posts(sb, channel), 5.0) for channel in set(plan.channel.values())}
    assert len(workers) == 2, f"Slack calls ran on {workers}"
    # Both workers' posts together keep each channel's pace: a burst, then one a second (+1 for timing).
    assert all(pace <= POST_BURST + 5 * POSTS_PER_SECOND + 1 for pace in paces.values()), paces
    assert sum(c.ratelimited for c in counts) <= 3


@asynccontextmanager
async def _second_worker(sb: Sandbox, tmp_path: Path) -> AsyncIterator[None]:
    """`python worker.py` in a process of its own, on the sandbox's task queue, simulators and config."""
    config = tmp_path / "bridge.toml"
    services = "\n".join(f'{service} = "{channel}"' for service, channel in sb.config.routing.services.items())
    config.write_text(f'[routing]\ndefault_channel = "{sb.config.routing.default_channel}"\n\n'
                      f"[routing.services]\n{services}\n\n[authorization]\nadmin_slack_users = [\"U0LEAD\"]\n")
    settings = sb.settings
    env = {**os.environ, "TEMPORAL_ADDRESS": str(settings.temporal_address),
           "TEMPORAL_TASK_QUEUE": settings.temporal_task_queue, "BRIDGE_CONFIG": str(config),
           "PAGERDUTY_API_URL": settings.pagerduty_api_url, "SLACK_API_URL": settings.slack_api_url,
           "PAGERDUTY_API_TOKEN": settings.secret("pagerduty_api_token"),
           "SLACK_BOT_TOKEN": settings.secret("slack_bot_token"),
           "SLACK_SIGNING_SECRET": settings.secret("slack_signing_secret"),
           "PAGERDUTY_WEBHOOK_SECRETS": settings.pagerduty_webhook_secrets}
    log = tmp_path / "worker.log"
    with log.open("wb") as out:
        process = subprocess.Popen([sys.executable, "worker.py"], cwd=ROOT, env=env, stdout=out, stderr=out)
    try:
        assert sb.client is not None
        try:
            await until_async(lambda: _pollers(sb), timeout=90, what="two workers polling the task queue")
        except AssertionError as exc:
            raise AssertionError(f"{exc}; the second worker said: {log.read_text()[-2000:]}") from None
        yield
    finally:
        stop_process(process, 20)
        with contextlib.suppress(RPCError):
            assert sb.client is not None
            await sb.client.get_schedule_handle(schedule_id(settings.temporal_task_queue)).delete()


async def _pollers(sb: Sandbox) -> bool:
    assert sb.client is not None
    response = await sb.client.workflow_service.describe_task_queue(DescribeTaskQueueRequest(
        namespace=sb.client.namespace, task_queue=TaskQueue(name=sb.settings.temporal_task_queue),
        task_queue_type=TaskQueueType.TASK_QUEUE_TYPE_ACTIVITY))
    return len({p.identity for p in response.pollers}) >= 2


async def until_async(check: Callable[[], Awaitable[bool]], timeout: float = 30.0, what: str = "condition") -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not await check():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"{what} not reached within {timeout} s")
        await asyncio.sleep(0.2)


async def _slack_workers(client: Client, sb: Sandbox) -> set[str]:
    """The identities of the workers that ran Slack activities for the storm's incidents."""
    identities: set[str] = set()
    async for listed in client.list_workflows(f"TaskQueue = '{sb.settings.temporal_task_queue}'"):
        async for event in client.get_workflow_handle(listed.id, run_id=listed.run_id).fetch_history_events():
            if event.HasField("activity_task_started_event_attributes"):
                identities.add(event.activity_task_started_event_attributes.identity)
    return identities
