"""`OncallGroupsWorkflow`: keeps each Slack user group of `[oncall_groups]` equal to who is on call now.

One workflow per task queue (`<queue>-oncall-groups`), started or re-configured by every worker at start with
the `configure` signal. Each round reads `GET /oncalls` for every group and replaces the members of those that
changed (one `usergroups.list` a round, one `usergroups.users.update` a changed group: Slack's Tier 2). Then it
sleeps on a durable timer until the earliest next shift start or end, or `timing.oncall_recheck_seconds` at most:
PagerDuty sends no webhook when someone overrides a shift, so the re-read is the safety net. A group is never
emptied (Slack refuses it): the last people stay, and the default channel gets one warning, as it does for
people on call who have no Slack account.
"""

from __future__ import annotations

import asyncio
import contextlib
from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError

with workflow.unsafe.imports_passed_through():
    from activities.oncall import OncallActivities
    from workflows import options
    from workflows.oncall_models import GroupStatus, OncallConfig, OncallInput, SyncRequest, SyncResult, WarnRequest
    from workflows.rendering import failure_text
    from workflows.slack_text import Line

SYNC_STEP = timedelta(minutes=5)
SYNC_RETRY = RetryPolicy(initial_interval=timedelta(seconds=2), maximum_interval=timedelta(seconds=60))
# A shift boundary is acted on this long after it, so PagerDuty already answers with the new shift.
AFTER_BOUNDARY = timedelta(seconds=1)
ROUNDS_PER_RUN = 500


@workflow.defn(name="OncallGroupsWorkflow")
class OncallGroupsWorkflow:
    @workflow.init
    def __init__(self, inp: OncallInput) -> None:
        self._config = inp.config
        self._groups = dict(inp.groups)
        self._reconfigured = False

    @workflow.signal(name="configure")
    def configure(self, config: OncallConfig) -> None:
        """The worker's `[oncall_groups]`: the latest one wins; groups no longer listed are left as they are."""
        self._config = config
        self._groups = {h: s for h, s in self._groups.items() if h in {r.handle for r in config.rules}}
        self._reconfigured = True

    @workflow.query(name="state")
    def state(self) -> OncallInput:
        return OncallInput(config=self._config, groups=self._groups)

    @workflow.run
    async def run(self, inp: OncallInput) -> None:
        for _ in range(ROUNDS_PER_RUN):
            if not self._config.rules:
                return
            self._reconfigured = False
            await self._round()
            with contextlib.suppress(asyncio.TimeoutError):  # the timer: the next shift change, or the re-read
                await workflow.wait_condition(lambda: self._reconfigured, timeout=self._sleep())
            if workflow.info().is_continue_as_new_suggested():
                break
        await workflow.wait_condition(workflow.all_handlers_finished)
        workflow.continue_as_new(OncallInput(config=self._config, groups=self._groups))

    def _sleep(self) -> timedelta:
        now, recheck = workflow.now(), timedelta(seconds=self._config.recheck_seconds)
        changes = [s.next_change - now + AFTER_BOUNDARY for s in self._groups.values() if s.next_change]
        return max(min([recheck, *changes]), timedelta(seconds=1))

    async def _round(self) -> None:
        try:
            result: SyncResult = await workflow.execute_activity_method(
                OncallActivities.sync, SyncRequest(rules=self._config.rules), start_to_close_timeout=SYNC_STEP,
                schedule_to_close_timeout=SYNC_STEP, retry_policy=SYNC_RETRY)
        except ActivityError as exc:
            workflow.logger.error("on-call user groups not synced: %s", failure_text(exc))
            return
        for handle, status in result.groups.items():
            warned = self._groups[handle].warned if handle in self._groups else None
            if status.warning is not None and status.warning != warned:
                warned = await self._warn(handle, status) or warned
            self._groups[handle] = status.model_copy(update={"warned": warned if status.warning else None})

    async def _warn(self, handle: str, status: GroupStatus) -> Line | None:
        assert status.warning is not None
        try:
            await workflow.execute_activity_method(
                OncallActivities.warn, WarnRequest(handle=handle, warning=status.warning),
                start_to_close_timeout=options.CALL_TIMEOUT, schedule_to_close_timeout=SYNC_STEP,
                retry_policy=options.SLACK_RETRY)
        except ActivityError as exc:
            workflow.logger.error("on-call warning for @%s not posted: %s", handle, failure_text(exc))
            return None
        return status.warning
