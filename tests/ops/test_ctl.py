"""`ops.ctl`: webhook subscriptions against the PagerDuty simulator, stuck incidents on the real dev server."""

from __future__ import annotations

import asyncio
import os
import sys
import uuid
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import TypeVar

import pytest
from temporalio.client import Client
from temporalio.common import SearchAttributePair, TypedSearchAttributes
from temporalio.testing import WorkflowEnvironment

from activities.pagerduty_api import INCIDENT_EVENTS
from ops.ctl import PendingCommand, StuckIncident, format_stuck, list_stuck, main, ui_base
from ops.sandbox import Sandbox
from settings import Settings
from simulators.pagerduty import PagerDutySimulator
from simulators.server import ServedApp
from tests.e2e.conftest import first_root, until
from tests.workflows.fakes import eventually
from workflows import search
from workflows.incident import IncidentWorkflow
from workflows.models import WorkflowInput

T = TypeVar("T")
URL = "https://bridge.example.com/pagerduty/webhooks"
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def pd(monkeypatch: pytest.MonkeyPatch) -> Iterator[PagerDutySimulator]:
    sim = PagerDutySimulator(token="pd-ctl-token")
    sim.seed_demo()
    with ServedApp(sim.app) as server:
        monkeypatch.setenv("PAGERDUTY_API_TOKEN", "pd-ctl-token")
        monkeypatch.setenv("PAGERDUTY_API_URL", server.url)
        yield sim
    sim.close()


def test_subscribe_creates_one_subscription_per_service(pd: PagerDutySimulator,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["subscribe", "--url", URL, "--service", "PSVC001", "--service", "PSVC002", "--description", "x"])
    out = capsys.readouterr().out
    assert code == 0
    subs = list(pd.subscriptions.values())
    assert [s["filter"] for s in subs] == [{"type": "service_reference", "id": "PSVC001"},
                                           {"type": "service_reference", "id": "PSVC002"}]
    assert all(s["events"] == INCIDENT_EVENTS and s["delivery_method"]["url"] == URL for s in subs)
    assert all(s["description"] == "x" for s in subs)
    secrets = [s["delivery_method"]["secret"] for s in subs]
    assert f"PAGERDUTY_WEBHOOK_SECRETS={secrets[0]},{secrets[1]}" in out
    assert "never shows these secrets again" in out


def test_subscribe_account_wide(pd: PagerDutySimulator, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["subscribe", "--url", URL, "--account"]) == 0
    (sub,) = pd.subscriptions.values()
    assert sub["filter"] == {"type": "account_reference"}
    assert sub["delivery_method"]["secret"] in capsys.readouterr().out


def test_subscribe_refuses_plain_http_unless_allowed(pd: PagerDutySimulator,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    local = "http://127.0.0.1:8000/pagerduty/webhooks"
    assert main(["subscribe", "--url", local, "--team", "PTPAY01"]) == 2
    assert "plain-http" in capsys.readouterr().err
    assert pd.subscriptions == {}
    assert main(["subscribe", "--url", local, "--team", "PTPAY01", "--allow-http"]) == 0
    (sub,) = pd.subscriptions.values()
    assert sub["filter"] == {"type": "team_reference", "id": "PTPAY01"}


def test_subscribe_refused_by_pagerduty_names_the_permission(pd: PagerDutySimulator,
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    pd.fail("/webhook_subscriptions", 403)
    assert main(["subscribe", "--url", URL, "--service", "PSVC001"]) == 1
    err = capsys.readouterr().err
    assert "service PSVC001" in err and "webhook_subscriptions.write" in err


def test_service_and_account_are_exclusive(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["subscribe", "--url", URL, "--service", "PSVC001", "--account"])
    assert "not allowed with" in capsys.readouterr().err


def test_ui_links_only_for_a_local_server() -> None:
    assert ui_base(Settings(temporal_address=None), None) == "http://localhost:8233"
    assert ui_base(Settings(temporal_address="127.0.0.1:7233"), None) == "http://localhost:8233"
    assert ui_base(Settings(temporal_address="temporal.prod:7233"), None) is None
    assert ui_base(Settings(temporal_address="temporal.prod:7233"), "https://ui.prod/") == "https://ui.prod"
    item = StuckIncident("pd-incident-Q1", "Q1", 7, "triggered", True, True,
                         [PendingCommand("acknowledge", "U0ALICE", "retrying", "HTTP 503; retrying")])
    text = format_stuck([item], "default", "http://localhost:8233", include_all=False)
    assert "pd-incident-Q1  #7  triggered  STUCK, command pending" in text
    assert "pending: acknowledge by U0ALICE, retrying: HTTP 503; retrying" in text
    assert "http://localhost:8233/namespaces/default/workflows/pd-incident-Q1" in text


async def poll(check: Callable[[], Awaitable[T | None]], what: str, timeout: float = 60.0) -> T:
    """Visibility is eventually consistent: ask again until it agrees, never sleep blindly."""
    return await eventually(check, timeout, what)


async def find(client: Client, workflow_id: str, include_all: bool = False) -> StuckIncident | None:
    items = await list_stuck(client, include_all, query_timeout=1)
    return next((i for i in items if i.workflow_id == workflow_id), None)


async def acknowledge_while_pagerduty_fails(sb: Sandbox, method: str | None) -> tuple[Client, str]:
    """Trigger an incident, make PagerDuty answer 503, and click acknowledge in Slack as Alice."""
    assert sb.client is not None
    incident = sb.pd.trigger("PSVC001", "Card payments failing")
    message = await until(lambda: first_root(sb, "C0PAYMENTS"), what="root message")
    workflow_id = f"pd-incident-{incident}"
    assert await find(sb.client, workflow_id) is None  # nothing pending yet
    sb.pd.fail("/incidents", 503, seconds=30, method=method)
    status, _ = await sb.slack.click("C0PAYMENTS", message.ts, "pd_acknowledge", "U0ALICE")
    assert status == 200
    return sb.client, workflow_id


async def wait_until_settled(sb: Sandbox, client: Client, workflow_id: str) -> None:
    sb.pd.clear_faults()

    async def gone() -> bool:
        return await find(client, workflow_id) is None

    await poll(gone, "the incident leaving the stuck list")
    listed = await find(client, workflow_id, include_all=True)
    assert listed is not None and listed.status == "acknowledged" and listed.commands == []


async def test_stuck_lists_a_pending_action_while_pagerduty_is_down(sandbox: Sandbox) -> None:
    client, workflow_id = await acknowledge_while_pagerduty_fails(sandbox, method=None)

    async def pending() -> StuckIncident | None:
        item = await find(client, workflow_id)
        return item if item and item.commands else None

    item = await poll(pending, "a pending acknowledge in the stuck list")
    assert item.command_pending and item.unreadable is None
    assert item.number is not None and item.status == "triggered"
    (command,) = item.commands
    assert (command.action, command.slack_user) == ("acknowledge", "U0ALICE")
    assert command.phase in {"resolving", "sending", "retrying"}
    await wait_until_settled(sandbox, client, workflow_id)


async def test_stuck_flags_a_write_retrying_against_pagerduty(sandbox: Sandbox) -> None:
    client, workflow_id = await acknowledge_while_pagerduty_fails(sandbox, method="PUT")

    async def retrying() -> StuckIncident | None:
        # The flag comes from Temporal's visibility, a moment behind the state the query reads: wait for both.
        item = await find(client, workflow_id)
        return item if item and item.stuck and any(c.phase == "retrying" for c in item.commands) else None

    item = await poll(retrying, "a retrying acknowledge in the stuck list")
    assert item.stuck and item.command_pending
    (command,) = item.commands
    assert (command.action, command.slack_user) == ("acknowledge", "U0ALICE")
    assert "503" in command.detail
    assert await find(client, workflow_id, include_all=True) is not None
    await wait_until_settled(sandbox, client, workflow_id)


async def test_stuck_says_when_no_worker_answers(dev_env: WorkflowEnvironment) -> None:
    client = dev_env.client
    workflow_id = f"pd-incident-QNOWORKER{uuid.uuid4().hex[:6]}"
    handle = await client.start_workflow(
        IncidentWorkflow.run, WorkflowInput(incident_id=workflow_id.removeprefix("pd-incident-")), id=workflow_id,
        task_queue=f"nobody-{uuid.uuid4().hex[:8]}",
        search_attributes=TypedSearchAttributes([SearchAttributePair(search.STUCK, True)]))
    try:
        item = await poll(lambda: find(client, workflow_id), "the worker-less incident")
        assert item.stuck and item.commands == []
        assert item.unreadable is not None and "no worker answered" in item.unreadable
        code, out = await run_ctl(["stuck"], client.service_client.config.target_host)
        assert code == 0, out
        assert f"{workflow_id}  #?  unknown  STUCK" in out
        assert "state unavailable: no worker answered the state query" in out
        assert f"http://localhost:8233/namespaces/default/workflows/{workflow_id}" in out
    finally:
        await handle.terminate("test over")



async def run_ctl(args: list[str], temporal_address: str) -> tuple[int, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TEMPORAL_")}
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "ops.ctl", *args, cwd=ROOT, env={**env, "TEMPORAL_ADDRESS": temporal_address},
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
    out, _ = await asyncio.wait_for(proc.communicate(), timeout=60)
    return int(proc.returncode or 0), out.decode()
