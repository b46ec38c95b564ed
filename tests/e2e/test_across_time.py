"""Across time: a Slack budget that is not there, a 429 on a reply, and events that come after the
incident's workflow has finished. Real API, worker, signed webhooks and clicks, a real Temporal server."""

from __future__ import annotations

import time
import uuid
from datetime import timedelta
from typing import TypeVar

from temporalio import workflow
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client, WorkflowExecutionStatus

from ops.sandbox import Sandbox
from settings import Timing
from simulators._slack_model import Message
from tests.e2e.conftest import SandboxFactory, first_root, reply_texts, root_messages, status_of, until
from tests.workflows.fakes import eventually
from workflows.pacing import budget_workflow_id
from workflows.turns import BOUND

T = TypeVar("T")
CHANNEL = "C0PAYMENTS"
SHORT = Timing(linger_after_resolve_seconds=2, confirmation_deadline_seconds=3)


@workflow.defn(name="SlackBudgetWorkflow")
class WedgedBudget:
    """Stands in for a budget whose workflow task never completes (a bad deploy): it takes every signal
    and grants nothing, and no worker polls its task queue."""

    @workflow.run
    async def run(self) -> None:
        await workflow.wait_condition(lambda: False)


async def _wedge_budget(sb: Sandbox) -> None:
    assert sb.client is not None
    budget_id = budget_workflow_id(sb.settings.temporal_task_queue)
    await sb.client.get_workflow_handle(budget_id).terminate("a wedged budget for the test")
    await sb.client.start_workflow(WedgedBudget.run, id=budget_id, task_queue=f"nobody-{uuid.uuid4().hex[:6]}")


async def test_a_wedged_budget_delays_a_message_by_at_most_the_bound(make_sandbox: SandboxFactory) -> None:
    async with make_sandbox() as sb:
        await _wedge_budget(sb)
        started = time.monotonic()
        sb.pd.trigger("PSVC001", "Checkout failing")
        message = await until(lambda: first_root(sb, CHANNEL), timeout=60, what="root message")
        waited = time.monotonic() - started
        assert waited <= BOUND.total_seconds() + 5, f"posted after {waited:.1f} s"
        await _click(sb, message, "pd_acknowledge", "U0ALICE")
        await until(lambda: status_of(message) == "acknowledged", timeout=60, what="acknowledged, unpaced")


async def test_a_budget_terminated_while_incidents_wait_restarts_and_learns_who_waits(
        make_sandbox: SandboxFactory) -> None:
    async with make_sandbox() as sb:
        assert sb.client is not None
        await _wedge_budget(sb)
        budget = sb.client.get_workflow_handle(budget_workflow_id(sb.settings.temporal_task_queue))

        async def asked() -> bool:
            return any([e.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED
                        async for e in budget.fetch_history_events()])

        sb.pd.trigger("PSVC001", "Checkout failing")
        await eventually(asked, timeout=30, what="the incident waiting in the budget")
        started = time.monotonic()
        await budget.terminate("an operator terminated it")  # with the incident's ask in it
        message = await until(lambda: first_root(sb, CHANNEL), timeout=60, what="root message")
        waited = time.monotonic() - started
        assert waited <= BOUND.total_seconds() + 5, f"posted {waited:.1f} s after the budget was terminated"
        description = await budget.describe()
        # The incident asked again: the budget that grants now is a new one, on the bridge's own queue.
        assert description.status == WorkflowExecutionStatus.RUNNING
        assert description.task_queue == sb.settings.temporal_task_queue
        await _click(sb, message, "pd_acknowledge", "U0ALICE")
        await until(lambda: status_of(message) == "acknowledged", timeout=30, what="acknowledged")


async def test_a_429_on_a_reply_does_not_keep_the_workflow_waking(make_sandbox: SandboxFactory) -> None:
    async with make_sandbox() as sb:
        assert sb.client is not None
        incident = sb.pd.trigger("PSVC001", "Checkout failing")
        message = await until(lambda: first_root(sb, CHANNEL), what="root message")
        sb.slack.rate_limit("chat.postMessage", count=1, retry_after=1)
        sb.pd.add_note(incident, "PUBOB01", "looking at the database")
        await until(lambda: any("looking at the database" in t for t in reply_texts(message)), timeout=30,
                    what="the note in the thread, after the 429")
        handle = sb.client.get_workflow_handle(f"pd-incident-{incident}")

        async def idle_timer() -> timedelta | None:
            events = [e async for e in handle.fetch_history_events()]
            last = events[-1]
            if last.event_type != EventType.EVENT_TYPE_TIMER_STARTED:
                return None
            return last.timer_started_event_attributes.start_to_fire_timeout.ToTimedelta()

        timer = await eventually(idle_timer, timeout=30, what="the workflow waiting on a timer")
        # Waking every second after the 429 was the bug; the next wake is the periodic re-read.
        assert timer > timedelta(minutes=1), f"the workflow wakes again in {timer}"


async def test_a_note_after_the_linger_lands_in_the_original_thread(make_sandbox: SandboxFactory) -> None:
    async with make_sandbox(timing=SHORT) as sb:
        incident, message = await _resolved_and_finished(sb)
        sb.pd.add_note(incident, "PUBOB01", "post-mortem: <!channel> see doc")
        await until(lambda: any("post-mortem" in t for t in reply_texts(message)), timeout=30,
                    what="the late note in the original thread")
        assert len(root_messages(sb, CHANNEL)) == 1
        note = next(t for t in reply_texts(message) if "post-mortem" in t)
        assert "<!channel>" not in note  # typed text stays literal


async def test_a_late_echo_of_the_bridges_own_resolve_stays_its_own(make_sandbox: SandboxFactory) -> None:
    async with make_sandbox(timing=SHORT) as sb:
        assert sb.client is not None
        incident = sb.pd.trigger("PSVC001", "Checkout failing")
        message = await until(lambda: first_root(sb, CHANNEL), what="root message")
        await sb.pd.wait_idle(10)
        sb.pd.paused = True  # the echo of the resolve is held back until the workflow has finished
        await _click(sb, message, "pd_resolve", "U0ALICE")
        await until(lambda: status_of(message) == "resolved", timeout=30, what="resolved")
        await _finished(sb.client, incident)
        before = list(reply_texts(message))
        sb.pd.paused = False  # delivered now: long after the linger
        await until(lambda: sb.pd.delivered("incident.resolved"), what="the late echo delivered")
        await _runs(sb.client, incident, 2, finished=True)
        await sb.pd.wait_idle(10)
        await _runs(sb.client, incident, 2, finished=True)  # the run the late echo started has finished too
        sb.pd.reopen(incident, "PUBOB01")  # and then the incident comes back
        await until(lambda: status_of(message) == "triggered", timeout=30, what="the original message reopened")
        await until(lambda: len(reply_texts(message)) > len(before), what="the reopen in the thread")
        assert not [t for t in reply_texts(message) if "Resolved" in t and "in PagerDuty" in t], reply_texts(message)
        assert reply_texts(message)[:len(before)] == before
        assert len(root_messages(sb, CHANNEL)) == 1


async def test_a_reopen_after_the_linger_updates_the_original_message(make_sandbox: SandboxFactory) -> None:
    async with make_sandbox(timing=SHORT) as sb:
        incident, message = await _resolved_and_finished(sb)
        sb.pd.reopen(incident, "PUBOB01")
        await until(lambda: status_of(message) == "triggered", timeout=30, what="the original message reopened")
        await _click(sb, message, "pd_acknowledge", "U0ALICE")
        await until(lambda: status_of(message) == "acknowledged", timeout=30, what="acknowledged again")
        assert len(root_messages(sb, CHANNEL)) == 1


async def test_after_an_operator_terminates_an_incident_its_message_goes_on(make_sandbox: SandboxFactory) -> None:
    async with make_sandbox() as sb:
        assert sb.client is not None
        incident = sb.pd.trigger("PSVC001", "Checkout failing")
        message = await until(lambda: first_root(sb, CHANNEL), what="root message")
        await sb.pd.wait_idle(10)
        handle = sb.client.get_workflow_handle(f"pd-incident-{incident}")

        async def remembered() -> bool:  # the run keeps the message's place once the post's result is in
            return bool((await (await handle.describe()).memo()).get("message"))

        await eventually(remembered, timeout=30, what="the message's place in the run's memo")
        await handle.terminate("stuck after a bad deploy")
        query = f"WorkflowId = 'pd-incident-{incident}' AND ExecutionStatus = 'Terminated'"

        async def listed() -> bool:
            return bool([w async for w in sb.client.list_workflows(query)])  # type: ignore[union-attr]

        await eventually(listed, timeout=30, what="the terminated run listed")
        sb.pd.add_note(incident, "PUBOB01", "rolled back the deploy")
        await until(lambda: any("rolled back the deploy" in t for t in reply_texts(message)), timeout=30,
                    what="the note in the original thread")
        await _click(sb, message, "pd_acknowledge", "U0ALICE")
        await until(lambda: status_of(message) == "acknowledged", timeout=30, what="the original message acts")
        assert len(root_messages(sb, CHANNEL)) == 1


# ---- helpers ------------------------------------------------------------------------------------------------


async def _click(sb: Sandbox, message: Message, action_id: str, user: str) -> None:
    status, body = await sb.slack.click(CHANNEL, message.ts, action_id, user)
    assert status == 200, body


async def _resolved(sb: Sandbox) -> tuple[str, Message]:
    """An incident resolved from Slack, its webhooks all delivered (its workflow lingers, then completes)."""
    incident = sb.pd.trigger("PSVC001", "Checkout failing")
    message = await until(lambda: first_root(sb, CHANNEL), what="root message")
    await _click(sb, message, "pd_resolve", "U0ALICE")
    await until(lambda: status_of(message) == "resolved", timeout=30, what="resolved")
    await sb.pd.wait_idle(10)
    return incident, message


async def _resolved_and_finished(sb: Sandbox) -> tuple[str, Message]:
    assert sb.client is not None
    incident, message = await _resolved(sb)
    await _finished(sb.client, incident)
    return incident, message


async def _finished(client: Client, incident: str) -> None:
    """The incident's workflow has lingered and completed, and Temporal lists the completed run."""
    await _runs(client, incident, 1, finished=True)


async def _runs(client: Client, incident: str, count: int, *, finished: bool) -> None:
    query = f"WorkflowId = 'pd-incident-{incident}'" + (" AND ExecutionStatus = 'Completed'" if finished else "")

    async def enough() -> bool:
        return len([w async for w in client.list_workflows(query)]) >= count

    await eventually(enough, timeout=60, what=f"{count} completed run(s) of {incident}")

