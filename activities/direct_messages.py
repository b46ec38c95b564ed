"""Direct messages to assignees: who wants them (`/pd notify`, kept by `NotifyPreferencesWorkflow`) and opening
the conversation (`conversations.open`, scope `im:write`).

`notify_choice` and `set_notify_choice` are the one way into the preferences, for the API's `/pd notify` and for
the activity below, which decides for an incident workflow whether an assignee gets a direct message.
"""

from __future__ import annotations

import logging
import time
from datetime import timedelta
from typing import Literal

from slack_sdk.web.async_client import AsyncWebClient
from temporalio import activity
from temporalio.client import Client, WorkflowQueryFailedError
from temporalio.service import RPCError, RPCStatusCode

from activities.channels import Spacing
from activities.errors import SlackError, SlackUnavailable
from activities.identity import Directory
from activities.slack import slack_call
from settings import BridgeConfig
from workflows.dm_models import DirectMessageOpened, OpenDirectMessage
from workflows.notify_prefs import CHOICE_QUERY, SET_SIGNAL, NotifyChoice, NotifyInput, notify_workflow_id

log = logging.getLogger(__name__)
Mode = Literal["off", "opt_in", "on"]
STATE_QUERY = "state"
OPTED_IN_FRESH = 5.0  # seconds a worker trusts its answer to "has anyone opted in?"


def wants(mode: Mode, choice: bool | None) -> bool:
    """Whether a person gets direct messages: the admins' mode, then their own choice."""
    if mode == "off":
        return False
    return choice is True if mode == "opt_in" else choice is not False


async def notify_choice(client: Client, task_queue: str, slack_user: str) -> bool | None:
    """The person's `/pd notify` choice; None when they never made one."""
    handle = client.get_workflow_handle(notify_workflow_id(task_queue))
    try:
        choice = await handle.query(CHOICE_QUERY, slack_user, rpc_timeout=timedelta(seconds=5))
        return choice if isinstance(choice, bool) else None
    except RPCError as exc:
        if exc.status is RPCStatusCode.NOT_FOUND:
            return None  # nobody chose anything yet
        raise


async def set_notify_choice(client: Client, task_queue: str, slack_user: str, on: bool) -> None:
    """Record a choice durably: returns once Temporal has accepted it (starting the workflow if need be)."""
    await client.start_workflow(
        "NotifyPreferencesWorkflow", NotifyInput(), id=notify_workflow_id(task_queue), task_queue=task_queue,
        start_signal=SET_SIGNAL, start_signal_args=[NotifyChoice(slack_user=slack_user, on=on)],
        static_summary="Who wants direct messages (/pd notify)", rpc_timeout=timedelta(seconds=5))


class DirectMessageActivities:
    def __init__(self, client: Client, slack: AsyncWebClient, directory: Directory, config: BridgeConfig,
                 opens_per_minute: float = 45) -> None:
        self._client, self._slack, self._directory, self._config = client, slack, directory, config
        self._tier3 = Spacing(opens_per_minute)  # conversations.open is Tier 3
        self._opted_in_at: tuple[float, bool] | None = None

    async def _anyone_opted_in(self) -> bool:
        """Whether anyone said `/pd notify on` (asked of Temporal at most every few seconds per worker)."""
        now = time.monotonic()
        if self._opted_in_at is not None and now - self._opted_in_at[0] < OPTED_IN_FRESH:
            return self._opted_in_at[1]
        handle = self._client.get_workflow_handle(notify_workflow_id(activity.info().task_queue))
        try:
            state: NotifyInput = await handle.query(STATE_QUERY, result_type=NotifyInput,
                                                    rpc_timeout=timedelta(seconds=5))
            anyone = any(state.choices.values())
        except RPCError as exc:
            if exc.status is not RPCStatusCode.NOT_FOUND:
                raise SlackUnavailable(f"the /pd notify choices could not be read: {exc}") from None
            anyone = False  # nobody chose anything yet
        except (WorkflowQueryFailedError, RuntimeError) as exc:
            raise SlackUnavailable(f"the /pd notify choices could not be read: {exc}") from None
        self._opted_in_at = (now, anyone)
        return anyone

    @activity.defn(name="open_direct_message")
    async def open_direct_message(self, request: OpenDirectMessage) -> DirectMessageOpened:
        """The assignee's direct message to post the incident in, or why they get none (never raised: a person
        without a Slack account, who does not want them, or whom Slack refuses, gets no message and that is all).
        """
        mode = self._config.notifications.direct_messages
        if mode == "off":
            return DirectMessageOpened(pd_user=request.pd_user, reason="direct messages are turned off")
        if mode == "opt_in" and not await self._anyone_opted_in():
            # Nobody asked for them: no Slack lookup at all (an alert storm spends no Slack call on this).
            return DirectMessageOpened(pd_user=request.pd_user, reason="not opted in")
        # Strict: a lookup that failed is retried, never taken for "has no Slack account".
        slack_user = await self._directory.slack_user_for(request.pd_user, strict=True)
        if slack_user is None:
            return DirectMessageOpened(pd_user=request.pd_user, reason="no Slack account matches")
        try:
            choice = await notify_choice(self._client, activity.info().task_queue, slack_user)
        except (RPCError, WorkflowQueryFailedError, RuntimeError) as exc:
            raise SlackUnavailable(f"the /pd notify choices could not be read: {exc}") from None
        if not wants(mode, choice):
            return DirectMessageOpened(pd_user=request.pd_user, slack_user=slack_user,
                                       reason="opted out" if choice is False else "not opted in")
        await self._tier3.turn()
        try:
            response = await slack_call("open direct message",
                                        lambda: self._slack.conversations_open(users=slack_user))
        except SlackError as exc:
            if exc.retryable:
                raise
            log.warning("incident %s: no direct message to %s: %s", request.incident_id, slack_user, exc.message)
            return DirectMessageOpened(pd_user=request.pd_user, slack_user=slack_user, reason=exc.message)
        channel = str((response.get("channel") or {}).get("id") or "")
        return DirectMessageOpened(pd_user=request.pd_user, slack_user=slack_user, channel=channel or None,
                                   reason="" if channel else "Slack opened no conversation")
