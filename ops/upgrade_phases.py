"""The incidents of `dev.py upgrade-check`: each put in one phase by the old release (`prepare`), then driven
to the end once the new release runs (`drive`). People act as they would: signed Slack clicks and the note
modal through the Slack simulator, changes in PagerDuty through its control API, faults through its knobs."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from ops.upgrade_world import Stalled, World, status_of, thread_lines, until

PAYMENTS, PLATFORM = "C0PAYMENTS", "C0PLATFORM"  # PSVC001 and PSVC002 are routed here (see the config)
STORM = 20
ACK_ALICE, RESOLVED = "Acknowledged by <@U0ALICE>", "Resolved by <@{}>"


@dataclass
class Case:
    """One incident: the phase it is in at the swap, and what its thread must hold at the end."""

    key: str
    phase: str
    title: str
    channel: str = PAYMENTS
    incident: str = ""
    number: int = 0
    expect: list[str] = field(default_factory=list)  # each exactly once in the thread
    dedicated: str | None = None  # its own channel (phase e)
    dedicated_expect: list[str] = field(default_factory=list)
    notes: int | None = None  # notes PagerDuty must hold at the end
    must_complete: bool = False  # its workflow must end (linger over) under the new release
    at_swap: str = ""  # what was true of it at the swap
    problem: str = ""  # what went wrong driving it
    after: str = ""  # how it was driven to the end under the new release

    @property
    def workflow_id(self) -> str:
        return f"pd-incident-{self.incident}"


def plan() -> list[Case]:
    cases = [
        Case("a", "a open", "upgrade-check a: open", expect=[RESOLVED.format("U0BOB")]),
        Case("b", "b ack in flight", "upgrade-check b: acknowledged, write retrying",
             expect=[ACK_ALICE, RESOLVED.format("U0ALICE")]),
        Case("c", "c note, echo held", "upgrade-check c: note without its echo",
             expect=["Note by <@U0ALICE>", RESOLVED.format("U0BOB")], notes=1),
        Case("d", "d resolved, lingering", "upgrade-check d: resolved and lingering",
             expect=[RESOLVED.format("U0BOB")], must_complete=True),
        Case("e", "e dedicated channel", "upgrade-check e: with its own channel",
             dedicated_expect=[RESOLVED.format("U0ALICE")]),
        Case("g", "g old message clicked", "upgrade-check g: clicked after the swap",
             expect=["Note by <@U0BOB>", "Acknowledged by <@U0BOB>", RESOLVED.format("U0BOB")], notes=1),
        Case("h", "h lost trigger, swept", "upgrade-check h: no webhook, found by the sweep",
             expect=[RESOLVED.format("U0ALICE")]),
    ]
    cases += [Case(f"f{n:02d}", "f storm, in the budget", f"upgrade-check storm {n:02d}", channel=PLATFORM,
                   expect=[RESOLVED.format("U0CAROL")]) for n in range(1, STORM + 1)]
    return cases


def by_key(cases: list[Case]) -> dict[str, Case]:
    return {c.key: c for c in cases}


async def posted(world: World, case: Case, timeout: float = 60.0) -> None:
    await until(lambda: world.root(case.channel, case.number, case.title), f"{case.phase}: its message", timeout)


def has_line(world: World, case: Case, text: str, channel: str | None = None) -> bool:
    message = world.root(channel or case.channel, case.number, case.title)
    return message is not None and any(text in line for line in thread_lines(message))


# ---- before the swap: the old release -------------------------------------------------------------------


async def prepare(world: World, cases: list[Case]) -> None:
    """Phases a, b, c, d, e and g; h and the storm come later (see `lose_trigger`, `start_storm`)."""
    k = by_key(cases)
    first = [k[key] for key in "abcdeg"]
    for case in first:
        case.incident, case.number = await world.trigger("PSVC001", case.title)
    for case in first:
        await posted(world, case)
    a, b, c, d, e, g = first
    a.at_swap = "triggered, message posted, untouched"
    await asyncio.gather(_dedicated(world, e), _resolve_early(world, d), _note_unechoed(world, c),
                         _ack_retrying(world, b))
    message = world.root(g.channel, g.number, g.title)
    revision = message.update_count if message else "?"
    g.at_swap = f"triggered, message as the old release rendered it (revision {revision})"


async def _dedicated(world: World, case: Case) -> None:
    message = world.root(case.channel, case.number, case.title)
    assert message is not None
    await world.click(case.channel, message, "pd_create_channel", "U0ALICE")
    prefix = f"inc-{case.number}-"
    channel = await until(lambda: next((c for c in world.slack.created_channels() if c.name.startswith(prefix)),
                                       None), f"{case.phase}: the incident's channel")
    case.dedicated = channel.id
    case.expect = [f"<#{channel.id}>"]  # the service thread links to it, once
    await until(lambda: world.root(channel.id, case.number, case.title),
                f"{case.phase}: the message in #{channel.name}")
    case.at_swap = f"own channel #{channel.name} created from the Create channel control, its message posted"


async def _resolve_early(world: World, case: Case) -> None:
    message = world.root(case.channel, case.number, case.title)
    assert message is not None
    await world.click(case.channel, message, "pd_resolve", "U0BOB")
    await until(lambda: status_of(message) == "resolved" and has_line(world, case, "Resolved by"),
                f"{case.phase}: resolved in Slack")
    case.at_swap = "resolved from Slack, message final, workflow lingering"


async def _note_unechoed(world: World, case: Case) -> None:
    message = world.root(case.channel, case.number, case.title)
    assert message is not None
    await world.hold_webhooks(case.incident)
    await world.write_note(case.channel, message, "U0ALICE", "upgrade-check: rolled back deploy 142")
    await until(lambda: world.notes(case.incident) and world.pd.held_for(case.incident),
                f"{case.phase}: the note in PagerDuty, its webhook held")
    case.at_swap = (f"note written to PagerDuty from the Slack modal; {world.pd.held_for(case.incident)} webhook(s) "
                    "of the incident held back by the simulator")


async def _ack_retrying(world: World, case: Case) -> None:
    message = world.root(case.channel, case.number, case.title)
    assert message is not None
    await world.fail_writes(case.incident)
    await world.click(case.channel, message, "pd_acknowledge", "U0ALICE")
    await until(lambda: world.failed_writes(case.incident) >= 2, f"{case.phase}: the write retrying", 60)


async def lose_trigger(world: World, case: Case) -> None:
    case.incident, case.number = await world.trigger("PSVC001", case.title, webhooks=False)
    case.at_swap = "triggered in PagerDuty without any webhook; no workflow, no message"


async def start_storm(world: World, storm: list[Case], queued: Callable[[], Awaitable[int | None]]) -> int | None:
    """Slack's limits on, then every storm incident triggered at once on the platform service; returns once
    the budget grants its first posts with most of the storm waiting in its queue (`queued` asks it)."""
    await world.slack_limits(True)
    found = await asyncio.gather(*(world.trigger("PSVC002", case.title) for case in storm))
    for case, (incident, number) in zip(storm, found, strict=True):
        case.incident, case.number = incident, number
    deadline = time.monotonic() + 60
    while True:
        posts, waiting = sum(world.root(c.channel, c.number, c.title) is not None for c in storm), await queued()
        if posts >= 2 and (waiting is None or waiting >= len(storm) // 2):
            return waiting
        if time.monotonic() > deadline:
            raise Stalled(f"storm: {posts} posted, {waiting} asks in the budget's queue after 60 s")
        await asyncio.sleep(0.2)


def note_at_swap(world: World, cases: list[Case], queued: int | None) -> None:
    k = by_key(cases)
    k["b"].at_swap = (f"acknowledged from Slack; PagerDuty answered {world.failed_writes(k['b'].incident)} "
                      "write(s) with 503, the write retrying")
    storm = [c for c in cases if c.key.startswith("f")]
    waiting = sum(world.root(c.channel, c.number, c.title) is None for c in storm)
    for case in storm:
        unposted = world.root(case.channel, case.number, case.title) is None
        where = "waiting in the budget" if unposted else "already posted"
        case.at_swap = (f"{where} ({waiting} of {len(storm)} storm incidents not yet posted, {queued} asks waiting in "
                        "the budget's queue, Slack's rate limits on)")


# ---- after the swap: the new release ------------------------------------------------------------------


async def drive(world: World, cases: list[Case], sweep_done: asyncio.Event) -> None:
    """Every incident to the end, concurrently; a driver that stalls records its problem on its case."""
    k = by_key(cases)
    drivers = {"a": _resolve_in_pagerduty(world, k["a"], "PUBOB01"), "b": _after_retry(world, k["b"]),
               "c": _after_echo(world, k["c"]), "e": _resolve_dedicated(world, k["e"]),
               "g": _old_message(world, k["g"]), "h": _swept(world, k["h"], sweep_done)}
    for case in cases:
        if case.key.startswith("f"):
            drivers[case.key] = _storm_end(world, case)
    keys = list(drivers)
    results = await asyncio.gather(*drivers.values(), return_exceptions=True)
    for key, result in zip(keys, results, strict=True):
        if isinstance(result, BaseException):
            k[key].problem = f"{type(result).__name__}: {result}"


async def _resolve_in_pagerduty(world: World, case: Case, user: str) -> None:
    await world.act(case.incident, "resolve", user)
    case.after = "resolved in PagerDuty"


async def _click_resolve(world: World, case: Case, user: str, channel: str | None = None) -> None:
    message = world.root(channel or case.channel, case.number, case.title)
    if message is None:
        raise Stalled("its message is gone")
    await world.click(channel or case.channel, message, "pd_resolve", user)


async def _after_retry(world: World, case: Case) -> None:
    await until(lambda: has_line(world, case, ACK_ALICE), "the acknowledgement landing after the faults cleared", 120)
    await _click_resolve(world, case, "U0ALICE")
    case.after = f"the write landed after {world.failed_writes(case.incident)} refused attempts; resolved from Slack"


async def _after_echo(world: World, case: Case) -> None:
    await until(lambda: has_line(world, case, "Note by <@U0ALICE>"), "the note's reply after its echo", 90)
    await _click_resolve(world, case, "U0BOB")
    case.after = "echo delivered to the new API; resolved from Slack"


async def _resolve_dedicated(world: World, case: Case) -> None:
    assert case.dedicated is not None
    await _click_resolve(world, case, "U0ALICE", case.dedicated)
    case.after = "resolved from its own channel"


async def _old_message(world: World, case: Case) -> None:
    message = world.root(case.channel, case.number, case.title)
    if message is None:
        raise Stalled("its message is gone")
    rendered = f"revision {message.update_count}"
    by = "the old release's rendering" if rendered in case.at_swap else "a rendering by the NEW release"
    case.after = f"first click (Add note) on {rendered}, {by}; then Acknowledge, Resolve"
    await world.write_note(case.channel, message, "U0BOB", "upgrade-check: clicked on the old release's message")
    await until(lambda: has_line(world, case, "Note by <@U0BOB>"), "the note's reply", 60)
    await world.click(case.channel, message, "pd_acknowledge", "U0BOB")
    await until(lambda: has_line(world, case, "Acknowledged by <@U0BOB>"), "the acknowledgement's reply", 60)
    await _click_resolve(world, case, "U0BOB")


async def _swept(world: World, case: Case, sweep_done: asyncio.Event) -> None:
    await sweep_done.wait()
    await posted(world, case, 60)
    await world.act(case.incident, "resolve", "PUALICE")
    case.after = "posted after the new release's sweep; resolved in PagerDuty"


async def _storm_end(world: World, case: Case) -> None:
    await posted(world, case, 120)
    await world.act(case.incident, "resolve", "PUCAROL")
    case.after = f"{case.at_swap.split(' (')[0]} at the swap; resolved in PagerDuty"
