"""What a finished incident workflow knew, for the run that an event after its linger starts.

An incident outlives its workflow: a note added days later, a late redelivery (PagerDuty retries for 48 h),
a reopen. The new run asks for the newest closed run of the same workflow id and goes on from its final
state (its message, its thread, its own commands); after a run that ended without a result (terminated by
an operator) it goes on with that run's message, whose place every run keeps in its memo. Temporal keeps
a closed run, and so this memory, for the namespace's retention period after the linger (see the README's
*Upgrading* and *Operations*).
"""

from __future__ import annotations

import logging

from temporalio import activity
from temporalio.client import Client, WorkflowExecution, WorkflowExecutionStatus, WorkflowFailureError
from temporalio.service import RPCError

from workflows.models import IncidentState, Model
from workflows.search import MESSAGE_MEMO

log = logging.getLogger("bridge.recall")


class RecallRequest(Model):
    workflow_id: str
    run_id: str  # the asking run, never the one recalled


class RecallActivities:
    def __init__(self, client: Client) -> None:
        self._client = client

    @activity.defn(name="recall_finished_run")
    async def recall(self, request: RecallRequest) -> IncidentState | None:
        """The newest closed run's final state; of a run that ended without one (terminated, failed), the
        place of its message from the memo, so the message is kept and its thread goes on."""
        query = (f"WorkflowId = '{request.workflow_id}' AND ExecutionStatus != 'Running' "
                 "AND ExecutionStatus != 'ContinuedAsNew'")
        try:
            runs = [run async for run in self._client.list_workflows(query, limit=20)
                    if run.run_id != request.run_id and run.status != WorkflowExecutionStatus.CONTINUED_AS_NEW]
        except RPCError as exc:
            log.warning("no memory for %s: closed runs cannot be listed (%s)", request.workflow_id, exc.message)
            return None
        if not runs:
            return None
        newest = max(runs, key=lambda run: run.close_time or run.start_time)
        if newest.status != WorkflowExecutionStatus.COMPLETED:
            return await self._from_memo(request, newest)
        handle = self._client.get_workflow_handle(request.workflow_id, run_id=newest.run_id,
                                                  result_type=IncidentState)
        try:
            state: IncidentState = await handle.result(follow_runs=False)
        except (RPCError, WorkflowFailureError) as exc:
            log.warning("no memory for %s: run %s unreadable (%s)", request.workflow_id, newest.run_id, exc)
            return None
        return state

    @staticmethod
    async def _from_memo(request: RecallRequest, run: WorkflowExecution) -> IncidentState | None:
        message = (await run.memo()).get(MESSAGE_MEMO)
        if not isinstance(message, dict) or not message.get("ts"):
            return None
        incident_id = request.workflow_id.removeprefix("pd-incident-")
        log.info("%s: run %s ended %s; going on with its message only", request.workflow_id, run.run_id,
                 run.status.name if run.status else "without a result")
        return IncidentState(incident_id=incident_id, channel=message.get("channel"), ts=str(message["ts"]))
