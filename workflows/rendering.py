"""The incident workflow's Slack side: keep the message equal to the desired view, post replies in order.

Rendering is state-based: only the latest view is ever sent, and replies that waited together go out as
one. Every call waits for its turn from the shared Slack budget (workflows/pacing.py), so no incident
calls Slack on its own pace; should the budget be unreachable, calls go out unpaced rather than never.
A render that fails is tried again with backoff until Slack shows the current view; success and failure
both go through the reducer (`RenderDone`, `RenderFailed`), so the stuck flag clears by itself. A 429 that
still comes is the whole channel's (or all updates') to wait out: the budget is told, the call asks again.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any

from temporalio import workflow
from temporalio.exceptions import ActivityError, ApplicationError, FailureError

with workflow.unsafe.imports_passed_through():
    from activities.slack import PostRequest, ReplyRequest, SlackActivities, UpdateRequest
    from workflows import options
    from workflows.budget import Kind, SlackDone, SlackThrottled
    from workflows.channel_models import ChannelArchived
    from workflows.direct import find as find_dm
    from workflows.models import Event, IncidentState, MessagePosted, RenderDone, RenderFailed, RepliesPosted, Reply
    from workflows.turns import Turns, failure_text
    from workflows.view import MessageView, dm_view, message_view

RENDER_BACKOFF_FIRST = timedelta(seconds=5)
RENDER_BACKOFF_MAX = timedelta(minutes=10)
MAX_REPLIES_AT_ONCE = 20

__all__ = ["SlackSync", "failure_text", "failure_type", "retry_delay"]


def failure_type(exc: BaseException) -> str | None:
    cause = exc.cause if isinstance(exc, ActivityError) else exc
    return cause.type if isinstance(cause, ApplicationError) else None


def last_failure_type(exc: BaseException) -> str | None:
    """The type of the last attempt's failure, also under the timeout that ended the retries."""
    cause: BaseException | None = exc
    while cause is not None and not isinstance(cause, ApplicationError):
        cause = cause.cause if isinstance(cause, FailureError) else None
    return cause.type if isinstance(cause, ApplicationError) else None


def retry_delay(exc: BaseException) -> timedelta | None:
    """The wait the failure asked for (PagerDuty's ratelimit-reset, Slack's Retry-After), if any."""
    cause = exc.cause if isinstance(exc, ActivityError) else exc
    return cause.next_retry_delay if isinstance(cause, ApplicationError) else None


def replies_for(state: IncidentState, dedicated: bool) -> list[Reply]:
    """The replies waiting for one of the incident's messages, in order.

    While the incident has its own channel its timeline goes to that channel's thread, except replies
    meant for the service channel (the link to the new channel). Each thread keeps its own order and
    never waits for the other's.
    """
    return [r for r in state.replies if (state.dedicated.active and not r.to_service) is dedicated]


class SlackSync:
    """Bookkeeping of what one message shows (the service channel's, with `dedicated` the one in the
    incident's own channel, with `dm` the one in that PagerDuty user's direct message); `apply` feeds results
    to the reducer, `spawn` runs a task."""

    def __init__(self, state: Callable[[], IncidentState], apply: Callable[[Event], None],
                 spawn: Callable[[Awaitable[None]], None], dedicated: bool = False, dm: str | None = None) -> None:
        self._state, self._apply, self._spawn = state, apply, spawn
        self.dedicated = dedicated
        self.dm = dm
        self._rendered: MessageView | None = None
        self._rendering = self._replying = self._posting = False
        self._failures = 0
        self.retry_at: datetime | None = None
        self.turns = Turns(spawn)
        self.replies_clear_wait = False  # a reply that went out ends a 429's wait (runs from before: not)
        self.pending_after_auth = False  # a click shows as under way once allowed (runs from before: at once)

    @property
    def posting(self) -> bool:
        """A root post is in flight: abandoning it could leave a message whose ts the bridge never learns."""
        return self._posting

    def granted(self, kind: int) -> None:
        """The budget's turn for a call of `kind` (kept until used)."""
        self.turns.granted(kind)

    def where(self, state: IncidentState) -> tuple[str | None, str | None]:
        """The message's channel and ts (None until posted)."""
        if self.dm is not None:
            dm = find_dm(state, self.dm)
            return (dm.channel, dm.ts) if dm else (None, None)
        if self.dedicated:
            return state.dedicated.channel, state.dedicated.ts
        return state.channel, state.ts

    def _view(self, state: IncidentState) -> MessageView | None:
        if self.dm is not None:
            dm = find_dm(state, self.dm)
            return dm_view(state, dm, pending_after_auth=self.pending_after_auth) if dm else None
        if not self.dedicated:
            return message_view(state, pending_after_auth=self.pending_after_auth)
        if not state.dedicated.active:
            return None
        return message_view(state, dedicated=True, pending_after_auth=self.pending_after_auth)

    def wake_at(self) -> datetime | None:
        times = [t for t in (self.retry_at, *self.turns.wake_at()) if t]
        return min(times) if times else None

    def sync(self) -> None:
        state = self._state()
        view = self._view(state)
        if view is None:
            # Nothing to show (say, the incident's channel was archived): no retry or turn is worth waking for.
            self.retry_at = None
            self.turns.forget()
        channel, ts = self.where(state)
        waiting = self.retry_at is not None and workflow.now() < self.retry_at
        if view is not None and not self._rendering and not waiting:
            if ts is None:
                target = channel if self.dedicated or self.dm else self.turns.route
                if self.turns.take(Kind.POST, view, target):
                    self._rendering = self._posting = True
                    self._spawn(self._post(view, target or ""))
            elif view != self._rendered:
                status = self._rendered is None or self._rendered.status is not view.status
                if self.turns.take(Kind.STATUS if status else Kind.UPDATE, view, channel):
                    self._rendering = True
                    self._spawn(self._update(view, channel or "", ts))
        replies_wait = (ts is not None and self.dm is None and bool(replies_for(state, self.dedicated))
                        and not self._replying
                        and view is not None and not waiting)
        if replies_wait and view is not None and self.turns.take(Kind.REPLY, view, channel):
            self._replying = True
            self._spawn(self._post_replies())

    async def _throttled(self, kind: Kind, channel: str, exc: ActivityError) -> None:
        delay = retry_delay(exc) or timedelta(seconds=1)
        # This incident waits `Retry-After` itself too, so its next ask cannot overtake the budget's pause.
        until = workflow.now() + delay
        self.retry_at = max(until, self.retry_at) if self.retry_at else until
        await self.turns.tell_throttled(SlackThrottled(kind=kind, channel=channel, retry_after=delay.total_seconds()))

    # ---- the calls -------------------------------------------------------------------------------------------

    def _failed(self, exc: ActivityError, what: str) -> None:
        if self.dedicated and failure_type(exc) == "SlackChannelError":
            # The incident's channel was archived or the bridge removed from it in Slack: the incident goes
            # back to its service channel rather than retrying a channel nobody can post to.
            self._apply(ChannelArchived())
            return
        gone = failure_type(exc) == "SlackMessageGone"
        self._apply(RenderFailed(detail=failure_text(exc), message_gone=gone, dedicated=self.dedicated, dm=self.dm))
        if gone or self.dm is not None:
            return  # deleted in Slack: post a new message at once (a direct message that failed: given up)
        self._failures += 1
        delay = min(RENDER_BACKOFF_FIRST * 2 ** min(self._failures - 1, 10), RENDER_BACKOFF_MAX)
        self.retry_at = workflow.now() + delay
        workflow.logger.error("incident message not %s (retrying in %s): %s", what, delay, failure_text(exc))

    def _succeeded(self, view: MessageView) -> None:
        self._rendered, self._failures, self.retry_at = view, 0, None

    async def _slack(self, method: Callable[..., Awaitable[Any]], arg: Any, kind: Kind, channel: str) -> Any:
        """One Slack call on the budget's turn; the budget hears when it is over (a 429 is told apart)."""
        paced = not self.turns.unpaced()
        # Under the budget a 429 is not retried here: the budget makes the whole channel wait instead.
        policy = options.SLACK_PACED_RETRY if paced else options.SLACK_RETRY
        try:
            return await workflow.execute_activity_method(
                method, arg, start_to_close_timeout=options.CALL_TIMEOUT,
                schedule_to_close_timeout=options.SLACK_DEADLINE, retry_policy=policy)
        except ActivityError as exc:
            paced = paced and failure_type(exc) != "SlackRateLimited"  # `_throttled` tells the budget
            raise
        finally:
            if paced:
                self._spawn(self.turns.report_done(SlackDone(kind=kind, channel=channel)))

    def _rate_limited(self, exc: ActivityError, kind: Kind, channel: str) -> bool:
        if failure_type(exc) != "SlackRateLimited":
            return False
        self._spawn(self._throttled(kind, channel, exc))
        return True

    async def _post(self, view: MessageView, channel: str) -> None:
        request = PostRequest(view=view, channel=channel if self.dedicated or self.dm else None)
        try:
            posted: MessagePosted = await self._slack(SlackActivities.post_message, request, Kind.POST, channel)
            self._succeeded(view)
            self._apply(posted.model_copy(update={"dedicated": self.dedicated, "dm": self.dm}))
        except ActivityError as exc:
            if not self._rate_limited(exc, Kind.POST, channel):
                self._failed(exc, "posted")
        finally:
            self._rendering = self._posting = False

    async def _update(self, view: MessageView, channel: str, ts: str) -> None:
        try:
            await self._slack(SlackActivities.update_message, UpdateRequest(channel=channel, ts=ts, view=view),
                              Kind.UPDATE, channel)
            self._succeeded(view)
            if self._state().render_error is not None and self.dm is None:
                self._apply(RenderDone())
        except ActivityError as exc:
            if not self._rate_limited(exc, Kind.UPDATE, channel):
                self._failed(exc, "updated")
        finally:
            self._rendering = False

    async def _post_replies(self) -> None:
        try:
            state = self._state()
            channel, ts = self.where(state)
            batch = replies_for(state, self.dedicated)[:MAX_REPLIES_AT_ONCE]
            if not batch or ts is None or channel is None:
                return
            try:
                await self._slack(SlackActivities.post_reply, ReplyRequest(channel=channel, ts=ts, replies=batch),
                                  Kind.REPLY, channel)
                if self.replies_clear_wait and self.retry_at is not None and workflow.now() >= self.retry_at:
                    self.retry_at = None  # a wait that is over (a 429's): nothing is left to wake for
            except ActivityError as exc:
                if self._rate_limited(exc, Kind.REPLY, channel):
                    return
                if self.dedicated and failure_type(exc) == "SlackChannelError":
                    self._apply(ChannelArchived())
                    return
                workflow.logger.error("thread replies up to %d not posted: %s", batch[-1].seq, failure_text(exc))
            self._apply(RepliesPosted(upto_seq=batch[-1].seq, seqs=[r.seq for r in batch]))
        finally:
            self._replying = False
