"""A transient Temporal error while a late event's run recalls the finished one is retried (the activity's
retry policy), never taken for "no earlier run", which would post a second root message."""

from __future__ import annotations

from typing import Any

from temporalio.service import RPCError, RPCStatusCode

from activities.recall import RecallActivities, RecallRequest


class _Unavailable:
    """A client whose visibility call fails the way a frontend restart or a rate limit does."""

    def list_workflows(self, *args: Any, **kwargs: Any) -> Any:
        raise RPCError("namespace rate limit exceeded", RPCStatusCode.RESOURCE_EXHAUSTED, b"")

async def test_a_transient_visibility_error_is_retried_not_taken_for_no_memory() -> None:
    recall = RecallActivities(_Unavailable())  # type: ignore[arg-type]
    request = RecallRequest(workflow_id="pd-incident-PABC123", run_id="run-2")
    try:
        answer = await recall.recall(request)
    except RPCError:
        return  # retried by the activity's retry policy: the fix
    raise AssertionError(f"a transient error answered {answer!r}: the new run goes on as a stranger "
                         "(a late note is dropped, a reopen or click posts a second root message)")
