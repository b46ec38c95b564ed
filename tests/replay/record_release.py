"""Records the history library of one release: `python -m tests.replay.record_release <release> [out]`.

Run it once, from a checkout of that release's own commit (its code, its workflows), never again: the files
it writes under tests/fixtures/histories/<release>/ are what CI replays against every later `main`, so that
a change which would stop the incidents that release started fails CI instead of production. A history
that no longer replays is the bug; re-recording it hides the bug.

The whole bridge runs as in production (API, worker, signed webhooks and clicks, the simulators) on a real
Temporal dev server, and the incidents are put in each phase a deploy can find them in:
- open: triggered, its message posted;
- ack_write_in_flight: acknowledged from Slack while PagerDuty fails, the write still retrying;
- note_echo_pending: a note added from Slack, its webhook echo not delivered yet;
- resolved_lingering: resolved from Slack, its workflow lingering for late events;
- dedicated_channel: with its own incident channel;
- storm_waiting: one of a storm's incidents waiting in the Slack budget for its turn;
- budget_queue: the Slack budget with a queue; sweep: one sweep run;
and, from releases that have them (0.2.0 on):
- storm_turn_checked: a storm incident whose late turn was checked with the budget (slack_budget_turn);
- late_note_recalled: a note after the linger, in the run it started, which went on from the finished one.
Histories of running workflows are cut where the deploy would find them.
"""

from __future__ import annotations

import asyncio
import os
import sys
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment

from ops.sandbox import Sandbox, sandbox_config
from settings import Timing
from simulators._slack_model import Message
from workflows import search

T = TypeVar("T")
ROOT = Path(__file__).resolve().parents[1] / "fixtures" / "histories"


async def until(check: Callable[[], T | None], what: str, timeout: float = 60.0) -> T:
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        value = check()
        if value:
            return value
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"{what} not reached within {timeout} s")
        await asyncio.sleep(0.1)


def _root(sb: Sandbox, channel: str, incident_id: str) -> Message | None:
    number = sb.pd.incidents[incident_id].number
    return next((m for m in sb.slack.messages(channel) if not m.deleted and f"#{number}" in str(m.blocks)), None)


async def _posted(sb: Sandbox, channel: str, incident_id: str) -> Message:
    return await until(lambda: _root(sb, channel, incident_id), f"message of {incident_id}")


async def _click(sb: Sandbox, channel: str, message: Message, action_id: str, user: str) -> None:
    status, body = await sb.slack.click(channel, message.ts, action_id, user)
    assert status == 200, body


async def _save(client: Client, out: Path, name: str, workflow_id: str) -> None:
    history = await client.get_workflow_handle(workflow_id).fetch_history()
    (out / f"{name}.json").write_text(history.to_json())
    print(f"recorded {name}: {workflow_id}, {len(history.events)} events", flush=True)  # noqa: T201 (a command that prints what it recorded)


async def record(out: Path) -> None:
    binary = _binary("temporal")
    async with await WorkflowEnvironment.start_local(
            dev_server_existing_path=binary, data_converter=pydantic_data_converter,
            search_attributes=search.ALL_KEYS) as env:
        address = env.client.service_client.config.target_host
        await _phases(env.client, address, out)
        await _storm(env.client, address, out)
    # A server that suggests continuing as new early: the next run starts from the state carried over.
    async with await WorkflowEnvironment.start_local(
            dev_server_existing_path=binary, data_converter=pydantic_data_converter,
            search_attributes=search.ALL_KEYS,
            dev_server_extra_args=["--dynamic-config-value", "limit.historyCount.suggestContinueAsNew=60"]) as env:
        await _continued(env.client, env.client.service_client.config.target_host, out)
    if _has("activities.recall"):
        async with await WorkflowEnvironment.start_local(
                dev_server_existing_path=binary, data_converter=pydantic_data_converter,
                search_attributes=search.ALL_KEYS) as env:
            await _late(env.client, env.client.service_client.config.target_host, out)


def _has(module: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(module) is not None


async def _activity_scheduled(client: Client, workflow_id: str, activity_type: str) -> bool:
    async for event in client.get_workflow_handle(workflow_id).fetch_history_events():
        scheduled = event.activity_task_scheduled_event_attributes
        if event.HasField("activity_task_scheduled_event_attributes") and scheduled.activity_type.name == activity_type:
            return True
    return False


async def _late(client: Client, address: str, out: Path) -> None:
    from temporalio.client import WorkflowExecutionStatus

    config = sandbox_config(Timing(linger_after_resolve_seconds=2, confirmation_deadline_seconds=3))
    queue = f"record-late-{uuid.uuid4().hex[:6]}"
    async with Sandbox(address, task_queue=queue, config=config) as sb:
        incident = sb.pd.trigger("PSVC001", "Checkout failing")
        message = await _posted(sb, "C0PAYMENTS", incident)
        await _click(sb, "C0PAYMENTS", message, "pd_resolve", "U0ALICE")
        await until(lambda: "Resolved by" in str(message.blocks), "resolved message")
        handle = client.get_workflow_handle(f"pd-incident-{incident}")
        deadline = asyncio.get_running_loop().time() + 60
        while (await handle.describe()).status != WorkflowExecutionStatus.COMPLETED:
            assert asyncio.get_running_loop().time() < deadline, "the run did not finish after its linger"
            await asyncio.sleep(0.2)
        sb.pd.add_note(incident, "PUBOB01", "post-mortem on Tuesday")
        await until(lambda: any("post-mortem on Tuesday" in r.text for r in message.replies), "the late note")
        await sb.pd.wait_idle(10)
        await _save(client, out, "late_note_recalled", handle.id)


async def _phases(client: Client, address: str, out: Path) -> None:
    config = sandbox_config(Timing(linger_after_resolve_seconds=3600, action_deadline_seconds=600))
    queue = f"record-{uuid.uuid4().hex[:6]}"
    async with Sandbox(address, task_queue=queue, config=config) as sb:
        channel = "C0PAYMENTS"
        opened = sb.pd.trigger("PSVC001", "Checkout latency over SLO")
        await _posted(sb, channel, opened)

        resolved = sb.pd.trigger("PSVC001", "Card declines rising")
        message = await _posted(sb, channel, resolved)
        await _click(sb, channel, message, "pd_acknowledge", "U0ALICE")
        await until(lambda: "Acknowledged by" in str(message.blocks), "acknowledged")
        await _click(sb, channel, message, "pd_resolve", "U0ALICE")
        await until(lambda: sb.pd.incidents[resolved].status == "resolved", "resolved in PagerDuty")
        await until(lambda: "Resolved by" in str(message.blocks), "resolved message")

        working = sb.pd.trigger("PSVC001", "Webhooks backlog")  # left acknowledged: its controls are kept
        message = await _posted(sb, channel, working)
        await _click(sb, channel, message, "pd_acknowledge", "U0BOB")
        await until(lambda: "Acknowledged by" in str(message.blocks), "acknowledged")

        dedicated = sb.pd.trigger("PSVC001", "Refunds stuck")
        message = await _posted(sb, channel, dedicated)
        await _click(sb, channel, message, "pd_create_channel", "U0ALICE")
        await until(lambda: any(c.startswith("inc-") for c in _channel_names(sb)), "incident channel")
        await until(lambda: any(m.ts for c in _dedicated_ids(sb) for m in sb.slack.messages(c)),
                    "message in the incident channel")

        acked = sb.pd.trigger("PSVC001", "Ledger writes failing")
        message = await _posted(sb, channel, acked)
        await sb.pd.wait_idle(10)
        sb.pd.fail(f"/incidents/{acked}", 503, method="PUT")
        await _click(sb, channel, message, "pd_acknowledge", "U0ALICE")
        await until(lambda: len([r for r in sb.pd.writes() if r.path == f"/incidents/{acked}"]) >= 2,
                    "a retried acknowledge")

        noted = sb.pd.trigger("PSVC001", "Payouts delayed")
        message = await _posted(sb, channel, noted)
        await sb.pd.wait_idle(10)
        sb.pd.paused = True
        await _click(sb, channel, message, "pd_add_note", "U0ALICE")
        view = await until(lambda: next((v for v in sb.slack.views if v.user_id == "U0ALICE" and not v.closed),
                                        None), "note modal")
        values = {"pd_note": {"pd_note_text": {"type": "plain_text_input", "value": "rolled back 4.2 <!here>"}}}
        status, body = await sb.slack.submit_view(view.id, "U0ALICE", values)
        assert status == 200, body
        await until(lambda: sb.pd.incidents[noted].notes, "note in PagerDuty")

        _save_messages(sb, out)
        for name, incident in (("open", opened), ("resolved_lingering", resolved), ("dedicated_channel", dedicated),
                               ("note_echo_pending", noted), ("ack_write_in_flight", acked)):
            await _save(client, out, name, f"pd-incident-{incident}")
        sweep_id = f"sweep-record-{uuid.uuid4().hex[:6]}"
        from workflows.sweep import SweepWorkflow
        from workflows.sweep_models import SweepInput
        await client.execute_workflow(SweepWorkflow.run, SweepInput(), id=sweep_id, task_queue=queue)
        await _save(client, out, "sweep", sweep_id)
        sb.pd.clear_faults()


async def _continued(client: Client, address: str, out: Path) -> None:
    queue = f"record-can-{uuid.uuid4().hex[:6]}"
    async with Sandbox(address, task_queue=queue, config=sandbox_config(Timing())) as sb:
        incident = sb.pd.trigger("PSVC001", "Search index lagging")
        message = await _posted(sb, "C0PAYMENTS", incident)
        await _click(sb, "C0PAYMENTS", message, "pd_acknowledge", "U0ALICE")
        handle = client.get_workflow_handle(f"pd-incident-{incident}")
        for n in range(12):
            sb.pd.add_note(incident, "PUBOB01", f"checked shard {n}")
        await sb.pd.wait_idle(20)
        await until(lambda: len(message.replies) >= 2, "thread replies")

        async def runs() -> list[Any]:
            return [w async for w in client.list_workflows(f"WorkflowId = '{handle.id}'")]

        deadline = asyncio.get_running_loop().time() + 60
        while len(await runs()) < 2:
            assert asyncio.get_running_loop().time() < deadline, "no continue-as-new"
            await asyncio.sleep(0.2)
        every = await runs()
        latest = max(every, key=lambda w: w.start_time)
        history = await client.get_workflow_handle(handle.id, run_id=latest.run_id).fetch_history()
        (out / "continued_as_new.json").write_text(history.to_json())
        print(f"recorded continued_as_new: {handle.id} ({len(every)} runs), {len(history.events)} events", flush=True)  # noqa: T201 (a command that prints what it recorded)


def _save_messages(sb: Sandbox, out: Path) -> None:
    """The messages and modals this release showed, controls and all: clicks on them come after a deploy."""
    import json

    messages = [{"channel": channel, "ts": m.ts, "blocks": m.blocks}
                for channel in sb.slack.channels for m in sb.slack.messages(channel) if not m.deleted]
    views = [v.view for v in sb.slack.views]
    (out.parents[1] / "messages" / f"{out.name}.json").write_text(
        json.dumps({"messages": messages, "views": views}, indent=1))
    print(f"recorded messages: {len(messages)} messages, {len(views)} modals", flush=True)  # noqa: T201


def _channel_names(sb: Sandbox) -> list[str]:
    return [c.name for c in sb.slack.channels.values()]


def _dedicated_ids(sb: Sandbox) -> list[str]:
    return [c.id for c in sb.slack.channels.values() if c.name.startswith("inc-")]


async def _storm(client: Client, address: str, out: Path) -> None:
    from workflows.pacing import budget_workflow_id

    config = sandbox_config(Timing(linger_after_resolve_seconds=3600))
    queue = f"record-storm-{uuid.uuid4().hex[:6]}"
    async with Sandbox(address, task_queue=queue, config=config, slack_limits=True) as sb:
        incidents = [sb.pd.trigger("PSVC002", f"Node {n} unreachable", urgency="high" if n % 3 else "low")
                     for n in range(20)]
        budget = client.get_workflow_handle(budget_workflow_id(queue))

        async def queued() -> int:
            state: Any = await budget.query("state")
            return len(state.waiting) if hasattr(state, "waiting") else len(state["waiting"])

        deadline = asyncio.get_running_loop().time() + 60
        while await queued() < 5:
            assert asyncio.get_running_loop().time() < deadline, "no queue in the budget"
            await asyncio.sleep(0.1)
        waiting = [i for i in incidents if _root(sb, "C0PLATFORM", i) is None]
        await _save(client, out, "storm_waiting", f"pd-incident-{waiting[-1]}")
        await _save(client, out, "budget_queue", budget_workflow_id(queue))
        if _has("activities.pacing") and hasattr(__import__("activities.pacing").pacing, "TurnActivities"):
            deadline = asyncio.get_running_loop().time() + 60
            while True:
                checked = [i for i in incidents if await _activity_scheduled(client, f"pd-incident-{i}",
                                                                             "slack_budget_turn")]
                if checked:
                    await _save(client, out, "storm_turn_checked", f"pd-incident-{checked[-1]}")
                    break
                assert asyncio.get_running_loop().time() < deadline, "no late turn was checked"
                await asyncio.sleep(0.5)


def _binary(name: str) -> str:
    import shutil

    found = shutil.which(name) or shutil.which(name, path=str(Path(sys.executable).parent))
    if not found:
        raise SystemExit(f"{name} not found")
    return found


def main() -> None:
    release = sys.argv[1]
    out = Path(sys.argv[2]) if len(sys.argv) > 2 else ROOT / release
    out.mkdir(parents=True, exist_ok=True)
    asyncio.run(record(out))


if __name__ == "__main__":
    main()
    os._exit(0)  # the SDK's native threads can abort an orderly interpreter shutdown; the files are written
