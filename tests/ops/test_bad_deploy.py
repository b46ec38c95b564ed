"""A bad deploy on the real dev server: `doctor` and `ctl failing` find the incident workflows whose task keeps
failing and a Slack budget that does not grant, and the printed reset command un-sticks an incident."""

from __future__ import annotations

import asyncio
import json
import os
import re
import shlex
import sys
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client, WorkflowHandle
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from ops.bridge_health import Survey, budget_health, sweep_health
from ops.doctor import Check, format_report, temporal_checks
from ops.doctor_deploy import BUDGET, INCIDENTS, SWEEP, incident_check
from ops.schedule import ensure_sweep_schedule, schedule_id
from ops.workflow_tasks import scan
from settings import Settings
from tests.conftest import server_binary
from tests.ops.bad_deploy import BrokenBudget, NewRelease, OldRelease, StuckBudget, waiting_since
from tests.workflows.fakes import eventually
from workflows.budget import Budget
from workflows.incident import IncidentWorkflow
from workflows.models import WorkflowInput
from workflows.pacing import budget_workflow_id

ROOT = Path(__file__).resolve().parents[2]


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def settings_for(env: WorkflowEnvironment, queue: str) -> Settings:
    return Settings(temporal_address=env.client.service_client.config.target_host, temporal_task_queue=queue)


async def doctor(settings: Settings) -> dict[str, Check]:
    return {c.name: c for c in await temporal_checks(settings)}


async def failing_check(settings: Settings, name: str) -> Check | None:
    check = (await doctor(settings))[name]
    return None if check.ok else check


async def completed_after_timer(handle: WorkflowHandle[OldRelease, None]) -> bool:
    events = [e.event_type async for e in handle.fetch_history_events()]
    fired = EventType.EVENT_TYPE_TIMER_FIRED
    return fired in events and EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED in events[events.index(fired):]


async def run_cli(*args: str) -> tuple[int, str]:
    proc = await asyncio.create_subprocess_exec(*args, cwd=ROOT, stdout=asyncio.subprocess.PIPE,
                                                stderr=asyncio.subprocess.STDOUT)
    out, _ = await asyncio.wait_for(proc.communicate(), timeout=60)
    return int(proc.returncode or 0), out.decode()


async def run_ctl(settings: Settings, *args: str) -> tuple[int, str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TEMPORAL_")}
    env.update(TEMPORAL_ADDRESS=str(settings.temporal_address), TEMPORAL_TASK_QUEUE=settings.temporal_task_queue)
    proc = await asyncio.create_subprocess_exec(sys.executable, "-m", "ops.ctl", "failing", *args, cwd=ROOT, env=env,
                                                stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await asyncio.wait_for(proc.communicate(), timeout=60)
    return int(proc.returncode or 0), out.decode(), err.decode()


async def test_doctor_lists_an_incident_the_new_release_cannot_replay_and_its_reset_unsticks_it(
        dev_env: WorkflowEnvironment) -> None:
    client, queue, incident = dev_env.client, unique("bad-deploy"), f"QNDE{uuid.uuid4().hex[:6].upper()}"
    settings, workflow_id = settings_for(dev_env, queue), f"pd-incident-{incident}"
    async with Worker(client, task_queue=queue, workflows=[OldRelease]):
        handle = await client.start_workflow(OldRelease.run, WorkflowInput(incident_id=incident), id=workflow_id,
                                             task_queue=queue)
        await eventually(lambda: completed_after_timer(handle), 30, "the old release past its timer")
    run_id = (await handle.describe()).run_id
    async with Worker(client, task_queue=queue, workflows=[NewRelease]):
        await handle.signal(OldRelease.poke)  # the new release replays the old run's history for it, and fails
        check = await eventually(lambda: failing_check(settings, INCIDENTS), 30, "the doctor listing the incident")
        report = format_report([check])
        assert f"1 of 1 running incident workflow(s) on task queue {queue} keep failing" in check.detail
        assert f"{incident}  {workflow_id}  attempt " in report
        assert ("(nondeterminism): [TMPRL1100] Nondeterminism error: No command scheduled for event "
                "HistoryEvent(id: 5, TimerStarted)") in report
        assert "Roll the worker back to the release before" in check.fix
        # The last WorkflowTaskCompleted before the event the new code does not take: the reset it can replay.
        command = next(line.split("reset: ", 1)[1] for line in check.lines if "reset: " in line)
        assert command == (f"temporal workflow reset --workflow-id {workflow_id} --run-id {run_id} --event-id 4 "
                           '--reason "bad deploy"')

        code, out = await run_cli(*shlex.split(command.replace("temporal", server_binary("temporal"), 1)),
                                  "--address", str(settings.temporal_address))
        assert code == 0, out

        async def unstuck() -> bool:
            return (await doctor(settings))[INCIDENTS].ok

        await eventually(unstuck, 30, "the incident's task completing after the reset")
        current = client.get_workflow_handle(workflow_id)
        assert (await current.describe()).run_id != run_id
        assert await current.query(NewRelease.count) == 1  # the signal after the reset point was re-applied
        await current.terminate("test over")


async def start_undecodable(client: Client, queue: str) -> tuple[str, str]:
    """An incident whose recorded input today's WorkflowInput cannot decode: its first task fails for ever."""
    incident = f"QDEC{uuid.uuid4().hex[:6].upper()}"
    await client.start_workflow("IncidentWorkflow", {"incident_id": {"shape": "of an old release"}},
                                id=f"pd-incident-{incident}", task_queue=queue)
    return incident, f"pd-incident-{incident}"


@pytest.fixture
async def decode_worker(dev_env: WorkflowEnvironment) -> AsyncIterator[str]:
    """The real IncidentWorkflow on a queue of its own."""
    queue = unique("undecodable")
    async with Worker(dev_env.client, task_queue=queue, workflows=[IncidentWorkflow]):
        yield queue
    async for execution in dev_env.client.list_workflows(f'TaskQueue = "{queue}" AND ExecutionStatus = "Running"'):
        await dev_env.client.get_workflow_handle(execution.id).terminate("test over")


async def test_ctl_failing_lists_an_incident_whose_input_no_longer_decodes(dev_env: WorkflowEnvironment,
                                                                           decode_worker: str) -> None:
    settings = settings_for(dev_env, decode_worker)
    incident, workflow_id = await start_undecodable(dev_env.client, decode_worker)

    async def listed() -> tuple[int, str, str] | None:
        result = await run_ctl(settings)
        return result if f"\t{incident}\t" in result[1] else None

    code, out, err = await eventually(listed, 60, "ctl failing listing the incident")
    assert code == 1
    rows = [line.split("\t") for line in out.splitlines()]
    (row,) = [r for r in rows if r[0] == "incident"]
    kind, wid, iid, problem, attempts, since, detail, command = row
    assert (kind, wid, iid, problem) == ("incident", workflow_id, incident, "task-failing")
    assert int(attempts) >= 2 and datetime.fromisoformat(since) <= datetime.now(UTC)
    assert detail.startswith("unhandled failure: Failed decoding arguments")
    # It failed in its first task: no earlier point to reset to.
    assert command == f'temporal workflow terminate --workflow-id {workflow_id} --reason "bad deploy"'
    # The incident runs, but nothing of the bridge on this queue does.
    assert {r[0]: r[3] for r in rows} == {"incident": "task-failing", "budget": "not-running", "sweep": "missing"}
    assert f"1 of 1 running incident workflow(s) on {decode_worker} failing their workflow task" in err

    code, out, _ = await run_ctl(settings, "--json")
    assert code == 1
    report = json.loads(out)
    assert (report["running_incidents"], report["failing_incidents"]) == (1, 1)
    assert [f["incident_id"] for f in report["findings"] if f["kind"] == "incident"] == [incident]


async def test_the_listing_is_bounded(dev_env: WorkflowEnvironment, decode_worker: str) -> None:
    client = dev_env.client
    started = [await start_undecodable(client, decode_worker) for _ in range(2)]

    async def both_failing() -> bool:
        return (await scan(client, decode_worker)).failing_total == 2

    await eventually(both_failing, 30, "both incidents failing")
    shown = await scan(client, decode_worker, show=1)
    assert (shown.running, shown.checked, shown.failing_total, len(shown.failures)) == (2, 2, 2, 1)
    assert shown.failures[0].workflow_id in {wid for _, wid in started}
    report = Survey("default", shown, *(await asyncio.gather(budget_health(client, decode_worker, 2),
                                                             sweep_health(client, decode_worker, True))))
    check = incident_check(report)
    assert check.lines[-1] == "… and 1 more: `python3 dev.py ctl failing --limit 2` lists them"
    partial = await scan(client, decode_worker, limit=1)
    assert (partial.running, partial.checked, partial.complete) == (2, 1, False)
    assert "(described 1; the rest counted by the server's TemporalReportedProblems flag)" in \
        incident_check(Survey("default", partial, report.budget, report.sweep)).detail


MINUTE = timedelta(minutes=1)


@pytest.mark.parametrize(("waited", "last_grant", "paused_for", "reported"), [
    (10 * MINUTE, 10 * MINUTE, None, True),  # wedged
    (10 * MINUTE, None, None, True),  # never granted in this run
    (10 * MINUTE, timedelta(0), None, False),  # a storm: the oldest waits, but turns are granted
    (10 * MINUTE, 10 * MINUTE, 5 * MINUTE, False),  # Slack's Retry-After pauses it
    (timedelta(0), 10 * MINUTE, None, False),  # idle for long, and an ask just came
], ids=["wedged", "never-granted", "storm", "paused", "fresh-ask"])
async def test_a_budget_with_an_old_ask_and_no_grants_is_reported(
        dev_env: WorkflowEnvironment, waited: timedelta, last_grant: timedelta | None, paused_for: timedelta | None,
        reported: bool) -> None:
    """`waited`, `last_grant`: how long ago the ask came and the last turn was granted; `paused_for`: a 429's
    pause still to run."""
    client, queue, now = dev_env.client, unique("stuck-budget"), datetime.now(UTC)
    settings, budget_id = settings_for(dev_env, queue), budget_workflow_id(queue)
    budget = waiting_since(now - waited, None if last_grant is None else now - last_grant,
                           None if paused_for is None else now + paused_for)
    async with Worker(client, task_queue=queue, workflows=[StuckBudget]):
        handle = await client.start_workflow(StuckBudget.run, budget, id=budget_id, task_queue=queue)

        async def answers() -> bool:
            return len((await handle.query(StuckBudget.state)).waiting) == 1

        await eventually(answers, 30, "the budget answering its queries")
        check = (await doctor(settings))[BUDGET]
        await handle.terminate("test over")
    if not reported:
        assert check.ok, format_report([check])
        assert check.detail.startswith(f"{budget_id}: running and granting: 1 ask(s) waiting")
        return
    assert not check.ok
    never = "nothing granted, " if last_grant is None else r"nothing granted since 60\d s ago \(\S+Z\), "
    assert re.fullmatch(rf"{budget_id}: not granting: 1 ask\(s\) waiting, the oldest since 60\d s ago \(\S+Z\), "
                        rf"{never}and no 429 pause", check.detail), check.detail
    assert f"✗ {BUDGET}  {budget_id}: not granting" in format_report([check])
    assert f'temporal workflow terminate --workflow-id {budget_id} --reason "not granting"' in check.fix


async def test_a_budget_whose_task_fails_is_reported_with_the_terminate_that_is_safe(
        dev_env: WorkflowEnvironment) -> None:
    client, queue = dev_env.client, unique("broken-budget")
    settings, budget_id = settings_for(dev_env, queue), budget_workflow_id(queue)
    async with Worker(client, task_queue=queue, workflows=[BrokenBudget]):
        handle = await client.start_workflow(BrokenBudget.run, Budget(), id=budget_id, task_queue=queue)
        async def task_failing() -> Check | None:  # before its first retry, it only does not answer
            check = await failing_check(settings, BUDGET)
            return check if check and "keeps failing" in check.detail else None

        check = await eventually(task_failing, 30, "the doctor reporting the budget's task")
        await handle.terminate("test over")
    assert check.detail.startswith(f"{budget_id}: its workflow task keeps failing (attempt ")
    assert "unhandled failure" not in check.detail and "the budget of this release cannot start" in check.detail
    assert check.lines[1] == (f'    no reset point, terminate: temporal workflow terminate --workflow-id {budget_id} '
                              '--reason "bad deploy"')
    assert "Terminating it is safe" in check.fix and "within ~25 s" in check.fix


async def test_a_paused_sweep_is_reported_with_the_command_that_resumes_it(dev_env: WorkflowEnvironment) -> None:
    client, queue = dev_env.client, unique("paused-sweep")
    await ensure_sweep_schedule(client, queue, 300)
    schedule = client.get_schedule_handle(schedule_id(queue))
    try:
        assert (await doctor(settings_for(dev_env, queue)))[SWEEP].ok
        await schedule.pause(note="maintenance window")
        check = (await doctor(settings_for(dev_env, queue)))[SWEEP]
        assert not check.ok
        assert check.detail == f"{queue}-sweep is paused (maintenance window)"
        assert f"temporal schedule toggle --schedule-id {queue}-sweep --unpause" in check.fix
    finally:
        await schedule.delete()
