"""The sweep's Temporal Schedule (Web UI → Schedules), created or brought up to date by every worker at
start. Several workers may start at once: creating is first-come, and updating only happens when the
schedule differs from the config, keeping an operator's pause."""

from __future__ import annotations

import dataclasses
import logging
from datetime import timedelta

from temporalio.client import (
    Client,
    Schedule,
    ScheduleActionStartWorkflow,
    ScheduleAlreadyRunningError,
    ScheduleIntervalSpec,
    ScheduleOverlapPolicy,
    SchedulePolicy,
    ScheduleSpec,
    ScheduleState,
    ScheduleUpdate,
    ScheduleUpdateInput,
)

from workflows.sweep_models import SweepInput

log = logging.getLogger("bridge.worker")
SWEEP_WORKFLOW = "SweepWorkflow"


def schedule_id(task_queue: str) -> str:
    return f"{task_queue}-sweep"


def sweep_schedule(task_queue: str, interval_seconds: int) -> Schedule:
    return Schedule(
        action=ScheduleActionStartWorkflow(
            SWEEP_WORKFLOW, SweepInput(), id=schedule_id(task_queue), task_queue=task_queue,
            static_summary="List PagerDuty's open incidents, start missing workflows, check the webhooks"),
        spec=ScheduleSpec(intervals=[ScheduleIntervalSpec(every=timedelta(seconds=interval_seconds))]),
        # A slow sweep (PagerDuty down, thousands of incidents) is never stacked on by the next.
        policy=SchedulePolicy(overlap=ScheduleOverlapPolicy.SKIP),
        state=ScheduleState(note="created by the bridge's worker from timing.sweep_interval_seconds"),
    )


def _same(current: Schedule, wanted: Schedule) -> bool:
    action, want = current.action, wanted.action
    return (isinstance(action, ScheduleActionStartWorkflow) and isinstance(want, ScheduleActionStartWorkflow)
            and action.workflow == want.workflow and action.task_queue == want.task_queue
            and [i.every for i in current.spec.intervals] == [i.every for i in wanted.spec.intervals]
            and current.policy.overlap == wanted.policy.overlap)


async def ensure_sweep_schedule(client: Client, task_queue: str, interval_seconds: int) -> str:
    """Returns what was done: "created", "updated" or "unchanged"."""
    wanted = sweep_schedule(task_queue, interval_seconds)
    sid = schedule_id(task_queue)
    try:
        await client.create_schedule(sid, wanted)
    except ScheduleAlreadyRunningError:
        pass
    else:
        log.info("created schedule %s: a sweep every %d s", sid, interval_seconds)
        return "created"
    changed = False

    def update(inp: ScheduleUpdateInput) -> ScheduleUpdate | None:
        nonlocal changed
        current = inp.description.schedule
        if _same(current, wanted):
            return None
        changed = True
        return ScheduleUpdate(schedule=dataclasses.replace(wanted, state=current.state))

    await client.get_schedule_handle(sid).update(update)
    if changed:
        log.info("updated schedule %s: a sweep every %d s", sid, interval_seconds)
    return "updated" if changed else "unchanged"
