"""The real IncidentWorkflow asking a held Slack budget for turns: what it asks for, and when it asks again."""

from __future__ import annotations

import uuid

from temporalio import activity
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from activities.pacing import BudgetTurn
from tests.factories import BOB, pd_event
from tests.workflows.fakes import FakeBackend, eventually, start
from workflows.budget import Kind, SlackAsk
from workflows.incident import IncidentWorkflow
from workflows.models import Ref


class HeldBudget(FakeBackend):
    """A budget that grants the incident's first post at once and holds every other call (a busy workspace)."""

    def __init__(self, client: Client) -> None:
        super().__init__()
        self.client = client
        self.asks: list[Kind] = []

    @activity.defn(name="slack_budget_ask")
    async def budget_ask(self, request: SlackAsk) -> None:
        self.asks.append(Kind(request.kind))
        if request.kind is Kind.POST:
            handle = self.client.get_workflow_handle(request.workflow_id)
            await handle.signal(IncidentWorkflow.slack_grant, args=[int(request.kind), request.channel])

    @activity.defn(name="slack_budget_turn")
    async def budget_turn(self, request: SlackAsk) -> BudgetTurn:
        return BudgetTurn(alive=True, queued=True, eta_seconds=90, why="60 status changes go first")


async def _asked(budget: HeldBudget, kind: Kind) -> bool:
    return kind in budget.asks


async def test_an_update_waiting_for_its_turn_asks_again_when_it_becomes_a_status_change(
        ts_env: WorkflowEnvironment) -> None:
    # An escalation's update waits behind a mass resolve's status changes; then the incident is acknowledged.
    # The acknowledge must not wait behind them as an ordinary update: the incident asks again, as a status change.
    budget, queue = HeldBudget(ts_env.client), str(uuid.uuid4())
    async with budget.worker(ts_env.client, queue):
        handle = await start(ts_env.client, queue, pd_event("incident.triggered", 0))
        await eventually(lambda: _async(bool(budget.posts)), what="the incident message")
        escalated = pd_event("incident.escalated", 5, assignees=[Ref(id=BOB.pd_id, summary=BOB.name)])
        await handle.signal(IncidentWorkflow.pd_event, escalated)
        await eventually(lambda: _asked(budget, Kind.UPDATE), what="the escalation's update asked for")
        assert Kind.STATUS not in budget.asks
        await handle.signal(IncidentWorkflow.pd_event, pd_event("incident.acknowledged", 10))
        await eventually(lambda: _asked(budget, Kind.STATUS), what="the acknowledge asked for as a status change")
    assert len(budget.updates) == 0  # nothing was shown without a turn


async def _async(value: bool) -> bool:
    return value
