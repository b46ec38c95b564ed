"""The health of a task queue's workflows after a deploy: incidents whose task fails, the Slack budget and the sweep.

Read-only, shared by `dev.py doctor` and `dev.py ctl failing`. The budget (`slack-budget-<queue>`) is wedged
when its task fails, when it does not answer, or when asks have waited longer than `STALE` while it granted
nothing and Slack did not ask it to pause. The sweep is its schedule (`<queue>-sweep`: missing or paused),
the sweep run it started, and the webhook warning workflow.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TypeVar

from temporalio.client import (
    Client,
    ScheduleActionExecutionStartWorkflow,
    WorkflowExecutionStatus,
    WorkflowQueryFailedError,
    WorkflowQueryRejectedError,
)
from temporalio.service import RPCError, RPCStatusCode

from activities.sweep import warning_workflow_id
from ops.schedule import schedule_id
from ops.workflow_tasks import RPC_TIMEOUT, SHOW, Scan, TaskFailure, explain, failing_attempts, first_line, scan
from workflows.budget import Budget, QueueView
from workflows.pacing import budget_workflow_id

STALE = timedelta(seconds=60)  # an ask waiting this long while nothing is granted: the budget is not granting
QUERY_TIMEOUT = timedelta(seconds=3)
T = TypeVar("T", QueueView, Budget)
NO_ANSWER = "no worker answered"
PROBE = "ops-doctor"  # the `turn` query's incident: none has this id, so the answer is only the totals


@dataclass(frozen=True)
class Health:
    """`problem` is empty when all is well: else task-failing, not-running, not-answering, not-granting,
    missing or paused."""

    workflow_id: str
    problem: str
    detail: str
    failures: list[TaskFailure] = field(default_factory=list)


@dataclass(frozen=True)
class Survey:
    namespace: str
    incidents: Scan
    budget: Health
    sweep: Health


def _ago(at: datetime, now: datetime) -> str:
    return f"{(now - at).total_seconds():.0f} s ago ({at:%H:%M:%S}Z)"


async def _closed(client: Client, workflow_id: str) -> str | None:
    """Why the workflow is not running ("never started", "terminated at …"), or None when it runs."""
    try:
        description = await client.get_workflow_handle(workflow_id).describe(rpc_timeout=RPC_TIMEOUT)
    except RPCError as exc:
        if exc.status == RPCStatusCode.NOT_FOUND:
            return "never started"
        raise
    if description.status == WorkflowExecutionStatus.RUNNING:
        return None
    status = description.status.name.lower().replace("_", " ") if description.status else "closed"
    return f"{status} at {description.close_time:%Y-%m-%d %H:%M:%S}Z" if description.close_time else status


async def _query(client: Client, workflow_id: str, name: str, result_type: type[T], *args: str) -> T | str:
    try:
        answer: T = await client.get_workflow_handle(workflow_id).query(
            name, args=list(args), result_type=result_type, rpc_timeout=QUERY_TIMEOUT)
    except RPCError as exc:
        timed_out = exc.status in {RPCStatusCode.DEADLINE_EXCEEDED, RPCStatusCode.CANCELLED}
        return (f"{NO_ANSWER} its `{name}` query within {QUERY_TIMEOUT.total_seconds():g} s"
                if timed_out else f"its `{name}` query failed: {first_line(exc.message)}")
    except (WorkflowQueryFailedError, WorkflowQueryRejectedError) as exc:
        return f"its `{name}` query failed: {first_line(str(exc))}"
    return answer


def _suspicious(view: QueueView, now: datetime) -> bool:
    """Asks wait, none was granted for STALE (or ever, in this run) and no 429 pauses it. A storm keeps a
    queue too, so only the age of the oldest ask (in the whole state) can tell."""
    paused = view.paused_until is not None and view.paused_until > now
    quiet = view.last_grant_at is None or now - view.last_grant_at > STALE
    return view.waiting > 0 and not paused and quiet


def _not_granting(view: QueueView, budget: Budget | None, now: datetime) -> str | None:
    oldest = min((w.since for w in budget.waiting), default=None) if budget else None
    if not _suspicious(view, now) or oldest is None or now - oldest <= STALE:
        return None
    last = f"nothing granted since {_ago(view.last_grant_at, now)}" if view.last_grant_at else "nothing granted"
    return (f"not granting: {view.waiting} ask(s) waiting, the oldest since {_ago(oldest, now)}, {last}, "
            "and no 429 pause")


def _view_of(budget: Budget) -> QueueView:
    pauses = [b.paused_until for b in budget.buckets.values() if b.paused_until is not None]
    return QueueView(waiting=len(budget.waiting), last_grant_at=budget.last_grant_at,
                     paused_until=max(pauses) if pauses else None)


async def budget_health(client: Client, task_queue: str, incidents_running: int,
                        now: datetime | None = None) -> Health:
    budget_id = budget_workflow_id(task_queue)
    failure = await failing_attempts(client, budget_id)
    if failure is not None and (failure := await explain(client, failure)).failing:
        return Health(budget_id, "task-failing", f"its workflow task keeps failing (attempt {failure.attempts}): "
                                                 f"{failure.message}", [failure])
    closed = await _closed(client, budget_id)
    if closed is not None:
        if incidents_running == 0:
            return Health(budget_id, "", f"not running ({closed}); no incident needs it yet: the worker starts it")
        return Health(budget_id, "not-running", f"not running ({closed}) while {incidents_running} incident "
                                                "workflow(s) run: the next one to call Slack starts it again, "
                                                "one that was waiting for a turn after up to ~25 s")
    now = now or datetime.now(UTC)
    view = await _query(client, budget_id, "turn", QueueView, PROBE)
    budget: Budget | None = None
    if isinstance(view, str) and view.startswith(NO_ANSWER):
        return Health(budget_id, "not-answering", f"running, but {view}: is the worker running?")
    if isinstance(view, str):  # a release without the `turn` query
        state = await _query(client, budget_id, "state", Budget)
        if isinstance(state, str):
            return Health(budget_id, "not-answering", f"running, but {view}: is the worker running?")
        budget, view = state, _view_of(state)
    elif _suspicious(view, now):  # only then is its whole state, large in a storm, worth reading
        state = await _query(client, budget_id, "state", Budget)
        budget = state if isinstance(state, Budget) else None
    problem = _not_granting(view, budget, now)
    return Health(budget_id, "not-granting", problem) if problem else Health(budget_id, "", _summary(view, now))


def _summary(view: QueueView, now: datetime) -> str:
    last = f"last grant {_ago(view.last_grant_at, now)}" if view.last_grant_at else "nothing granted yet"
    paused = (f"; paused by Slack's Retry-After until {view.paused_until:%H:%M:%S}Z"
              if view.paused_until and view.paused_until > now else "")
    return f"running and granting: {view.waiting} ask(s) waiting, {last}{paused}"


async def sweep_health(client: Client, task_queue: str, deployed: bool) -> Health:
    """`deployed`: a worker has run on this task queue (it creates the schedule when it starts)."""
    sid = schedule_id(task_queue)
    try:
        description = await client.get_schedule_handle(sid).describe(rpc_timeout=RPC_TIMEOUT)
    except RPCError as exc:
        if exc.status != RPCStatusCode.NOT_FOUND:
            raise
        if not deployed:
            return Health(sid, "", f"{sid} not created yet: the worker creates it when it starts")
        return Health(sid, "missing", f"no schedule {sid}: incidents whose trigger webhook was lost never reach "
                                      "Slack, and a disabled webhook subscription is not reported")
    runs = [a for a in description.info.running_actions if isinstance(a, ScheduleActionExecutionStartWorkflow)]
    candidates = [(a.workflow_id, None) for a in runs] + [(warning_workflow_id(task_queue), None)]
    found = [f for wid, run in candidates if (f := await failing_attempts(client, wid, run)) is not None]
    failures = [f for f in [await explain(client, f) for f in found] if f.failing]
    if failures:
        names = ", ".join(f"{f.workflow_id} (attempt {f.attempts}: {f.message})" for f in failures)
        skipped = description.info.num_actions_skipped_overlap
        return Health(sid, "task-failing", f"workflow task failing in {names}"
                      + (f"; {skipped} sweep(s) skipped behind it" if runs and skipped else ""), failures)
    state = description.schedule.state
    if state.paused:
        return Health(sid, "paused", f"{sid} is paused" + (f" ({state.note})" if state.note else ""))
    recent = description.info.recent_actions
    last = f"last sweep started {recent[-1].started_at:%Y-%m-%d %H:%M:%S}Z" if recent else "no sweep yet"
    return Health(sid, "", f"{sid} active, {last}")


async def survey(client: Client, namespace: str, task_queue: str, show: int = SHOW) -> Survey:
    incidents = await scan(client, task_queue, show=show)
    # The worker starts the budget before anything else: never started and no incident, nothing ran here yet.
    deployed = incidents.running > 0 or await _closed(client, budget_workflow_id(task_queue)) != "never started"
    return Survey(namespace, incidents, await budget_health(client, task_queue, incidents.running),
                  await sweep_health(client, task_queue, deployed))
