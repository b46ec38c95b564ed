"""The incident workflow's Slack side: keep the message equal to the desired view, post replies in order.

Rendering is state-based: only the latest view is ever sent. A render that fails is tried again with
backoff until Slack shows the current view (a token fixed, a channel restored, an outage over); success and
failure both go through the reducer (`RenderDone`, `RenderFailed`), so the stuck flag clears by itself.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any

from temporalio import workflow
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from activities.slack import PostRequest, ReplyRequest, SlackActivities, UpdateRequest
    from workflows import options
    from workflows.models import Event, IncidentState, MessagePosted, RenderDone, RenderFailed, RepliesPosted
    from workflows.view import MessageView, message_view

RENDER_BACKOFF_FIRST = timedelta(seconds=5)
RENDER_BACKOFF_MAX = timedelta(minutes=10)


def failure_text(exc: BaseException) -> str:
    cause = exc.cause if isinstance(exc, ActivityError) and exc.cause else exc
    return cause.message if isinstance(cause, ApplicationError) else str(cause)


def failure_type(exc: BaseException) -> str | None:
    cause = exc.cause if isinstance(exc, ActivityError) else exc
    return cause.type if isinstance(cause, ApplicationError) else None


class SlackSync:
    """Bookkeeping of what Slack shows; `apply` feeds results to the reducer, `spawn` runs a task."""

    def __init__(self, state: Callable[[], IncidentState], apply: Callable[[Event], None],
                 spawn: Callable[[Awaitable[None]], None]) -> None:
        self._state, self._apply, self._spawn = state, apply, spawn
        self._rendered: MessageView | None = None
        self._rendering = self._replying = self._posting = False
        self._failures = 0
        self.retry_at: datetime | None = None

    @property
    def posting(self) -> bool:
        """A root post is in flight: abandoning it could leave a message whose ts the bridge never learns."""
        return self._posting

    def sync(self) -> None:
        state = self._state()
        view = message_view(state)
        waiting = self.retry_at is not None and workflow.now() < self.retry_at
        if view is not None and not self._rendering and not waiting:
            if state.ts is None:
                self._rendering = self._posting = True
                self._spawn(self._post(view))
            elif view != self._rendered:
                self._rendering = True
                self._spawn(self._update(view, state.channel or "", state.ts))
        if state.ts is not None and state.replies and not self._replying:
            self._replying = True
            self._spawn(self._post_replies())

    def _failed(self, exc: ActivityError, what: str) -> None:
        gone = failure_type(exc) == "SlackMessageGone"
        self._apply(RenderFailed(detail=failure_text(exc), message_gone=gone))
        if gone:
            return  # deleted in Slack: post a new message at once
        self._failures += 1
        delay = min(RENDER_BACKOFF_FIRST * 2 ** min(self._failures - 1, 10), RENDER_BACKOFF_MAX)
        self.retry_at = workflow.now() + delay
        workflow.logger.error("incident message not %s (retrying in %s): %s", what, delay, failure_text(exc))

    def _succeeded(self, view: MessageView) -> None:
        self._rendered, self._failures, self.retry_at = view, 0, None

    async def _slack(self, method: Callable[..., Awaitable[Any]], arg: Any) -> Any:
        return await workflow.execute_activity_method(
            method, arg, start_to_close_timeout=options.CALL_TIMEOUT,
            schedule_to_close_timeout=options.SLACK_DEADLINE, retry_policy=options.SLACK_RETRY)

    async def _post(self, view: MessageView) -> None:
        try:
            posted: MessagePosted = await self._slack(SlackActivities.post_message, PostRequest(view=view))
            self._succeeded(view)
            self._apply(posted)
        except ActivityError as exc:
            self._failed(exc, "posted")
        finally:
            self._rendering = self._posting = False

    async def _update(self, view: MessageView, channel: str, ts: str) -> None:
        try:
            await self._slack(SlackActivities.update_message, UpdateRequest(channel=channel, ts=ts, view=view))
            self._succeeded(view)
            if self._state().render_error is not None:
                self._apply(RenderDone())
        except ActivityError as exc:
            self._failed(exc, "updated")
        finally:
            self._rendering = False

    async def _post_replies(self) -> None:
        try:
            while True:
                state = self._state()
                if not state.replies or state.ts is None or state.channel is None:
                    return
                reply = state.replies[0]
                try:
                    await self._slack(SlackActivities.post_reply,
                                      ReplyRequest(channel=state.channel, ts=state.ts, reply=reply))
                except ActivityError as exc:
                    workflow.logger.error("thread reply %d not posted: %s", reply.seq, failure_text(exc))
                self._apply(RepliesPosted(upto_seq=reply.seq))
        finally:
            self._replying = False
