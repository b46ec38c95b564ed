"""The API's /metrics shows the webhook subscription's state too, read from the workflow that keeps the
channel's warning (the sweep that sets it runs in the worker, maybe in another process)."""

from __future__ import annotations

from datetime import timedelta

from temporalio.client import WorkflowQueryFailedError
from temporalio.service import RPCError, RPCStatusCode

from activities.sweep import show_health, warning_workflow_id
from api.gateway import TemporalGateway
from workflows.sweep_models import WarningState


async def refresh_webhook_gauge(gateway: TemporalGateway, task_queue: str) -> None:
    client = await gateway.connect()
    handle = client.get_workflow_handle(warning_workflow_id(task_queue))
    try:
        state = await handle.query("state", result_type=WarningState, rpc_timeout=timedelta(seconds=2))
    except RPCError as exc:
        if exc.status == RPCStatusCode.NOT_FOUND:
            return  # no sweep has checked the subscription yet
        raise
    except WorkflowQueryFailedError:
        return
    if state.latest is not None:
        show_health(state.latest)
