"""A deploy stops the bridge with SIGTERM: the acknowledge the worker is sending and the answer the API is
working out both finish, and the worker exits 0."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
from pathlib import Path

from pydantic import SecretStr
from temporalio.api.enums.v1 import EventType, PendingActivityState

from api.gateway import workflow_id
from ops.sandbox import Sandbox
from settings import Settings
from tests.e2e.conftest import SandboxFactory, first_root, reply_texts, status_of, until

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


async def _write_in_flight(sb: Sandbox, incident: str) -> bool:
    assert sb.client is not None
    described = await sb.client.get_workflow_handle(workflow_id(incident)).describe()
    return any(a.activity_type.name == "pd_write" and a.state == PendingActivityState.PENDING_ACTIVITY_STATE_STARTED
               for a in described.raw_description.pending_activities)


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
            deadline = asyncio.get_running_loop().time() + 30
            while not await _write_in_flight(sb, incident):
                assert asyncio.get_running_loop().time() < deadline, "the acknowledge never went out"
                await asyncio.sleep(0.05)
            worker.send_signal(signal.SIGTERM)  # the deploy, while PagerDuty has not answered yet
            code = await asyncio.to_thread(worker.wait, 60)
        finally:
            if worker.poll() is None:
                worker.kill()
            log.close()
        assert code == 0, (tmp_path / "worker.log").read_text()[-3000:]

        # The call was not cut: Temporal has its answer from the stopped worker, on the first attempt.
        assert sb.client is not None
        history = await sb.client.get_workflow_handle(workflow_id(incident)).fetch_history()
        writes = {e.event_id: e for e in history.events
                  if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED
                  and e.activity_task_scheduled_event_attributes.activity_type.name == "pd_write"}
        answered = [e for e in history.events if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED
                    and e.activity_task_completed_event_attributes.scheduled_event_id in writes]
        started = [e.activity_task_started_event_attributes.attempt for e in history.events
                   if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED
                   and e.activity_task_started_event_attributes.scheduled_event_id in writes]
        assert len(answered) == 1 and started == [1]
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
