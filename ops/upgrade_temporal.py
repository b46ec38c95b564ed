"""What Temporal says during `dev.py upgrade-check`: the sweep's schedule run on demand, and workflows whose
task fails (a release that cannot replay what the one before it recorded shows up here first)."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from dataclasses import dataclass, field

from temporalio.api.enums.v1 import EventType, WorkflowTaskFailedCause
from temporalio.client import (
    Client,
    ScheduleActionExecutionStartWorkflow,
    WorkflowExecutionStatus,
    WorkflowQueryFailedError,
)
from temporalio.service import RPCError

from ops.schedule import schedule_id

# Failures Temporal causes on purpose and retries at once: not the release's fault.
BENIGN_CAUSES = {WorkflowTaskFailedCause.WORKFLOW_TASK_FAILED_CAUSE_UNHANDLED_COMMAND,
                 WorkflowTaskFailedCause.WORKFLOW_TASK_FAILED_CAUSE_RESET_STICKY_TASK_QUEUE}


@dataclass
class TaskHealth:
    """One workflow's standing: its status, the attempt of a pending task, the task failures in its history."""

    workflow_id: str
    workflow_type: str = ""
    status: str = "?"
    attempt: int = 0
    failures: Counter[str] = field(default_factory=Counter)
    error: str = ""

    @property
    def failing(self) -> bool:
        """A task failing now: retried (attempt > 1), or the run failed or was terminated."""
        return self.attempt > 1 or self.status in {"FAILED", "TERMINATED", "TIMED_OUT"} or bool(self.error)

    def describe(self) -> str:
        parts = [f"{self.workflow_type or 'workflow'} {self.workflow_id}: {self.status}"]
        if self.attempt > 1:
            parts.append(f"workflow task at attempt {self.attempt}")
        if self.failures:
            parts.append("task failures in history: " + ", ".join(f"{c} x{n}" for c, n in self.failures.items()))
        if self.error:
            parts.append(self.error)
        return "; ".join(parts)


async def health(client: Client, workflow_id: str, run_id: str | None = None) -> TaskHealth:
    result = TaskHealth(workflow_id)
    handle = client.get_workflow_handle(workflow_id, run_id=run_id)
    try:
        desc = await handle.describe()
        result.workflow_type = desc.workflow_type
        result.status = desc.status.name if desc.status else "?"
        raw = desc.raw_description
        if raw.HasField("pending_workflow_task"):
            result.attempt = raw.pending_workflow_task.attempt
        async for event in handle.fetch_history_events():
            if event.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED:
                cause = event.workflow_task_failed_event_attributes.cause
                if cause not in BENIGN_CAUSES:
                    result.failures[WorkflowTaskFailedCause.Name(cause).removeprefix(
                        "WORKFLOW_TASK_FAILED_CAUSE_")] += 1
    except RPCError as exc:
        result.error = f"cannot describe: {exc.message}"
    return result


async def running(client: Client) -> list[TaskHealth]:
    """Every running workflow of the namespace, with its standing."""
    ids = [(wf.id, wf.run_id) async for wf in client.list_workflows("ExecutionStatus='Running'")]
    return list(await asyncio.gather(*(health(client, wid, rid) for wid, rid in ids)))


async def budget_waiting(client: Client) -> int | None:
    """How many asks wait in the Slack budget (its `state` query); None when it cannot be asked."""
    try:
        async for wf in client.list_workflows("WorkflowType='SlackBudgetWorkflow' AND ExecutionStatus='Running'"):
            state = await client.get_workflow_handle(wf.id).query("state")
            return len(state.get("waiting") or []) if isinstance(state, dict) else None
    except (RPCError, WorkflowQueryFailedError):
        return None
    return None


async def run_sweep(client: Client, task_queue: str, timeout: float = 60.0) -> TaskHealth:
    """Trigger the sweep's schedule now and wait for the run it starts to end; its standing."""
    handle = client.get_schedule_handle(schedule_id(task_queue))
    before = (await handle.describe()).info.num_actions
    await handle.trigger()
    deadline = time.monotonic() + timeout
    while True:
        info = (await handle.describe()).info
        if info.num_actions > before and info.recent_actions:
            action = info.recent_actions[-1].action
            if isinstance(action, ScheduleActionExecutionStartWorkflow):
                break
        if time.monotonic() > deadline:
            return TaskHealth(schedule_id(task_queue), "SweepWorkflow", error="the schedule started no run")
        await asyncio.sleep(0.2)
    while True:
        found = await health(client, action.workflow_id, action.first_execution_run_id)
        if found.status != WorkflowExecutionStatus.RUNNING.name or time.monotonic() > deadline:
            return found
        await asyncio.sleep(0.3)


async def wait_closed(client: Client, workflow_id: str, timeout: float) -> TaskHealth:
    """Until the workflow's current run is no longer running (or the deadline); its standing."""
    deadline = time.monotonic() + timeout
    while True:
        found = await health(client, workflow_id)
        if found.status != WorkflowExecutionStatus.RUNNING.name or time.monotonic() > deadline:
            return found
        await asyncio.sleep(0.5)
