"""Reaching the shared Slack budget (workflows/pacing.py) from outside a workflow: start it if needed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from temporalio import activity
from temporalio.client import Client, WorkflowQueryFailedError, WorkflowQueryRejectedError
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
QUERY_TIMEOUT = timedelta(seconds=5)


class TurnActivities:
    def __init__(self, client: Client, limits: Limits) -> None:
        self._client, self._limits = client, limits

    @activity.defn(name="slack_budget_turn")
    async def turn(self, request: SlackAsk) -> BudgetTurn:
        """An incident's turn is late: ask again (a budget restarted, reset or replaced learns who waits,
        and one that was terminated starts), then ask the budget where the incident stands.

        A budget that does not answer, or has a queue and has granted nothing for a while, is not there:
        the incident then calls Slack paced by itself rather than wait for it.
        """
        task_queue = activity.info().task_queue
        budget = self._client.get_workflow_handle(budget_workflow_id(task_queue))
        try:
            view: QueueView | None = await budget.query(SlackBudgetWorkflow.turn, request.workflow_id,
                                                        rpc_timeout=QUERY_TIMEOUT)
        except (RPCError, WorkflowQueryFailedError, WorkflowQueryRejectedError):
            view = None  # ended, replaced, or not answering: asked again below, which tells them apart
        if view is None or not view.queued:
            try:
                await self._client.start_workflow(SlackBudgetWorkflow.run, BudgetInput(limits=self._limits),
                                                  id=budget.id, task_queue=task_queue, start_signal="ask",
                                                  start_signal_args=[request], rpc_timeout=QUERY_TIMEOUT)
                view = await budget.query(SlackBudgetWorkflow.turn, request.workflow_id, rpc_timeout=QUERY_TIMEOUT)
            except (RPCError, WorkflowQueryFailedError, WorkflowQueryRejectedError) as exc:
                return BudgetTurn(alive=False, why=f"the Slack budget did not answer: {exc}")
        now = datetime.now(UTC)
        paused = view.paused_until is not None and view.paused_until > now
        stalled = (view.waiting > 0 and not paused and view.last_grant_at is not None
                   and now - view.last_grant_at > STALLED_AFTER)
        if stalled:
            return BudgetTurn(alive=False, queued=view.queued,
                              why=f"the Slack budget has {view.waiting} waiting and granted nothing since "
                                  f"{view.last_grant_at:%H:%M:%S}")
        return BudgetTurn(alive=True, queued=view.queued, eta_seconds=view.eta_seconds)
