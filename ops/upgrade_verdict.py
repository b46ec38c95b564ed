"""Whether each incident of `dev.py upgrade-check` converged: its message final, its thread right (every
expected reply there exactly once, no reply twice), exactly one root message; and its workflow healthy."""

from __future__ import annotations

import asyncio
import time
from collections import Counter

from ops.upgrade_phases import Case
from ops.upgrade_temporal import TaskHealth
from ops.upgrade_world import World, status_of, thread_lines


def _thread_problems(world: World, case: Case, channel: str, expect: list[str]) -> list[str]:
    roots = world.roots(channel, case.number, case.title)
    if len(roots) != 1:
        return [f"{len(roots)} root messages in {channel}"]
    message = roots[0]
    problems = [] if status_of(message) == "resolved" else [f"message in {channel} shows {status_of(message) or '?'}"]
    lines = thread_lines(message)
    for text in expect:
        count = sum(text in line for line in lines)
        if count != 1:
            problems.append(f"{text!r} {count}x in the thread of {channel}")
    problems += [f"reply twice in {channel}: {line!r}" for line, n in Counter(lines).items() if n > 1]
    return problems


def problems(world: World, case: Case) -> list[str]:
    """What still keeps `case` from having converged (empty: converged)."""
    found = [f"driving it: {case.problem}"] if case.problem else []
    found += _thread_problems(world, case, case.channel, case.expect)
    if case.dedicated:
        found += _thread_problems(world, case, case.dedicated, case.dedicated_expect)
    if case.notes is not None:
        notes = len(world.notes(case.incident))
        if notes != case.notes:
            found.append(f"{notes} notes in PagerDuty, {case.notes} expected")
    return found


async def converge(world: World, cases: list[Case], timeout: float) -> float:
    """Poll until every incident converged or the deadline; returns the seconds it took."""
    started = time.monotonic()
    while any(problems(world, c) for c in cases) and time.monotonic() - started < timeout:
        await asyncio.sleep(0.5)
    return time.monotonic() - started


def dump(world: World, case: Case, task: TaskHealth) -> str:
    """What Slack, PagerDuty and Temporal show of an incident that did not converge, for the log."""
    out = [f"== {case.phase} #{case.number} {case.incident}: {'; '.join(problems(world, case))}",
           f"   at the swap: {case.at_swap}", f"   Temporal: {task.describe()}"]
    for channel in [case.channel] + ([case.dedicated] if case.dedicated else []):
        for message in world.slack.messages(channel):
            if f"#{case.number} " in message.text:
                out.append(f"   {channel} root {message.ts} (revision {message.update_count}): {message.text!r}")
                out += [f"     reply: {line!r}" for line in thread_lines(message)]
    with world.pd.lock:
        incident = world.pd.incidents.get(case.incident)
        if incident is not None:
            out.append(f"   PagerDuty: {incident.status}, {len(incident.notes)} note(s)")
    return "\n".join(out)


def summary(world: World, case: Case) -> str:
    channels = [case.channel] + ([case.dedicated] if case.dedicated else [])
    replies = len(case.expect) + len(case.dedicated_expect)
    return (f"resolved; {replies}/{replies} expected replies once, none twice; one root in {'+'.join(channels)}"
            f"{' (' + case.after + ')' if case.after else ''}")


def incident_line(world: World, case: Case, task: TaskHealth) -> tuple[bool, str]:
    found = problems(world, case)
    if case.must_complete and task.status != "COMPLETED":
        found.append(f"workflow {task.status}, expected COMPLETED once its linger ran out")
    if task.failing:
        found.append(task.describe())
    ok = not found
    detail = summary(world, case) if ok else "; ".join(found)
    if ok and case.must_complete:
        detail += "; its workflow COMPLETED at the end of its linger, under the new release"
    if ok and task.failures:
        detail += f"; note: {task.describe()}"
    return ok, f"  {case.phase:<26} #{case.number:<3} {'converged' if ok else 'NOT CONVERGED'}: {detail}"
