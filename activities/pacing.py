"""Reaching the shared Slack budget (workflows/pacing.py) from outside a workflow: start it if needed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from temporalio import activity
from temporalio.client import (
    Client,
    WorkflowExecutionStatus,
    WorkflowQueryFailedError,
    WorkflowQueryRejectedError,
)
from temporalio.common import WorkflowIDConflictPolicy
from temporalio.service import RPCError

from workflows.budget import Limits, QueueView, SlackAsk
from workflows.models import Model
from workflows.pacing import BudgetInput, SlackBudgetWorkflow, budget_workflow_id


async def ensure_budget(client: Client, task_queue: str, limits: Limits) -> None:
    """Start the budget workflow of this task queue unless it runs (several workers may call this at once)."""
    await client.start_workflow(SlackBudgetWorkflow.run, BudgetInput(limits=limits),
                                id=budget_workflow_id(task_queue), task_queue=task_queue,
                                id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING)


class BudgetActivities:
    def __init__(self, client: Client, limits: Limits) -> None:
        self._client, self._limits = client, limits

    @activity.defn(name="slack_budget_ask")
    async def ask(self, request: SlackAsk) -> None:
        """An incident could not signal the budget (not running yet, or ended): start it with this ask.

        The budget belongs to the task queue this activity (and so the asking workflow's worker) runs on.
        """
        task_queue = activity.info().task_queue
        await self._client.start_workflow(SlackBudgetWorkflow.run, BudgetInput(limits=self._limits),
                                          id=budget_workflow_id(task_queue), task_queue=task_queue,
                                          start_signal="ask", start_signal_args=[request])


class BudgetTurn(Model):
    """Whether the shared budget is there for an incident that waits for its turn, and how long to wait."""

    alive: bool
    queued: bool = False
    eta_seconds: float = 0.0
    why: str = ""


STALLED_AFTER = timedelta(seconds=30)  # a queue with no grant for this long (and no 429 pause): wedged
RPC_TIMEOUT = timedelta(seconds=3)  # each call of a check: three of them stay under the check's own timeout
HEALTH_FOR = timedelta(seconds=5)  # one look at the budget's workflow serves this worker's checks this long
FAILING_AFTER = 3  # workflow task attempts: beyond a retry Temporal makes by itself, the task is failing
UNTAKEN_AFTER = timedelta(seconds=15)  # a workflow task no worker takes for this long: far past a busy worker


class TurnActivities:
    def __init__(self, client: Client, limits: Limits) -> None:
        self._client, self._limits = client, limits
        self._health: dict[str, tuple[datetime, BudgetTurn]] = {}

    @activity.defn(name="slack_budget_turn")
    async def turn(self, request: SlackAsk) -> BudgetTurn:
        """An incident's turn is late: ask the budget where the incident stands, and ask again when it is not
        queued (a budget restarted, reset or replaced learns who waits, and one that was terminated starts).

        The budget is gone only when Temporal says so: it has a queue and has granted nothing for a while,
        its workflow task keeps failing, or it cannot be asked at all. A budget too busy to answer a query in
        time (a worker short of CPU in a storm) is still there: the incident goes on waiting for it, since
        calling Slack by itself would then only add 429s.
        """
        task_queue = activity.info().task_queue
        budget = self._client.get_workflow_handle(budget_workflow_id(task_queue))
        try:
            view: QueueView | None = await budget.query(SlackBudgetWorkflow.turn, request.workflow_id,
                                                        rpc_timeout=RPC_TIMEOUT)
        except (RPCError, WorkflowQueryFailedError, WorkflowQueryRejectedError):
            view = None  # ended, failing, or too busy: Temporal's description of it tells them apart below
        if view is not None and view.queued:
            return _from_view(view)
        try:
            await self._client.start_workflow(SlackBudgetWorkflow.run, BudgetInput(limits=self._limits),
                                              id=budget.id, task_queue=task_queue, start_signal="ask",
                                              start_signal_args=[request], rpc_timeout=RPC_TIMEOUT)
        except RPCError as exc:
            return BudgetTurn(alive=False, why=f"the Slack budget could not be asked: {exc.message}")
        if view is not None:
            return BudgetTurn(alive=True, queued=True, eta_seconds=view.eta_seconds)
        return await self._described(budget.id)

    async def _described(self, budget_id: str) -> BudgetTurn:
        """The budget as Temporal describes it (no worker involved), looked at once per HEALTH_FOR."""
        now = datetime.now(UTC)
        cached = self._health.get(budget_id)
        if cached is not None and now - cached[0] < HEALTH_FOR:
            return cached[1]
        try:
            description = await self._client.get_workflow_handle(budget_id).describe(rpc_timeout=RPC_TIMEOUT)
        except RPCError as exc:
            health = BudgetTurn(alive=False, why=f"the Slack budget cannot be described: {exc.message}")
        else:
            task = description.raw_description.pending_workflow_task
            pending = (now - task.original_scheduled_time.ToDatetime(tzinfo=UTC)
                       if task.HasField("original_scheduled_time") else timedelta(0))
            if description.status != WorkflowExecutionStatus.RUNNING:
                health = BudgetTurn(alive=False, why=f"the Slack budget is {description.status}")
            elif task.attempt >= FAILING_AFTER:
                health = BudgetTurn(alive=False,
                                    why=f"the Slack budget's workflow task failed {task.attempt - 1} times")
            elif pending > UNTAKEN_AFTER:
                health = BudgetTurn(alive=False, why=f"no worker has taken the Slack budget's workflow task for "
                                                     f"{pending.total_seconds():.0f} s")
            else:
                health = BudgetTurn(alive=True, queued=True, why="the Slack budget is busy")
        self._health[budget_id] = (now, health)
        return health


def _from_view(view: QueueView) -> BudgetTurn:
    now = datetime.now(UTC)
    paused = view.paused_until is not None and view.paused_until > now
    if view.waiting > 0 and not paused and view.last_grant_at is not None and now - view.last_grant_at > STALLED_AFTER:
        return BudgetTurn(alive=False, queued=True,
                          why=f"the Slack budget has {view.waiting} waiting and granted nothing since "
                              f"{view.last_grant_at:%H:%M:%S}")
    return BudgetTurn(alive=True, queued=True, eta_seconds=view.eta_seconds)
