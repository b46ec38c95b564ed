"""The sweep end to end: the worker's Temporal Schedule on the real dev server, the API, the simulators."""

from __future__ import annotations

import asyncio

import httpx
from temporalio.client import ScheduleActionStartWorkflow

from activities.sweep import warning_workflow_id
from ops.sandbox import Sandbox
from ops.schedule import ensure_sweep_schedule, schedule_id
from settings import Timing
from simulators.pagerduty import CONSTRUCTOR_SUBSCRIPTION_ID
from tests.e2e.conftest import SandboxFactory, first_root, root_messages, until
from tests.workflows.fakes import eventually
from workflows.incident import IncidentWorkflow
from workflows.sweep import WebhookWarningWorkflow

FAST = Timing(sweep_interval_seconds=1)


async def sweeps_done(sb: Sandbox) -> int:
    assert sb.client is not None
    description = await sb.client.get_schedule_handle(schedule_id(sb.settings.temporal_task_queue)).describe()
    return description.info.num_actions


async def after_sweeps(sb: Sandbox, count: int) -> None:
    """Wait until `count` more sweeps than now have started and the last of them has finished."""
    assert sb.client is not None
    target = await sweeps_done(sb) + count + 1

    async def done() -> bool:
        return await sweeps_done(sb) >= target

    await eventually(done, timeout=30, what=f"{count} more sweeps")


async def test_schedule_is_created_once_and_follows_the_config(make_sandbox: SandboxFactory) -> None:
    async with make_sandbox(FAST, sweep=True) as sb:
        assert sb.client is not None
        queue = sb.settings.temporal_task_queue
        again = await ensure_sweep_schedule(sb.client, queue, 1)  # a second worker starting
        changed = await ensure_sweep_schedule(sb.client, queue, 600)
        description = await sb.client.get_schedule_handle(schedule_id(queue)).describe()
    assert (again, changed) == ("unchanged", "updated")
    assert [i.every.total_seconds() for i in description.schedule.spec.intervals] == [600]
    action = description.schedule.action
    assert isinstance(action, ScheduleActionStartWorkflow) and action.task_queue == queue


async def test_an_incident_created_without_any_webhook_appears_after_the_next_sweep(
        make_sandbox: SandboxFactory) -> None:
    async with make_sandbox(FAST, sweep=True) as sb:
        incident = sb.pd.trigger("PSVC001", "Card auth failing", webhooks=False)
        message = await until(lambda: first_root(sb, "C0PAYMENTS"), timeout=30, what="the swept incident")
        assert "Card auth failing" in message.text and message.text.startswith("[TRIGGERED]")
        await sb.slack.click("C0PAYMENTS", message.ts, "pd_acknowledge", "U0ALICE")
        await until(lambda: message.text.startswith("[ACKNOWLEDGED]"), what="acknowledged from Slack")
        await after_sweeps(sb, 2)
    assert sb.pd.incidents[incident].status == "acknowledged"
    assert len(root_messages(sb, "C0PAYMENTS")) == 1


async def test_a_running_incident_workflow_is_never_disturbed(make_sandbox: SandboxFactory) -> None:
    async with make_sandbox(FAST, sweep=True) as sb:
        assert sb.client is not None
        incident = sb.pd.trigger("PSVC002", "Disk 91% full")
        await until(lambda: first_root(sb, "C0PLATFORM"), what="the incident message")
        await after_sweeps(sb, 2)
        handle = sb.client.get_workflow_handle_for(IncidentWorkflow.run, f"pd-incident-{incident}")
        state = await handle.query(IncidentWorkflow.state)
        history = [e async for e in handle.fetch_history_events()]
    assert not [e for e in state.seen_event_ids if e.startswith("sweep-")]
    assert not [e for e in history if e.HasField("workflow_execution_signaled_event_attributes")
                and b"sweep" in e.SerializeToString()]
    assert len(root_messages(sb, "C0PLATFORM")) == 1


async def test_a_disabled_subscription_warns_once_in_the_default_channel(make_sandbox: SandboxFactory) -> None:
    async with make_sandbox(FAST, sweep=True) as sb:
        assert sb.client is not None
        sb.pd.disable_subscription(CONSTRUCTOR_SUBSCRIPTION_ID)
        warning = await until(lambda: first_root(sb, "C0DEFAULT"), timeout=30, what="the webhook warning")
        await after_sweeps(sb, 2)
        assert len(root_messages(sb, "C0DEFAULT")) == 1 and warning.update_count == 0
        async with httpx.AsyncClient() as http:
            metrics = (await http.get(f"{sb.api_url}/metrics")).text
        assert 'bridge_pagerduty_webhook_subscription{state="disabled"} 1.0' in metrics

        # Re-enabled the way an operator does it, through PagerDuty's API.
        async with httpx.AsyncClient(base_url=sb.settings.pagerduty_api_url) as http:
            enabled = await http.post(f"/webhook_subscriptions/{CONSTRUCTOR_SUBSCRIPTION_ID}/enable",
                                      headers={"Authorization": "Token token=sandbox-pagerduty-token"})
        assert enabled.status_code == 200
        await until(lambda: warning.text.startswith(":white_check_mark: Resolved"), timeout=30, what="resolved")
        warn = sb.client.get_workflow_handle_for(WebhookWarningWorkflow.run,
                                                 warning_workflow_id(sb.settings.temporal_task_queue))
        # The message shows it resolved as soon as Slack has the update; the workflow forgets the message once
        # the update's activity has answered: wait for that, never for a fixed time.
        deadline = asyncio.get_running_loop().time() + 30
        while (state := await warn.query(WebhookWarningWorkflow.state)).ts is not None:
            assert asyncio.get_running_loop().time() < deadline, "the warning workflow never forgot its message"
            await asyncio.sleep(0.1)
    assert len(root_messages(sb, "C0DEFAULT")) == 1 and warning.update_count == 1
    assert state.latest is not None and not state.latest.problem


async def test_the_sweep_covers_what_the_subscription_covers_and_no_other_teams_incidents(
        make_sandbox: SandboxFactory) -> None:
    async with make_sandbox(FAST, sweep=True) as sb:
        # The bridge's subscription covers the Payments team only, as the README recommends; the account
        # also has a Search team whose service is routed nowhere.
        sb.pd.scope_subscription(CONSTRUCTOR_SUBSCRIPTION_ID, "team_reference", "PTPAY01")
        sb.pd.add_team("PTSRCH1", "Search")
        sb.pd.add_escalation_policy("PEPSRCH", "Search Escalation", [["PUDAVE1"]], ["PTSRCH1"])
        sb.pd.add_service("PSVCSRC", "search-api", "PEPSRCH", ["PTSRCH1"])
        other = sb.pd.trigger("PSVCSRC", "Search indexing slow", webhooks=False)
        ours = sb.pd.trigger("PSVC001", "Card auth failing", webhooks=False)
        message = await until(lambda: first_root(sb, "C0PAYMENTS"), timeout=30, what="the swept Payments incident")
        assert "Card auth failing" in message.text
        await after_sweeps(sb, 2)
        assert sb.client is not None
        started = [w.id async for w in sb.client.list_workflows(
            f"TaskQueue = '{sb.settings.temporal_task_queue}' AND WorkflowType = 'IncidentWorkflow'")]
    # The other team's incident never reached the default channel, and no workflow was started for it.
    assert root_messages(sb, "C0DEFAULT") == []
    assert started == [f"pd-incident-{ours}"] and f"pd-incident-{other}" not in started


async def test_without_a_subscription_the_sweep_covers_the_routed_services(make_sandbox: SandboxFactory) -> None:
    async with make_sandbox(FAST, sweep=True) as sb:
        sb.pd.delete_subscription(CONSTRUCTOR_SUBSCRIPTION_ID)
        sb.pd.add_service("PSVCSRC", "search-api", "PEPPLT1", ["PTPLAT1"])
        sb.pd.trigger("PSVCSRC", "Search indexing slow", webhooks=False)
        sb.pd.trigger("PSVC002", "Disk 91% full", webhooks=False)
        await until(lambda: first_root(sb, "C0PLATFORM"), timeout=30, what="the swept routed incident")
        warning = await until(lambda: first_root(sb, "C0DEFAULT"), timeout=30, what="the missing-webhook warning")
        await after_sweeps(sb, 2)
    # The default channel holds the warning about the missing subscription, and nothing else.
    assert [m.text for m in root_messages(sb, "C0DEFAULT")] == [warning.text]
    assert "Search indexing slow" not in warning.text
