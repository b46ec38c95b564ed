"""A late event finds the incident's message although newer runs left nothing behind or visibility lags.
Real API, worker, signed webhooks, a real Temporal server."""

from __future__ import annotations

import uuid

from temporalio.client import WorkflowExecutionStatus

from tests.e2e.conftest import SandboxFactory, reply_texts, root_messages, until
from tests.e2e.test_across_time import CHANNEL, SHORT, _resolved, _resolved_and_finished
from tests.workflows.fakes import eventually
from workflows.incident import IncidentWorkflow
from workflows.models import WorkflowInput


async def test_a_run_terminated_before_its_first_task_hides_the_completed_run(make_sandbox: SandboxFactory) -> None:
    """R1 completed (it knew the message); R2 was terminated before it ran a task (say, the doctor's
    'terminate' for a run failing its very first task after a bad deploy), so it left no memo. The note
    that comes next starts R3, which should still go on in R1's message."""
    async with make_sandbox(timing=SHORT) as sb:
        assert sb.client is not None
        incident, message = await _resolved_and_finished(sb)
        workflow_id = f"pd-incident-{incident}"
        # R2: started, but its first workflow task never completes (no worker polls this queue).
        r2 = await sb.client.start_workflow(IncidentWorkflow.run, WorkflowInput(incident_id=incident),
                                            id=workflow_id, task_queue=f"nobody-{uuid.uuid4().hex[:6]}")
        await r2.terminate("fails its first workflow task after a bad deploy")

        async def listed() -> bool:
            query = f"WorkflowId = '{workflow_id}' AND ExecutionStatus = 'Terminated'"
            return bool([w async for w in sb.client.list_workflows(query)])  # type: ignore[union-attr]

        await eventually(listed, timeout=30, what="the terminated run listed")
        sb.pd.add_note(incident, "PUBOB01", "post-mortem scheduled")

        def landed() -> bool:
            return any("post-mortem scheduled" in t for m in root_messages(sb, CHANNEL) for t in reply_texts(m))

        try:
            await until(landed, timeout=30, what="the note somewhere in Slack")
        except AssertionError:
            state = await sb.client.get_workflow_handle(workflow_id).query(IncidentWorkflow.state)
            raise AssertionError(f"the late note never reached Slack; the new run knows ts={state.ts} "
                                 f"status={state.status} replies={[r.text[:40] for r in state.replies]} "
                                 f"audit={[a.note[:70] for a in state.audit[-4:]]}") from None
        roots = root_messages(sb, CHANNEL)
        assert len(roots) == 1, f"{len(roots)} root messages for one incident: the completed run was not recalled"
        assert any("post-mortem scheduled" in t for t in reply_texts(message))
        description = await sb.client.get_workflow_handle(workflow_id).describe()
        assert description.status == WorkflowExecutionStatus.RUNNING


async def test_a_note_right_after_the_run_completes_still_goes_to_the_original_thread(
        make_sandbox: SandboxFactory) -> None:
    """The run has completed (describe says so) but visibility may not list it yet: the next event's run
    must still find it."""
    async with make_sandbox(timing=SHORT) as sb:
        assert sb.client is not None
        incident, message = await _resolved(sb)
        handle = sb.client.get_workflow_handle(f"pd-incident-{incident}")

        async def completed() -> bool:
            return (await handle.describe()).status == WorkflowExecutionStatus.COMPLETED

        await eventually(completed, timeout=60, what="the run completed")
        sb.pd.add_note(incident, "PUBOB01", "right after the linger")  # no wait for visibility

        def landed() -> bool:
            return any("right after the linger" in t for t in reply_texts(message))

        try:
            await until(landed, timeout=30, what="the note in the original thread")
        except AssertionError:
            state = await handle.query(IncidentWorkflow.state)
            raise AssertionError(f"lost: new run ts={state.ts} audit={[a.note[:70] for a in state.audit[-3:]]}, "
                                 f"{len(root_messages(sb, CHANNEL))} root message(s)") from None
