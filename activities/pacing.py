"""Reaching the shared Slack budget (workflows/pacing.py) from outside a workflow: start it if needed."""

from __future__ import annotations

from temporalio import activity
from temporalio.client import Client
from temporalio.common import WorkflowIDConflictPolicy

from workflows.budget import Limits, SlackAsk
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
