"""SlackBudgetWorkflow: one per task queue, the single place that decides when Slack is told what.

Incident workflows (in any worker process) signal `ask` for a Slack call; this workflow grants calls by
signalling `slack_grant` back, at the pace of the budget in workflows/budget.py, most important first. A
Temporal workflow id is unique in a namespace, so every worker shares this one budget: no extra store, it
survives worker restarts, and an operator sees its queue in the Web UI (query `state`).
It also posts and updates the storm notice of a channel. It continues as new with its budget and inbox.
"""

from __future__ import annotations

import contextlib
from collections.abc import Awaitable
from datetime import datetime, timedelta

from temporalio import workflow
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from pydantic import Field

    from activities.slack import SlackActivities
    from workflows import budget, options
    from workflows.budget import (
        Budget,
        Grant,
        Kind,
        Limits,
        NoticeStep,
        QueueView,
        SlackAsk,
        SlackDone,
        SlackThrottled,
    )
    from workflows.models import Model
    from workflows.tasks import Tasks

GRANT_SIGNAL = "slack_grant"


def budget_workflow_id(task_queue: str) -> str:
    return f"slack-budget-{task_queue}"


class BudgetInput(Model):
    limits: Limits = Field(default_factory=Limits)
    budget: Budget | None = None
    inbox: list[SlackAsk | SlackDone | SlackThrottled] = Field(default_factory=list)


@workflow.defn(name="SlackBudgetWorkflow")
class SlackBudgetWorkflow:
    @workflow.init
    def __init__(self, inp: BudgetInput) -> None:
        self._budget = inp.budget or Budget(limits=inp.limits)
        self._budget.limits = inp.limits
        self._inbox: list[SlackAsk | SlackDone | SlackThrottled] = list(inp.inbox)
        self._tasks = Tasks()
        self._tasks.poked = False
        self._raise_status = False

    @workflow.signal(name="ask")
    def ask(self, request: SlackAsk) -> None:
        self._inbox.append(request)

    @workflow.signal(name="done")
    def done(self, note: SlackDone) -> None:
        self._inbox.append(note)

    @workflow.signal(name="throttled")
    def throttled(self, note: SlackThrottled) -> None:
        self._inbox.append(note)

    @workflow.query(name="state")
    def state(self) -> Budget:
        return self._budget

    @workflow.query(name="turn")
    def turn(self, workflow_id: str) -> QueueView:
        """Where one incident's asks stand (small, unlike `state` in a storm)."""
        return budget.queue_view(self._budget, workflow_id, workflow.now())

    @workflow.run
    async def run(self, inp: BudgetInput) -> None:
        self._raise_status = workflow.patched("status-raises-ask")
        while True:
            now = workflow.now()
            self._take_inbox(now)
            for step in budget.notices(self._budget, now):
                self._spawn(self._notice(step))
            for grant in budget.grant(self._budget, now):
                self._spawn(self._grant(grant))
            if workflow.info().is_continue_as_new_suggested():
                # Grants and notices in flight finish first (seconds); asks meanwhile wait in the inbox,
                # and are queued before the budget is carried over, bounded (budget.carried).
                await workflow.wait_condition(lambda: not self._tasks and workflow.all_handlers_finished())
                self._take_inbox(workflow.now())
                workflow.continue_as_new(BudgetInput(limits=self._budget.limits,
                                                     budget=budget.carried(self._budget, workflow.now())))
            wake = budget.next_wake(self._budget, now)
            timeout = max(wake - now, timedelta(milliseconds=50)) if wake else None
            self._tasks.poked = False
            with contextlib.suppress(TimeoutError):
                await workflow.wait_condition(lambda: bool(self._inbox) or self._tasks.poked, timeout=timeout)

    def _take_inbox(self, now: datetime) -> None:
        while self._inbox:
            item = self._inbox.pop(0)
            if isinstance(item, SlackAsk):
                budget.ask(self._budget, item, now, raise_status=self._raise_status)
            elif isinstance(item, SlackDone):
                budget.done(self._budget, item, now)
            else:
                budget.throttled(self._budget, item, now)

    def _spawn(self, work: Awaitable[None]) -> None:
        self._tasks.spawn(work)

    async def _grant(self, grant: Grant) -> None:
        try:
            await workflow.get_external_workflow_handle(grant.workflow_id).signal(
                GRANT_SIGNAL, args=[grant.kind.value, grant.channel])
        except ApplicationError as exc:
            # The incident's workflow is gone (finished, or never existed): its turn is simply over.
            workflow.logger.info("grant for %s not delivered: %s", grant.workflow_id, exc)

    async def _notice(self, step: NoticeStep) -> None:
        kind = Kind.POST if step.ts is None else Kind.UPDATE
        try:
            ts: str = await workflow.execute_activity_method(
                SlackActivities.post_notice, step, start_to_close_timeout=options.CALL_TIMEOUT,
                schedule_to_close_timeout=timedelta(minutes=2), retry_policy=options.SLACK_RETRY)
        except ActivityError as exc:
            workflow.logger.error("storm notice in %s not sent: %s", step.channel, exc)
            if step.ts is None:
                budget.notice_posted(self._budget, step.channel, None)
            return
        finally:
            budget.done(self._budget, SlackDone(kind=kind, channel=step.channel), workflow.now())
        if step.ts is None:
            budget.notice_posted(self._budget, step.channel, ts)
