"""Alert storms against a simulated Slack that enforces Slack's rate limits: one shared budget paces every
incident's calls, so every message ends right, once, with almost no 429s, and the channel gets one notice."""

from __future__ import annotations

import asyncio
import random
import uuid
from collections import Counter

import httpx
from temporalio.client import Client

from ops.bench_storm import Deliverer, StormPlan, StormResult, classify, is_final, play
from ops.sandbox import Sandbox
from simulators._slack_model import Call
from tests.e2e.conftest import SandboxFactory, until
from worker import activities, build_worker

POST_BURST, POSTS_PER_SECOND = 3, 1.0  # the bridge's default budget per channel (settings.SlackPacing)


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
    assert limited <= max(3, calls // 100), f"{limited} of {calls} Slack calls answered 429"


def _notice_open(sb: Sandbox, channel: str) -> bool:
    notices = [m for m in sb.slack.messages(channel) if "Alert storm" in m.text]
    return not notices or any("Alert storm over" not in m.text for m in notices)


async def test_two_workers_draw_on_one_budget_per_channel(make_sandbox: SandboxFactory) -> None:
    async with make_sandbox(slack_limits=True) as sb:
        assert sb.client is not None
        async with activities(sb.settings, sb.config, sb.client) as fns:
            second = build_worker(sb.client, sb.settings.temporal_task_queue, fns, identity=f"second-{uuid.uuid4()}")
            running = asyncio.create_task(second.run())
            try:
                plan = await _storm(sb, 30, seed=5)
                await until(lambda: _all_final(sb, plan), timeout=120, what="every incident's message resolved")
                workers = await _slack_workers(sb.client, sb)
            finally:
                await second.shutdown()
                await running
        counts = sb.slack.call_counts()
        paces = {channel: _most_in_any_window(_posts(sb, channel), 5.0) for channel in set(plan.channel.values())}
    assert len(workers) == 2, f"Slack calls ran on {workers}"
    # Both workers' posts together keep each channel's pace: a burst, then one a second (+1 for timing).
    assert all(pace <= POST_BURST + 5 * POSTS_PER_SECOND + 1 for pace in paces.values()), paces
    assert sum(c.ratelimited for c in counts) <= 3


async def _slack_workers(client: Client, sb: Sandbox) -> set[str]:
    """The identities of the workers that ran Slack activities for the storm's incidents."""
    identities: set[str] = set()
    async for listed in client.list_workflows(f"TaskQueue = '{sb.settings.temporal_task_queue}'"):
        async for event in client.get_workflow_handle(listed.id, run_id=listed.run_id).fetch_history_events():
            if event.HasField("activity_task_started_event_attributes"):
                identities.add(event.activity_task_started_event_attributes.identity)
    return identities
