"""The API's one door into Temporal: connect lazily, signal-with-start incident workflows, report health."""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timedelta

from temporalio.client import Client, WorkflowQueryFailedError
from temporalio.common import SearchAttributePair, TypedSearchAttributes
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.service import RPCError, RPCStatusCode

from activities.direct_messages import notify_choice, set_notify_choice
from ops.oncall_groups import oncall_workflow_id
from settings import Settings
from workflows import search
from workflows.models import ChannelPolicy, IncidentState, PdEvent, SlackAction, Timing, WorkflowInput
from workflows.oncall import OncallGroupsWorkflow

log = logging.getLogger("bridge.api")
WORKFLOW = "IncidentWorkflow"


class TemporalUnavailable(Exception):
    """Temporal could not be reached or was overloaded: the same request may succeed later."""


class TemporalRejected(Exception):
    """Temporal refused this request itself (too large, invalid id): sending it again cannot help."""

    def __init__(self, message: str, too_large: bool) -> None:
        super().__init__(message)
        self.too_large = too_large


# Answers about the request, not about the server: retrying the same bytes gets the same answer. Other
# codes (unavailable, deadline, exhausted, permission or namespace problems an operator can fix) are
# worth a retry by the sender.
PERMANENT = {RPCStatusCode.INVALID_ARGUMENT, RPCStatusCode.OUT_OF_RANGE}


def workflow_id(incident_id: str) -> str:
    return f"pd-incident-{incident_id}"


class TemporalGateway:
    def __init__(self, settings: Settings, client: Client | None = None) -> None:
        self._settings = settings
        self._client = client
        self._lock = asyncio.Lock()

    @property
    def connected(self) -> bool:
        return self._client is not None

    async def connect(self, quiet: bool = False) -> Client:
        if self._client is not None:  # every request after the first: no lock to take
            return self._client
        async with self._lock:
            if self._client is not None:
                return self._client
            address = self._settings.temporal_address or "localhost:7233"
            try:
                self._client = await asyncio.wait_for(Client.connect(
                    address, namespace=self._settings.temporal_namespace,
                    data_converter=pydantic_data_converter), timeout=3)
            except (RuntimeError, OSError, TimeoutError, RPCError) as exc:
                if not quiet:
                    log.warning("Temporal at %s unreachable: %s", address, exc)
                raise TemporalUnavailable(f"Temporal at {address} unreachable: {exc}") from None
            return self._client

    async def check(self) -> str | None:
        try:
            client = await self.connect()
            await client.service_client.check_health(timeout=timedelta(seconds=2))
        except (TemporalUnavailable, RPCError, RuntimeError, TimeoutError) as exc:
            return str(exc) or type(exc).__name__
        return None

    async def oldest_pending_seconds(self, now: datetime, limit: int = 100) -> float:
        """Age of the oldest unsettled Slack action across this task queue's open incidents (0 when none).

        The incidents are asked at once, each for at most 2 s: a scrape never waits on them one by one.
        """
        client = await self.connect()
        query = ('WorkflowType = "IncidentWorkflow" AND ExecutionStatus = "Running" AND CommandPending = true '
                 f'AND TaskQueue = "{self._settings.temporal_task_queue}"')
        ids = [execution.id async for execution in client.list_workflows(query, limit=limit)]

        async def oldest_of(workflow_id: str) -> float:
            try:
                state = await client.get_workflow_handle(workflow_id).query(
                    "state", result_type=IncidentState, rpc_timeout=timedelta(seconds=2))
            except (RPCError, RuntimeError, WorkflowQueryFailedError):
                return 0.0  # worker down or busy: the next scrape tries again
            return max([(now - c.issued_at).total_seconds() for c in state.pending_commands()], default=0.0)

        return max(await asyncio.gather(*(oldest_of(i) for i in ids)), default=0.0)

    async def deliver(self, incident_id: str, signal: str, event: PdEvent | SlackAction, timing: Timing,
                      rpc_timeout: float, channels: ChannelPolicy | None = None) -> None:
        """Signal-with-start: returns only once Temporal has durably accepted the event."""
        client = await self.connect()
        try:
            # By name: the API never imports the workflow code.
            await client.start_workflow(
                WORKFLOW,
                WorkflowInput(incident_id=incident_id, timing=timing, channels=channels or ChannelPolicy()),
                id=workflow_id(incident_id),
                task_queue=self._settings.temporal_task_queue,
                start_signal=signal,
                start_signal_args=[event],
                search_attributes=TypedSearchAttributes([SearchAttributePair(search.INCIDENT_ID, incident_id)]),
                static_summary=f"PagerDuty incident {incident_id}",
                rpc_timeout=timedelta(seconds=rpc_timeout),
            )
        except RPCError as exc:
            if exc.status in PERMANENT:
                too_large = "size" in exc.message.lower() or "too large" in exc.message.lower()
                raise TemporalRejected(f"Temporal refused the event: {exc.message}", too_large) from None
            raise TemporalUnavailable(f"Temporal did not accept the event: {exc}") from None
        except RuntimeError as exc:
            raise TemporalUnavailable(f"Temporal did not accept the event: {exc}") from None

    async def notify_choice(self, slack_user: str) -> bool | None:
        """The person's `/pd notify` choice (None: never made one)."""
        client = await self.connect()
        try:
            return await notify_choice(client, self._settings.temporal_task_queue, slack_user)
        except (RPCError, RuntimeError, WorkflowQueryFailedError) as exc:
            raise TemporalUnavailable(f"Temporal did not answer: {exc}") from None

    async def oncall_group_ids(self) -> dict[str, str]:
        """Slack's id of each on-call user group the bridge keeps (handle -> id); empty when none is known yet."""
        try:
            client = await self.connect(quiet=True)
            handle = client.get_workflow_handle(oncall_workflow_id(self._settings.temporal_task_queue))
            state = await handle.query(OncallGroupsWorkflow.state)
        except (RPCError, RuntimeError, WorkflowQueryFailedError, TemporalUnavailable) as exc:
            log.info("on-call groups not known: %s", exc)
            return {}
        return {name: group.usergroup_id for name, group in state.groups.items() if group.usergroup_id}

    async def set_notify_choice(self, slack_user: str, on: bool) -> None:
        """Record `/pd notify on|off`; returns once Temporal has durably accepted it."""
        client = await self.connect()
        try:
            await set_notify_choice(client, self._settings.temporal_task_queue, slack_user, on)
        except (RPCError, RuntimeError) as exc:
            raise TemporalUnavailable(f"Temporal did not accept the choice: {exc}") from None
