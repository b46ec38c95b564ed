"""Records a release's whole incident lifecycle on the time-skipping server, lingering and completion included:
`python -m tests.replay.record <release>`, run once from that release's own commit beside
tests/replay/record_release.py (the other phases). Never re-record a kept history: see tests/replay/library.py.
"""

from __future__ import annotations

import asyncio
import os
import sys
import uuid
from datetime import timedelta
from pathlib import Path

from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment

from tests.factories import T0, pd_event, snapshot
from tests.factories import action as click
from tests.workflows.fakes import FakeBackend, eventually, start
from workflows.incident import IncidentWorkflow
from workflows.models import ActionKind, Status, Timing

HISTORIES = Path(__file__).resolve().parents[1] / "fixtures" / "histories"


async def record_lifecycle(env: WorkflowEnvironment) -> str:
    """Triggered, acknowledged from Slack (with its echo), a note, resolved, lingered, completed."""
    backend, queue = FakeBackend(), str(uuid.uuid4())
    # Webhook times follow the server's clock, so the echo is recognised as the command's confirmation.
    base = ((await env.get_current_time()) - T0).total_seconds()
    async with backend.worker(env.client, queue):
        handle = await start(env.client, queue, pd_event("incident.triggered", base),
                             Timing(linger_after_resolve_seconds=3600))
        await eventually(lambda: _true(bool(backend.posts)))
        await handle.signal(IncidentWorkflow.slack_action, click(ActionKind.ACKNOWLEDGE, key="ack-1"))
        await eventually(lambda: _true(bool(backend.writes)))
        await handle.signal(IncidentWorkflow.pd_event, pd_event("incident.acknowledged", base + 20))
        await handle.signal(IncidentWorkflow.pd_event, pd_event("incident.annotated", base + 30, note="rolled back"))
        backend.current = snapshot(Status.RESOLVED)
        await handle.signal(IncidentWorkflow.pd_event, pd_event("incident.resolved", base + 40))
        await env.sleep(timedelta(minutes=5))
        await handle.result()
        history = await handle.fetch_history()
    return history.to_json()


async def _true(value: bool) -> bool:
    return value


async def main() -> None:
    from tests.conftest import server_binary

    binary = server_binary("temporal-test-server")  # found beside the interpreter too, as the tests do
    async with await WorkflowEnvironment.start_time_skipping(
            test_server_existing_path=binary, data_converter=pydantic_data_converter) as env:
        from tests.conftest import register_search_attributes

        await register_search_attributes(env)
        out = HISTORIES / sys.argv[1]
        out.mkdir(parents=True, exist_ok=True)
        (out / "lifecycle_completed.json").write_text(await record_lifecycle(env))


if __name__ == "__main__":
    asyncio.run(main())
    # The SDK's native threads can abort an orderly interpreter shutdown; the file is written by now.
    os._exit(0)
