"""Sweep activities: list PagerDuty's open incidents, start the incident workflows nobody started, check
the bridge's webhook subscription and keep the default channel's warning about it up to date."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime

from slack_sdk.web.async_client import AsyncWebClient
from temporalio import activity
from temporalio.client import Client
from temporalio.common import SearchAttributePair, TypedSearchAttributes, WorkflowIDConflictPolicy
from temporalio.exceptions import WorkflowAlreadyStartedError

from activities.errors import PagerDutyError, SlackMessageGone
from activities.metrics import WEBHOOK_SUBSCRIPTION
from activities.pagerduty_api import PagerDutyApi
from activities.slack import slack_call
from activities.sweep_scope import covered_services, routed_coverage, subscription_coverage
from activities.webhook_health import assess, resolved_text, warning_text
from api.gateway import WORKFLOW, workflow_id
from settings import BridgeConfig
from workflows import search
from workflows.models import ChannelPolicy, PdEvent, Timing, WorkflowInput
from workflows.sweep_models import (
    SWEEP_FOUND,
    OpenIncidents,
    StartRequest,
    StartResult,
    SubscriptionState,
    SweepInput,
    WarningRequest,
    WarningShown,
    WarningState,
    WebhookHealth,
)

log = logging.getLogger(__name__)
PAGE_SIZE = 100  # PagerDuty's largest page
MAX_OFFSET = 10_000  # PagerDuty refuses offset + limit beyond this
SERVICES_PER_CALL = 50  # service ids in one `GET /incidents`, to keep its URL short
START_CONCURRENCY = 8
WARNING_WORKFLOW = "WebhookWarningWorkflow"


def warning_workflow_id(task_queue: str) -> str:
    return f"{task_queue}-webhook-warning"


def show_health(health: WebhookHealth) -> None:
    for state in SubscriptionState:
        if state is not SubscriptionState.UNKNOWN:
            WEBHOOK_SUBSCRIPTION.labels(state.value).set(1 if state is health.state else 0)


class SweepActivities:
    def __init__(self, pd: PagerDutyApi, slack: AsyncWebClient, config: BridgeConfig, *,
                 client: Client | None = None, page_size: int = PAGE_SIZE) -> None:
        self._pd, self._slack, self._config = pd, slack, config
        self._client, self._page_size = client, page_size

    def _temporal(self) -> Client:
        return self._client or activity.client()

    async def _services(self) -> list[str] | None:
        """What the sweep covers: what the bridge's webhook subscriptions cover, else the routed services."""
        routed = sorted(self._config.routing.services)
        try:
            subscriptions = await self._pd.list_webhook_subscriptions()
        except PagerDutyError as exc:
            if exc.retryable:
                raise
            log.warning("sweep: webhook subscriptions not readable (%s); sweeping the routed services only", exc)
            subscriptions = []
        coverage = subscription_coverage(subscriptions, self._config.pagerduty.webhook_url)
        return await covered_services(self._pd, coverage or routed_coverage(routed))

    @activity.defn(name="sweep_list_open_incidents")
    async def list_open_incidents(self, _: SweepInput) -> OpenIncidents:
        """One `GET /incidents` per page (and per group of services), however many incidents there are."""
        services = await self._services()
        groups = [None] if services is None else [services[i:i + SERVICES_PER_CALL]
                                                  for i in range(0, len(services), SERVICES_PER_CALL)]
        found: dict[str, None] = {}
        pages = 0
        for group in groups:
            offset, more = 0, True
            while more and offset + self._page_size <= MAX_OFFSET:
                incidents, more = await self._pd.list_open_incidents_page(group, offset, self._page_size)
                pages += 1
                offset += self._page_size
                found.update((str(i["id"]), None) for i in incidents if i.get("id"))
                activity.heartbeat(pages)
            if more:
                log.warning("sweep: more than %d open incidents; the rest are left to the next sweeps", MAX_OFFSET)
        return OpenIncidents(incident_ids=list(found), pages=pages)

    @activity.defn(name="sweep_start_missing")
    async def start_missing(self, request: StartRequest) -> StartResult:
        """Start the incident workflow of each incident that has none running; a running one is left alone."""
        client, task_queue = self._temporal(), activity.info().task_queue
        timing = Timing.model_validate(self._config.timing.model_dump())
        channels = ChannelPolicy.model_validate(self._config.channels.model_dump())
        limit = asyncio.Semaphore(START_CONCURRENCY)
        result = StartResult()

        async def start(incident_id: str) -> None:
            found = PdEvent(event_id=f"sweep-{incident_id}-{datetime.now(UTC).isoformat()}",
                            event_type=SWEEP_FOUND, occurred_at=datetime.now(UTC), incident_id=incident_id)
            async with limit:
                try:
                    await client.start_workflow(
                        WORKFLOW, WorkflowInput(incident_id=incident_id, timing=timing, channels=channels,
                                                inbox=[found]),
                        id=workflow_id(incident_id), task_queue=task_queue,
                        id_conflict_policy=WorkflowIDConflictPolicy.FAIL,
                        search_attributes=TypedSearchAttributes([SearchAttributePair(search.INCIDENT_ID,
                                                                                     incident_id)]),
                        static_summary=f"PagerDuty incident {incident_id} (found by the sweep)")
                except WorkflowAlreadyStartedError:
                    result.running += 1
                    return
            result.started.append(incident_id)
            log.warning("sweep: incident %s was open in PagerDuty but unknown to the bridge; started it",
                        incident_id, extra={"incident_id": incident_id})

        await asyncio.gather(*(start(i) for i in request.incident_ids))
        return result

    @activity.defn(name="sweep_check_webhooks")
    async def check_webhooks(self, _: SweepInput) -> WebhookHealth:
        health = assess(await self._pd.list_webhook_subscriptions(), self._config.pagerduty.webhook_url)
        show_health(health)
        if health.problem:
            log.error("PagerDuty webhooks: %s", health.detail)
        return health

    @activity.defn(name="sweep_report_webhook_health")
    async def report_webhook_health(self, health: WebhookHealth) -> None:
        """Hand the finding to the one workflow that keeps the channel's warning message."""
        task_queue = activity.info().task_queue
        await self._temporal().start_workflow(
            WARNING_WORKFLOW, WarningState(), id=warning_workflow_id(task_queue), task_queue=task_queue,
            start_signal="webhook_health", start_signal_args=[health],
            static_summary="The default channel's warning about PagerDuty webhooks")

    @activity.defn(name="sweep_show_webhook_warning")
    async def show_warning(self, request: WarningRequest) -> WarningShown:
        """Post the warning, or edit it in place (to the new situation, or to "resolved")."""
        health = request.health
        text = (warning_text(health, self._config.timing.sweep_interval_seconds) if health.problem
                else resolved_text(health))
        if request.ts and request.channel:
            try:
                await slack_call("update webhook warning", lambda: self._slack.chat_update(
                    channel=request.channel or "", ts=request.ts or "", text=text))
                return WarningShown(channel=request.channel, ts=request.ts)
            except SlackMessageGone:
                if not health.problem:
                    return WarningShown(channel=request.channel, ts=request.ts)
        channel = self._config.routing.default_channel
        response = await slack_call("post webhook warning", lambda: self._slack.chat_postMessage(
            channel=channel, text=text, unfurl_links=False, unfurl_media=False))
        return WarningShown(channel=str(response["channel"]), ts=str(response["ts"]))

