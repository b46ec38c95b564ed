"""Workflows standing in for a bad deploy, registered under the bridge's own type names on a test's task queue.

`OldRelease` and `NewRelease` are two releases of "IncidentWorkflow": the new one no longer starts the timer
the old one did, so replaying an old run's history fails with a nondeterminism error (the first event it
does not take is the TimerStarted, event 5). `StuckBudget` is a "SlackBudgetWorkflow" that answers its
queries from the budget it is given and never grants anything; `BrokenBudget` fails its first task for ever.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from workflows import budget as rules
    from workflows.budget import Budget, QueueView
    from workflows.models import WorkflowInput


@workflow.defn(name="IncidentWorkflow")
class OldRelease:
    def __init__(self) -> None:
        self.pokes = 0

    @workflow.signal(name="poke")
    def poke(self) -> None:
        self.pokes += 1

    @workflow.run
    async def run(self, inp: WorkflowInput) -> None:
        await workflow.sleep(timedelta(seconds=1))
        await workflow.wait_condition(lambda: self.pokes > 5)


@workflow.defn(name="IncidentWorkflow")
class NewRelease:
    def __init__(self) -> None:
        self.pokes = 0

    @workflow.signal(name="poke")
    def poke(self) -> None:
        self.pokes += 1

    @workflow.query(name="pokes")
    def count(self) -> int:
        return self.pokes

    @workflow.run
    async def run(self, inp: WorkflowInput) -> None:
        await workflow.wait_condition(lambda: self.pokes > 5)


@workflow.defn(name="SlackBudgetWorkflow")
class StuckBudget:
    @workflow.init
    def __init__(self, budget: Budget) -> None:
        self._budget = budget

    @workflow.query(name="state")
    def state(self) -> Budget:
        return self._budget

    @workflow.query(name="turn")
    def turn(self, workflow_id: str) -> QueueView:
        return rules.queue_view(self._budget, workflow_id, workflow.now())

    @workflow.run
    async def run(self, budget: Budget) -> None:
        await workflow.wait_condition(lambda: False)


@workflow.defn(name="SlackBudgetWorkflow")
class BrokenBudget:
    @workflow.run
    async def run(self, budget: Budget) -> None:
        raise RuntimeError("the budget of this release cannot start")


def waiting_since(since: datetime, last_grant_at: datetime | None, paused_until: datetime | None = None) -> Budget:
    """A budget with one post waiting since `since`, and its channel's bucket paused until `paused_until`."""
    ask = rules.SlackAsk(workflow_id="pd-incident-QWAIT", incident_id="QWAIT", kind=rules.Kind.POST, channel="C1")
    buckets = {"channel:C1": rules.Bucket(tokens=0.0, at=since, paused_until=paused_until)} if paused_until else {}
    return Budget(waiting=[rules.Waiting(ask=ask, seq=1, since=since)], next_seq=2, granted=3,
                  last_grant_at=last_grant_at, buckets=buckets)
