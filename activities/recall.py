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
from temporalio.service import RPCError, RPCStatusCode

from workflows.models import IncidentState, Model
from workflows.search import MESSAGE_MEMO

log = logging.getLogger("bridge.recall")
# A server without visibility for this query will never answer it; any other error passes and is retried.
CANNOT_LIST = {RPCStatusCode.UNIMPLEMENTED, RPCStatusCode.INVALID_ARGUMENT}
RUNS_LOOKED_AT = 20  # closed runs of one incident (each a linger apart): far more than any incident has


class RecallRequest(Model):
    workflow_id: str
    run_id: str  # the asking run, never the one recalled


class RecallActivities:
    def __init__(self, client: Client) -> None:
        self._client = client

    @activity.defn(name="recall_finished_run")
    async def recall(self, request: RecallRequest) -> IncidentState | None:
        """The final state of the newest closed run that completed; where a newer run ended without one
        (terminated, failed), the place of its message from its memo, so the message is kept and its thread
        goes on. Runs that left neither (terminated before their first task) are passed over.

        A Temporal error raises, so the activity is retried: answering "no memory" for a moment's outage would
        post a second root message for the incident.
        """
        query = (f"WorkflowId = '{request.workflow_id}' AND ExecutionStatus != 'Running' "
                 "AND ExecutionStatus != 'ContinuedAsNew'")
        try:
            runs = [run async for run in self._client.list_workflows(query, limit=RUNS_LOOKED_AT)
                    if run.run_id != request.run_id and run.status != WorkflowExecutionStatus.CONTINUED_AS_NEW]
        except RPCError as exc:
            if exc.status not in CANNOT_LIST:
                raise
            log.warning("no memory for %s: this Temporal cannot list closed runs (%s)", request.workflow_id,
                        exc.message)
            return None
        for run in sorted(runs, key=lambda r: r.close_time or r.start_time, reverse=True):
            state = (await self._result(request, run) if run.status == WorkflowExecutionStatus.COMPLETED
                     else await self._from_memo(request, run))
            if state is not None:
                return state
        return None

    async def _result(self, request: RecallRequest, run: WorkflowExecution) -> IncidentState | None:
        handle = self._client.get_workflow_handle(request.workflow_id, run_id=run.run_id, result_type=IncidentState)
        try:
            state: IncidentState = await handle.result(follow_runs=False)
        except WorkflowFailureError as exc:
            log.warning("%s: run %s has no readable result (%s); looking further back", request.workflow_id,
                        run.run_id, exc)
            return None
        except RPCError as exc:
            if exc.status != RPCStatusCode.NOT_FOUND:
                raise
            return None  # its history is past retention: looked further back, like a run with no result
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
