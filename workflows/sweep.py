"""The safety net under the webhooks.

`SweepWorkflow` runs on a Temporal Schedule (every `timing.sweep_interval_seconds`): it lists the open
incidents in PagerDuty, starts the incident workflow of every one the bridge never heard of (a lost
trigger, a disabled subscription), and checks the bridge's webhook subscription.

`WebhookWarningWorkflow` (one per task queue, long-running) keeps the default channel's single warning
about that subscription: posted when it is disabled or missing, edited in place when the situation
changes, edited to "resolved" when it delivers again; a sweep that finds nothing new changes nothing.
"""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError

with workflow.unsafe.imports_passed_through():
    from activities.sweep import SweepActivities
    from workflows import options
    from workflows.rendering import failure_text
    from workflows.sweep_models import (
        StartRequest,
        SubscriptionState,
        SweepInput,
        SweepResult,
        WarningRequest,
        WarningShown,
        WarningState,
        WebhookHealth,
    )

# A sweep that cannot finish in a few minutes gives way to the next one (the schedule skips overlaps).
SWEEP_STEP = timedelta(minutes=4)
SWEEP_RETRY = RetryPolicy(initial_interval=timedelta(seconds=2), maximum_interval=timedelta(seconds=30))


@workflow.defn(name="SweepWorkflow")
class SweepWorkflow:
    @workflow.run
    async def run(self, inp: SweepInput) -> SweepResult:
        found = await workflow.execute_activity_method(
            SweepActivities.list_open_incidents, inp, start_to_close_timeout=SWEEP_STEP,
            heartbeat_timeout=options.CALL_TIMEOUT, schedule_to_close_timeout=SWEEP_STEP, retry_policy=SWEEP_RETRY)
        started = await workflow.execute_activity_method(
            SweepActivities.start_missing, StartRequest(incident_ids=found.incident_ids),
            start_to_close_timeout=SWEEP_STEP, schedule_to_close_timeout=SWEEP_STEP, retry_policy=SWEEP_RETRY)
        result = SweepResult(listed=len(found.incident_ids), pages=found.pages, started=started.started)
        try:
            health: WebhookHealth = await workflow.execute_activity_method(
                SweepActivities.check_webhooks, inp, start_to_close_timeout=options.CALL_TIMEOUT,
                schedule_to_close_timeout=SWEEP_STEP, retry_policy=SWEEP_RETRY)
        except ActivityError as exc:
            # A token without webhook_subscriptions.read, say: the incidents were swept all the same.
            workflow.logger.warning("webhook subscriptions not checked: %s", failure_text(exc))
            return result
        await workflow.execute_activity_method(
            SweepActivities.report_webhook_health, health, start_to_close_timeout=options.CALL_TIMEOUT,
            schedule_to_close_timeout=SWEEP_STEP, retry_policy=SWEEP_RETRY)
        return result.model_copy(update={"webhooks": health.state})


def needs_showing(state: WarningState) -> bool:
    """Whether Slack should change: a new or different problem, or a problem that went away."""
    latest = state.latest
    if latest is None or latest.state is SubscriptionState.UNKNOWN:
        return False
    if latest.problem:
        return state.ts is None or state.shown is None or state.shown.key() != latest.key()
    return state.ts is not None


@workflow.defn(name="WebhookWarningWorkflow")
class WebhookWarningWorkflow:
    @workflow.init
    def __init__(self, inp: WarningState) -> None:
        self._state = inp
        self._reports = 0

    @workflow.signal(name="webhook_health")
    def webhook_health(self, health: WebhookHealth) -> None:
        self._state = self._state.model_copy(update={"latest": health, "checks": self._state.checks + 1})
        self._reports += 1

    @workflow.query(name="state")
    def state(self) -> WarningState:
        return self._state

    @workflow.run
    async def run(self, inp: WarningState) -> None:
        def suggested() -> bool:
            return workflow.info().is_continue_as_new_suggested()

        while True:
            await workflow.wait_condition(lambda: needs_showing(self._state) or suggested())
            if suggested():
                await workflow.wait_condition(workflow.all_handlers_finished)
                workflow.continue_as_new(self._state)
            await self._show()

    async def _show(self) -> None:
        health = self._state.latest
        assert health is not None
        reports = self._reports
        request = WarningRequest(health=health, channel=self._state.channel, ts=self._state.ts)
        try:
            shown: WarningShown = await workflow.execute_activity_method(
                SweepActivities.show_warning, request, start_to_close_timeout=options.CALL_TIMEOUT,
                schedule_to_close_timeout=options.SLACK_DEADLINE, retry_policy=options.SLACK_RETRY)
        except ActivityError as exc:
            workflow.logger.error("webhook warning not shown in Slack: %s", failure_text(exc))
            # Try again with the next sweep's report, not in a loop.
            await workflow.wait_condition(lambda: self._reports > reports)
            return
        resolved = not health.problem
        self._state = self._state.model_copy(update={
            "channel": shown.channel, "ts": None if resolved else shown.ts, "shown": health})
