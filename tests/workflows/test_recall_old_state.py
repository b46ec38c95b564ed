"""A late note goes on from the final state a 0.1.0 (98334e2) run completed with."""

from __future__ import annotations

import base64
import json
import uuid
from datetime import timedelta
from pathlib import Path

from temporalio.testing import WorkflowEnvironment

from tests.factories import pd_event, snapshot
from tests.workflows.fakes import FakeBackend, eventually, start
from workflows.incident import IncidentWorkflow
from workflows.models import IncidentState, Status

LIFECYCLE = Path(__file__).resolve().parents[1] / "fixtures" / "histories" / "98334e2" / "lifecycle_completed.json"


def _old_final_state() -> IncidentState:
    events = json.loads(LIFECYCLE.read_text())["events"]
    payload = events[-1]["workflowExecutionCompletedEventAttributes"]["result"]["payloads"][0]
    return IncidentState.model_validate_json(base64.b64decode(payload["data"]))


async def test_a_late_note_goes_on_from_a_0_1_0_final_state(ts_env: WorkflowEnvironment) -> None:
    backend, queue = FakeBackend(), str(uuid.uuid4())
    backend.recalled = _old_final_state()
    backend.current = snapshot(Status.RESOLVED)
    async with backend.worker(ts_env.client, queue):
        late = pd_event("incident.annotated", 10_000, note="late post-mortem", event_id="EVLATE1")
        handle = await start(ts_env.client, queue, late)

        async def noted() -> bool:
            return any("late post-mortem" in r for r in backend.replies)

        try:
            await eventually(noted, what="the late note in the thread")
        except AssertionError as missing:
            state = await handle.query(IncidentWorkflow.state)
            raise AssertionError(
                f"recalls={len(backend.recalls)} posts={len(backend.posts)} replies={backend.replies} "
                f"state ts={state.ts} status={state.status} finished={state.finished} "
                f"pending replies={[(r.seq, r.text[:30]) for r in state.replies]} "
                f"posted_seq={state.replies_posted_seq} audit={[a.note[:80] for a in state.audit[-5:]]}") from missing
        assert backend.posts == [], "a second root message"
        assert {u.ts for u in backend.updates} <= {backend.recalled.ts}
        await ts_env.sleep(timedelta(hours=2))
        final = await handle.result()
    assert final.finished and final.ts == backend.recalled.ts
