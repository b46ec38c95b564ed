"""Workflows whose workflow task keeps failing, found with the Temporal client alone (it only reads).

After a deploy that broke determinism ([TMPRL1100]), or that cannot decode what older runs recorded, every
affected workflow stays Running and retries its task for ever. A workflow's description gives its pending
workflow task's attempt (above 1: the task failed before); its history gives why. Only the first failure of
a streak is written there: retries append nothing, which is also why rolling the worker back un-sticks them.

A namespace may hold thousands of incidents, so a scan describes at most `SCAN` of them, and the server's own
flag (`TemporalReportedProblems`, set after about five failed attempts, on servers that have it) counts the
rest. Only the first `SHOW` failing workflows have their history read.
"""

from __future__ import annotations

import asyncio
import dataclasses
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from temporalio.api.common.v1 import WorkflowExecution as ExecutionRef
from temporalio.api.enums.v1 import EventType, WorkflowTaskFailedCause
from temporalio.api.history.v1 import HistoryEvent
from temporalio.api.workflowservice.v1 import GetWorkflowExecutionHistoryReverseRequest
from temporalio.client import Client, WorkflowExecutionStatus
from temporalio.service import RPCError, RPCStatusCode

from ops.logs import PREFIX

INCIDENT_TYPE = "IncidentWorkflow"
SHOW = 200  # failing workflows listed (and their histories read)
SCAN = 2000  # running workflows described; beyond, the server's flag counts
CONCURRENCY = 32
RPC_TIMEOUT = timedelta(seconds=5)
HISTORY_PAGE, HISTORY_PAGES = 200, 20  # read back at most 4,000 events: a run continues as new near 4K
REPORTED = "TemporalReportedProblems"
# Core's nondeterminism errors name the first event the new code does not take.
NDE_EVENT = re.compile(r"HistoryEvent\(id: (\d+)")
# Failures Temporal causes itself and retries at once (a signal racing a completion, a sticky worker gone, a
# worker stopped mid-task by the deploy itself): a workflow is failing only when a retry after one fails too.
BENIGN = {WorkflowTaskFailedCause.WORKFLOW_TASK_FAILED_CAUSE_UNHANDLED_COMMAND,
          WorkflowTaskFailedCause.WORKFLOW_TASK_FAILED_CAUSE_RESET_STICKY_TASK_QUEUE}
CAUSES = {
    WorkflowTaskFailedCause.WORKFLOW_TASK_FAILED_CAUSE_NON_DETERMINISTIC_ERROR: "nondeterminism",
    WorkflowTaskFailedCause.WORKFLOW_TASK_FAILED_CAUSE_WORKFLOW_WORKER_UNHANDLED_FAILURE: "unhandled failure",
}


@dataclass(frozen=True)
class TaskFailure:
    workflow_id: str
    run_id: str
    workflow_type: str
    attempts: int
    since: datetime | None = None  # when the streak's first failure was recorded
    cause: str = ""
    message: str = ""  # the failure's first line
    reset_to: int | None = None  # the last WorkflowTaskCompleted the current code can take; None: none
    benign: bool = False  # the recorded failure is one Temporal retries at once (see BENIGN)

    @property
    def failing(self) -> bool:
        return not self.benign or self.attempts > 2

    @property
    def incident_id(self) -> str:
        return self.workflow_id.removeprefix(PREFIX) if self.workflow_type == INCIDENT_TYPE else ""


@dataclass(frozen=True)
class Scan:
    task_queue: str
    running: int  # running incident workflows on the task queue
    checked: int  # how many of them were described
    failing_total: int  # failing ones found, plus those the server flags beyond the scan
    failures: list[TaskFailure]  # at most SHOW, with the why

    @property
    def complete(self) -> bool:
        return self.checked >= self.running


def recovery_command(failure: TaskFailure, namespace: str, reason: str = "bad deploy") -> str:
    """A reset to the last point the current code can replay; without one (it fails in its first task),
    the terminate that is left."""
    where = "" if namespace == "default" else f" --namespace {namespace}"
    if failure.reset_to is None:
        return f'temporal workflow terminate{where} --workflow-id {failure.workflow_id} --reason "{reason}"'
    return (f"temporal workflow reset{where} --workflow-id {failure.workflow_id} --run-id {failure.run_id} "
            f'--event-id {failure.reset_to} --reason "{reason}"')


def first_line(text: str, limit: int = 240) -> str:
    line = text.strip().splitlines()[0] if text.strip() else ""
    return line if len(line) <= limit else line[: limit - 1] + "…"


async def failing_attempts(client: Client, workflow_id: str, run_id: str | None = None) -> TaskFailure | None:
    """The workflow if it runs and its workflow task has failed before (attempt above 1), else None."""
    try:
        description = await client.get_workflow_handle(workflow_id, run_id=run_id).describe(rpc_timeout=RPC_TIMEOUT)
    except RPCError as exc:
        if exc.status == RPCStatusCode.NOT_FOUND:  # closed and gone since it was listed
            return None
        raise
    attempt = description.raw_description.pending_workflow_task.attempt
    if description.status != WorkflowExecutionStatus.RUNNING or attempt <= 1:
        return None
    return TaskFailure(workflow_id, description.run_id, description.workflow_type, attempt)


def _why(failure: TaskFailure, event: HistoryEvent, reset_to: int | None) -> TaskFailure:
    since = event.event_time.ToDatetime(tzinfo=UTC)
    if event.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_TIMED_OUT:
        return dataclasses.replace(failure, since=since, cause="timed out", reset_to=reset_to, benign=True,
                                   message="the workflow task timed out: a worker took it and never answered")
    attrs = event.workflow_task_failed_event_attributes
    message, cause = first_line(attrs.failure.message), attrs.failure.cause
    if cause.message and cause.message.strip() not in message:
        message = first_line(f"{message}: {cause.message}")
    label = CAUSES.get(attrs.cause, WorkflowTaskFailedCause.Name(attrs.cause)
                       .removeprefix("WORKFLOW_TASK_FAILED_CAUSE_").lower().replace("_", " "))
    return dataclasses.replace(failure, since=since, cause=label, message=message, reset_to=reset_to,
                               benign=attrs.cause in BENIGN)


def _is_failure(event: HistoryEvent) -> bool:
    if event.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_TIMED_OUT:
        return True
    return (event.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED and  # a reset's marker is no failure
            event.workflow_task_failed_event_attributes.cause
            != WorkflowTaskFailedCause.WORKFLOW_TASK_FAILED_CAUSE_RESET_WORKFLOW)


async def explain(client: Client, failure: TaskFailure) -> TaskFailure:
    """Reads the history backwards: the streak's failure, and the WorkflowTaskCompleted to reset to (before
    the event a nondeterminism error names, else the last one)."""
    request = GetWorkflowExecutionHistoryReverseRequest(
        namespace=client.namespace, execution=ExecutionRef(workflow_id=failure.workflow_id, run_id=failure.run_id),
        maximum_page_size=HISTORY_PAGE)
    found: HistoryEvent | None = None
    before = 0  # the reset point comes before this event
    for _ in range(HISTORY_PAGES):
        page = await client.workflow_service.get_workflow_execution_history_reverse(request, timeout=RPC_TIMEOUT)
        for event in page.history.events:
            if found is None and _is_failure(event):
                found = event
                match = NDE_EVENT.search(event.workflow_task_failed_event_attributes.failure.message)
                before = int(match.group(1)) if match else event.event_id
            elif (found is not None and event.event_id < before
                  and event.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED):
                return _why(failure, found, event.event_id)
        if not page.next_page_token:
            break
        request.next_page_token = page.next_page_token
    if found is None:
        return dataclasses.replace(failure, message=f"(no failure in its last {HISTORY_PAGE * HISTORY_PAGES} events)")
    return _why(failure, found, None)


async def explain_all(client: Client, failures: list[TaskFailure]) -> list[TaskFailure]:
    gate = asyncio.Semaphore(CONCURRENCY)

    async def one(failure: TaskFailure) -> TaskFailure:
        async with gate:
            return await explain(client, failure)

    return list(await asyncio.gather(*(one(f) for f in failures)))


async def _describe_all(client: Client, ids: list[tuple[str, str]]) -> list[TaskFailure]:
    gate = asyncio.Semaphore(CONCURRENCY)

    async def one(workflow_id: str, run_id: str) -> TaskFailure | None:
        async with gate:
            return await failing_attempts(client, workflow_id, run_id)

    return [f for f in await asyncio.gather(*(one(w, r) for w, r in ids)) if f is not None]


async def _flagged_count(client: Client, query: str) -> int | None:
    """None where the server has no such flag (older servers reject the attribute)."""
    try:
        return (await client.count_workflows(f"{query} AND {REPORTED} IS NOT NULL", rpc_timeout=RPC_TIMEOUT)).count
    except RPCError:
        return None


async def scan(client: Client, task_queue: str, *, workflow_type: str = INCIDENT_TYPE, show: int = SHOW,
               limit: int = SCAN) -> Scan:
    query = f'WorkflowType = "{workflow_type}" AND ExecutionStatus = "Running" AND TaskQueue = "{task_queue}"'
    running = (await client.count_workflows(query, rpc_timeout=RPC_TIMEOUT)).count
    executions = [e async for e in client.list_workflows(query, limit=limit, rpc_timeout=RPC_TIMEOUT)]
    failing = await _describe_all(client, [(e.id, e.run_id) for e in executions])
    failing_total = len(failing)
    flagged = await _flagged_count(client, query) if len(executions) < running else None
    if flagged:
        # Beyond the scan, the server's flag finds the rest (after about five failed attempts).
        seen = {e.id for e in executions}
        flagged_seen = sum(1 for e in executions if REPORTED in e.raw_info.search_attributes.indexed_fields)
        failing_total += max(0, flagged - flagged_seen)
        if len(failing) < show:
            more = [(e.id, e.run_id) async for e in client.list_workflows(
                f"{query} AND {REPORTED} IS NOT NULL", limit=show + len(seen), rpc_timeout=RPC_TIMEOUT)
                if e.id not in seen]
            failing += await _describe_all(client, more[: show - len(failing)])
    failing.sort(key=lambda f: (-f.attempts, f.workflow_id))  # the longest failing first
    explained = await explain_all(client, failing[:show])
    shown = sorted((f for f in explained if f.failing),
                   key=lambda f: (f.since or datetime.max.replace(tzinfo=UTC), f.workflow_id))
    retried = len(explained) - len(shown)  # a failure Temporal retries at once, not (yet) a failing workflow
    return Scan(task_queue, running, len(executions), max(failing_total, len(failing)) - retried, shown)
