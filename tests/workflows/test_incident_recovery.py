"""The workflow recovers by itself: failed renders are retried until Slack is right, retries of a write
say they are retries, and continuing as new never waits on a Slack call."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from temporalio.client import WorkflowHandle
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment

from tests.conftest import server_binary
from tests.factories import action as click
from tests.factories import pd_event
from tests.workflows.fakes import FakeBackend, eventually, start
from workflows import search
from workflows.incident import IncidentWorkflow
from workflows.models import ActionKind, IncidentState, Status

Handle = WorkflowHandle[IncidentWorkflow, IncidentState]


async def _stuck(handle: Handle) -> bool | None:
    attributes = (await handle.describe()).typed_search_attributes
    return attributes.get(search.STUCK)


async def test_failed_update_is_retried_until_slack_shows_the_resolve(ts_env: WorkflowEnvironment) -> None:
    backend, queue = FakeBackend(), str(uuid.uuid4())
    async with backend.worker(ts_env.client, queue):
        handle = await start(ts_env.client, queue, pd_event("incident.triggered", 0))
        await eventually(lambda: _true(bool(backend.posts)))
        backend.update_failures = 3
        await handle.signal(IncidentWorkflow.pd_event, pd_event("incident.resolved", 60))
        await eventually(lambda: _true(backend.update_failures == 0), timeout=30)
        state = await handle.query(IncidentWorkflow.state)
        assert state.render_error is not None
        assert await _stuck(handle) is True
        # Nothing else happens to the incident: the retry alone must bring Slack up to date.
        await ts_env.sleep(timedelta(minutes=5))
        await eventually(lambda: _true(any(u.view.status is Status.RESOLVED for u in backend.updates)))
        state = await eventually(lambda: _clean(handle))
        assert await eventually(lambda: _not_stuck(handle))
    assert state.render_error is None


@pytest.mark.parametrize("answered,marked", [(False, True), (True, False)], ids=["timed-out", "503"])
async def test_durable_write_retries_are_marked_so_a_landed_first_attempt_is_found(
        ts_env: WorkflowEnvironment, answered: bool, marked: bool) -> None:
    # Only a first attempt that got no answer may have landed; after PagerDuty's 503 nothing was done, so a
    # change found since the click is someone's own (the clicker's, made in PagerDuty), never this click's.
    backend, queue = FakeBackend(), str(uuid.uuid4())
    backend.write_failures, backend.write_failures_answered = 1, answered
    async with backend.worker(ts_env.client, queue):
        handle = await start(ts_env.client, queue, pd_event("incident.triggered", 0))
        await eventually(lambda: _true(bool(backend.posts)))
        await handle.signal(IncidentWorkflow.slack_action, click(ActionKind.NOTE, note="deploy rolled back"))
        await eventually(lambda: _true(len(backend.writes) >= 2), timeout=30)
    assert [w.is_retry for w in backend.writes[:2]] == [False, marked]


async def test_continue_as_new_never_waits_on_a_hanging_slack_update() -> None:
    async with await WorkflowEnvironment.start_local(
        dev_server_existing_path=server_binary("temporal"),
        data_converter=pydantic_data_converter,
        search_attributes=search.ALL_KEYS,
        dev_server_extra_args=["--dynamic-config-value", "limit.historyCount.suggestContinueAsNew=40"],
    ) as env:
        backend, queue = FakeBackend(), str(uuid.uuid4())
        async with backend.worker(env.client, queue):
            handle = await start(env.client, queue, pd_event("incident.triggered", 0))
            first_run = (await handle.describe()).run_id
            await eventually(lambda: _true(bool(backend.posts)))
            backend.update_hangs = True  # Slack stops answering updates
            kinds = ["incident.acknowledged", "incident.unacknowledged"]
            for i in range(60):
                await handle.signal(IncidentWorkflow.pd_event, pd_event(kinds[i % 2], i + 1, event_id=f"b{i}"))
            latest = env.client.get_workflow_handle(handle.id)
            state = await eventually(lambda: _seen(latest, 61), timeout=20)
            description = await latest.describe()
    assert description.run_id != first_run
    assert state.status is Status.TRIGGERED
    assert len(backend.posts) == 1


async def _true(value: bool) -> bool:
    return value


async def _clean(handle: Handle) -> IncidentState | None:
    state = await handle.query(IncidentWorkflow.state)
    return state if state.render_error is None else None


async def _not_stuck(handle: Handle) -> bool:
    return await _stuck(handle) is False


async def _seen(handle: Handle, count: int) -> IncidentState | None:
    state = await handle.query(IncidentWorkflow.state)
    return state if len(state.seen_event_ids) >= count else None
