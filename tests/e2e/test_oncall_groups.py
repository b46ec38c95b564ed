"""On-call user groups end to end: the worker's workflow on the real dev server, the simulated PagerDuty's
schedules (shifts, overrides, `/oncalls`) and the simulated Slack's user groups."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta

from temporalio.testing import WorkflowEnvironment

from ops.oncall_groups import ensure_oncall_groups, oncall_workflow_id
from ops.sandbox import Sandbox, sandbox_config
from settings import OncallGroup, Timing
from tests.e2e.conftest import root_messages, until

HANDLE = "payments-oncall"


@asynccontextmanager
async def bridge(dev_env: WorkflowEnvironment, recheck: int) -> AsyncIterator[Sandbox]:
    address = dev_env.client.service_client.config.target_host
    config = sandbox_config(Timing(oncall_recheck_seconds=recheck))
    async with Sandbox(address, task_queue=f"e2e-{uuid.uuid4().hex[:8]}", config=config) as sb:
        sb.pd.add_user("PUFRANK", "Frank Fisher", "frank@example.com")  # no Slack account
        yield sb
        assert sb.client is not None
        await sb.client.get_workflow_handle(oncall_workflow_id(sb.settings.temporal_task_queue)).terminate("done")


async def follow(sb: Sandbox, schedule: str) -> None:
    """What a worker does at start when `[oncall_groups]` says payments-oncall = { schedule = ... }."""
    assert sb.client is not None
    config = sb.config.model_copy(update={"oncall_groups": {HANDLE: OncallGroup(schedule=schedule)}})
    assert await ensure_oncall_groups(sb.client, sb.settings.temporal_task_queue, config) == "started"


def members(sb: Sandbox) -> list[str] | None:
    return sb.slack.usergroup_members(HANDLE)


def member_lists(sb: Sandbox) -> list[tuple[str, ...]]:
    group = sb.slack.usergroup(HANDLE)
    assert group is not None
    return [users for _, users in group.history]


def warnings(sb: Sandbox) -> list[str]:
    return [m.text for m in root_messages(sb, "C0DEFAULT") if HANDLE in m.text]


async def test_a_group_follows_two_shift_changes_and_an_override_and_never_empties(
        dev_env: WorkflowEnvironment) -> None:
    # No re-read within the test: every change is found by the timer to the next shift start or end.
    async with bridge(dev_env, recheck=3600) as sb:
        t0 = datetime.now(UTC).replace(microsecond=0)
        sb.pd.add_schedule("PSCHED1", "Payments primary", [
            ("PUALICE", t0 - timedelta(hours=1), t0 + timedelta(seconds=6)),
            ("PUBOB01", t0 + timedelta(seconds=6), t0 + timedelta(seconds=16)),
            ("PUDAVE1", t0 + timedelta(seconds=16), None)])
        sb.pd.add_override("PSCHED1", "PUCAROL", t0 + timedelta(seconds=10), t0 + timedelta(seconds=13))
        await follow(sb, "PSCHED1")
        await until(lambda: members(sb) == ["U0ALICE"], what="Alice's shift", timeout=10)
        await until(lambda: members(sb) == ["U0BOB"], what="Bob's shift", timeout=15)
        await until(lambda: members(sb) == ["U0CAROL"], what="Carol's override", timeout=15)
        await until(lambda: members(sb) == ["U0BOB"], what="back to Bob after the override", timeout=15)
        await until(lambda: members(sb) == ["U0DAVE"], what="Dave's shift", timeout=15)
    history = member_lists(sb)
    assert history[0] == ()  # the bridge created the group: Slack makes it empty
    assert history[1:] == [("U0ALICE",), ("U0BOB",), ("U0CAROL",), ("U0BOB",), ("U0DAVE",)]
    assert [c.error for c in sb.slack.calls_to("usergroups.users.update") if not c.ok] == []
    assert len(sb.slack.calls_to("usergroups.create")) == 1
    assert warnings(sb) == []


async def test_an_override_made_in_pagerduty_now_is_found_by_the_re_read(dev_env: WorkflowEnvironment) -> None:
    async with bridge(dev_env, recheck=2) as sb:
        sb.slack.add_usergroup(HANDLE, ["U0LEAD"])  # an existing group: taken over
        now = datetime.now(UTC)
        sb.pd.add_schedule("PSCHED1", "Payments primary", [("PUALICE", now - timedelta(hours=1), None)])
        await follow(sb, "PSCHED1")
        await until(lambda: members(sb) == ["U0ALICE"], what="Alice on call", timeout=10)
        now = datetime.now(UTC)
        sb.pd.add_override("PSCHED1", "PUBOB01", now - timedelta(seconds=1), now + timedelta(seconds=8))
        await until(lambda: members(sb) == ["U0BOB"], what="Bob's override, without any webhook", timeout=10)
        await until(lambda: members(sb) == ["U0ALICE"], what="Alice again when the override ends", timeout=15)
    assert member_lists(sb) == [("U0LEAD",), ("U0ALICE",), ("U0BOB",), ("U0ALICE",)]


async def test_nobody_on_call_keeps_the_last_person_and_warns_once_naming_who_has_no_slack(
        dev_env: WorkflowEnvironment) -> None:
    async with bridge(dev_env, recheck=1) as sb:
        t0 = datetime.now(UTC).replace(microsecond=0)
        sb.pd.add_schedule("PSCHED1", "Payments primary", [
            ("PUALICE", t0 - timedelta(hours=1), t0 + timedelta(seconds=5)),
            # t0+5 .. t0+9: a gap in the schedule, nobody on call
            ("PUFRANK", t0 + timedelta(seconds=9), None)])
        await follow(sb, "PSCHED1")
        await until(lambda: members(sb) == ["U0ALICE"], what="Alice on call", timeout=10)
        gap = await until(lambda: [w for w in warnings(sb) if "Nobody on call" in w], what="the gap's warning",
                          timeout=15)
        frank = await until(lambda: [w for w in warnings(sb) if "Frank Fisher" in w], what="Frank's warning",
                            timeout=15)
        rounds = len(sb.pd.requests)
        await until(lambda: len(sb.pd.requests) >= rounds + 3, what="three more re-reads", timeout=15)
        assert members(sb) == ["U0ALICE"]
    assert member_lists(sb)[1:] == [("U0ALICE",)]  # never emptied, never changed
    assert len(gap) == 1 and len(frank) == 1 and len(warnings(sb)) == 2  # each warning once, not every round
    assert "no Slack account found for Frank Fisher" in frank[0] and "keeps its last members" in frank[0]


async def test_a_group_slack_refuses_is_warned_about_and_the_others_still_follow(dev_env: WorkflowEnvironment) -> None:
    # A user group someone made long ago already has the name "payments-oncall" (another handle): Slack refuses
    # to create ours. The search team's group is kept in step all the same, and the channel is told once why.
    async with bridge(dev_env, recheck=3600) as sb:
        sb.slack.add_usergroup("legacy-payments", ["U0LEAD"], name=HANDLE)
        now = datetime.now(UTC)
        sb.pd.add_schedule("PSCHED1", "Payments primary", [("PUALICE", now - timedelta(hours=1), None)])
        sb.pd.add_schedule("PSCHED2", "Search primary", [("PUBOB01", now - timedelta(hours=1), None)])
        config = sb.config.model_copy(update={"oncall_groups": {
            HANDLE: OncallGroup(schedule="PSCHED1"), "search-oncall": OncallGroup(schedule="PSCHED2")}})
        assert sb.client is not None
        assert await ensure_oncall_groups(sb.client, sb.settings.temporal_task_queue, config) == "started"
        await until(lambda: sb.slack.usergroup_members("search-oncall") == ["U0BOB"], what="search-oncall synced")
        told = await until(lambda: warnings(sb), what="a warning about payments-oncall")
        assert len(told) == 1 and "Slack refused" in told[0] and "name_already_exists" in told[0]


async def test_pd_oncall_names_the_group_that_reaches_whoever_is_on_call(dev_env: WorkflowEnvironment) -> None:
    address = dev_env.client.service_client.config.target_host
    config = sandbox_config().model_copy(update={"oncall_groups": {
        HANDLE: OncallGroup(escalation_policy="PEPPAY1", level=1)}})
    async with Sandbox(address, task_queue=f"e2e-{uuid.uuid4().hex[:8]}", config=config) as sb:
        await until(lambda: members(sb) == ["U0ALICE"], what="the group following level 1")
        group = sb.slack.usergroup(HANDLE)
        assert group is not None
        before = len(sb.slack.ephemerals)
        status, body = await sb.slack.slash_command("U0CAROL", "C0PAYMENTS", "oncall")
        assert status == 200, body
        [answer] = [e for e in sb.slack.ephemerals[before:] if e.user == "U0CAROL"]
        assert answer.text.splitlines()[-1] == f"Reach them in Slack: <!subteam^{group.id}|@{HANDLE}>"
