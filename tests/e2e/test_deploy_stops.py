"""A deploy stops the bridge with SIGTERM: the acknowledge the worker is sending and the answer the API is
working out both finish, and the worker exits 0."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import socket
import subprocess
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TypeVar

from pydantic import SecretStr
from temporalio.api.enums.v1 import EventType, PendingActivityState
from temporalio.service import RPCError

from api.gateway import workflow_id
from ops.sandbox import Sandbox
from ops.schedule import schedule_id
from settings import Settings
from tests.e2e.conftest import SandboxFactory, first_root, reply_texts, status_of, until

T = TypeVar("T")
ROOT = Path(__file__).resolve().parents[2]
CONFIG = """[routing]
default_channel = "C0DEFAULT"

[routing.services]
PSVC001 = "C0PAYMENTS"

[authorization]
admin_slack_users = ["U0LEAD"]
"""


def _environment(settings: Settings, config: Path) -> dict[str, str]:
    """The sandbox's settings as the variables `python worker.py` reads."""
    env = {name.upper(): value.get_secret_value() if isinstance(value, SecretStr) else str(value)
           for name, value in settings.model_dump().items() if value is not None}
    return {"PATH": "/usr/bin:/bin", "HOME": str(config.parent), **env, "BRIDGE_CONFIG": str(config)}


async def _write_attempts(sb: Sandbox, incident: str) -> list[int] | None:
    """The attempts of the incident's one PagerDuty write, once its answer is in the history."""
    assert sb.client is not None
    history = await sb.client.get_workflow_handle(workflow_id(incident)).fetch_history()
    writes = {e.event_id for e in history.events if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED
              and e.activity_task_scheduled_event_attributes.activity_type.name == "pd_write"}
    answered = [e for e in history.events if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED
                and e.activity_task_completed_event_attributes.scheduled_event_id in writes]
    if not answered:
        return None
    assert len(writes) == 1 and len(answered) == 1
    return [e.activity_task_started_event_attributes.attempt for e in history.events
            if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED
            and e.activity_task_started_event_attributes.scheduled_event_id in writes]


async def _until_async(check: Callable[[], Awaitable[T | None]], timeout: float, what: str) -> T:
    deadline = asyncio.get_running_loop().time() + timeout
    while (value := await check()) is None:
        assert asyncio.get_running_loop().time() < deadline, f"{what} not reached within {timeout} s"
        await asyncio.sleep(0.1)
    return value


async def _delete_sweep_schedule(sb: Sandbox) -> None:
    """`python worker.py` made the sweep's schedule for its task queue; it must not fire in later tests."""
    assert sb.client is not None
    with contextlib.suppress(RPCError):
        await sb.client.get_schedule_handle(schedule_id(sb.settings.temporal_task_queue)).delete()


async def _write_in_flight(sb: Sandbox, incident: str) -> bool | None:
    """True once the acknowledge's PagerDuty call is running (None before)."""
    assert sb.client is not None
    described = await sb.client.get_workflow_handle(workflow_id(incident)).describe()
    return any(a.activity_type.name == "pd_write" and a.state == PendingActivityState.PENDING_ACTIVITY_STATE_STARTED
               for a in described.raw_description.pending_activities) or None


async def test_sigterm_lets_an_acknowledge_in_flight_finish_and_exits_cleanly(
        make_sandbox: SandboxFactory, tmp_path: Path) -> None:
    config = tmp_path / "bridge.toml"
    config.write_text(CONFIG)
    async with make_sandbox(run_worker=False) as sb:
        log = (tmp_path / "worker.log").open("wb")
        worker = subprocess.Popen([sys.executable, "worker.py"], cwd=ROOT, env=_environment(sb.settings, config),
                                  stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        try:
            incident = sb.pd.trigger("PSVC001", "Card payments failing")
            message = await until(lambda: first_root(sb, "C0PAYMENTS"), timeout=60, what="the incident message")
            sb.pd.delay(f"/incidents/{incident}", 3.0)  # PagerDuty answers the acknowledge 3 s after it is sent
            status, body = await sb.slack.click("C0PAYMENTS", message.ts, "pd_acknowledge", "U0ALICE")
            assert status == 200, body
            await _until_async(lambda: _write_in_flight(sb, incident), timeout=30,
                               what="the acknowledge sent to PagerDuty")
            worker.send_signal(signal.SIGTERM)  # the deploy, while PagerDuty has not answered yet
            code = await asyncio.to_thread(worker.wait, 60)
        finally:
            if worker.poll() is None:
                worker.kill()
            log.close()
            await _delete_sweep_schedule(sb)
        assert code == 0, (tmp_path / "worker.log").read_text()[-3000:]

        # The call was not cut: Temporal has its answer from the stopped worker, on the first attempt. (It
        # enters the history once the workflow task that the last poll may have taken times out, ~10 s.)
        attempts = await _until_async(lambda: _write_attempts(sb, incident), timeout=30,
                                      what="the write's answer in the history")
        assert attempts == [1]
        assert [r.headers.get("from") for r in sb.pd.writes()] == ["alice@example.com"]

        # The next worker takes over from there: acknowledged once, by Alice, from Slack.
        await sb.start_worker()
        await until(lambda: status_of(message) == "acknowledged", what="acknowledged")
        await until(lambda: reply_texts(message), what="the timeline")
        assert reply_texts(message) == [":heavy_check_mark: Acknowledged by <@U0ALICE> from Slack"]


async def test_an_api_stopped_while_a_trigger_form_is_sent_to_pagerduty_still_tells_the_person(
        sandbox: Sandbox) -> None:
    assert sandbox.api is not None
    status, body = await sandbox.slack.slash_command("U0BOB", "C0PAYMENTS", "trigger")
    assert status == 200, body
    view = await until(lambda: sandbox.slack.open_view_for("U0BOB"), what="the trigger form")
    sandbox.pd.delay("/incidents", 1.5)  # the look-up and the create each answer 1.5 s late
    status, body = await sandbox.slack.submit_view(view.id, "U0BOB", {
        "pd_trigger_service": {"pd_trigger_service_choice": {
            "type": "external_select", "selected_option": {"value": "PSVC001"}}},
        "pd_trigger_title": {"pd_trigger_title_text": {"type": "plain_text_input", "value": "Refunds stuck"}},
        "pd_trigger_urgency": {"pd_trigger_urgency_choice": {
            "type": "static_select", "selected_option": {"value": "high"}}}})
    assert status == 200 and view.closed, body
    # The form is being worked on (PagerDuty named the service, the incident is not made yet): the deploy.
    await until(lambda: any(r.path == "/services/PSVC001" for r in sandbox.pd.requests), what="the service read")
    assert sandbox.pd.incidents == {}
    await asyncio.to_thread(sandbox.api.stop, 30.0)

    [incident] = sandbox.pd.incidents.values()
    assert incident.title == "Refunds stuck"
    told = await until(lambda: [e.text for e in sandbox.slack.ephemerals if e.user == "U0BOB"], what="an answer")
    assert told[0].startswith("Triggered") and "Refunds stuck" in told[0], told


async def test_sigterm_while_the_worker_waits_for_temporal_stops_it_at_once(tmp_path: Path) -> None:
    """A deploy rolled back while Temporal does not answer: the worker does not sit out its connect timeout."""
    config = tmp_path / "bridge.toml"
    config.write_text(CONFIG)
    with socket.socket() as mute:  # accepts connections (the kernel does) and never says a word
        mute.bind(("127.0.0.1", 0))
        mute.listen(8)
        mute.settimeout(30)
        env = _environment(Settings(temporal_address=f"127.0.0.1:{mute.getsockname()[1]}",
                                    pagerduty_api_token=SecretStr("pd-token"), slack_bot_token=SecretStr("xoxb-t"),
                                    slack_signing_secret=SecretStr("signing")), config)
        worker = subprocess.Popen([sys.executable, "worker.py"], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                                  stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        try:
            connection, _ = await asyncio.to_thread(mute.accept)  # the worker is connecting to Temporal
            with connection:
                worker.send_signal(signal.SIGTERM)
                output, _ = await asyncio.to_thread(worker.communicate, timeout=10)
        finally:
            if worker.poll() is None:
                worker.kill()
    assert worker.returncode == 0, output.decode()[-3000:]
    assert b"stopped while starting" in output
