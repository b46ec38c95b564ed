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
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from activities.slack import PostRequest, ReplyRequest, SlackActivities, UpdateRequest
    from workflows import options
    from workflows.budget import Kind, SlackAsk, SlackDone, SlackThrottled
    from workflows.channel_models import ChannelArchived
    from workflows.models import Event, IncidentState, MessagePosted, RenderDone, RenderFailed, RepliesPosted, Reply
    from workflows.pacing import budget_workflow_id
    from workflows.view import MessageView, message_view

RENDER_BACKOFF_FIRST = timedelta(seconds=5)
RENDER_BACKOFF_MAX = timedelta(minutes=10)
ASK_AGAIN_AFTER = timedelta(minutes=10)  # a turn that never comes is asked for again
UNPACED_FOR = timedelta(minutes=1)  # after the budget could not be reached
MAX_REPLIES_AT_ONCE = 20


def failure_text(exc: BaseException) -> str:
    cause = exc.cause if isinstance(exc, ActivityError) and exc.cause else exc
    return cause.message if isinstance(cause, ApplicationError) else str(cause)


def failure_type(exc: BaseException) -> str | None:
    cause = exc.cause if isinstance(exc, ActivityError) else exc
    return cause.type if isinstance(cause, ApplicationError) else None


def retry_delay(exc: BaseException) -> timedelta | None:
    """The wait the failure asked for (PagerDuty's ratelimit-reset, Slack's Retry-After), if any."""
    cause = exc.cause if isinstance(exc, ActivityError) else exc
    return cause.next_retry_delay if isinstance(cause, ApplicationError) else None


def _slot(kind: Kind) -> Kind:
    return Kind.UPDATE if kind is Kind.STATUS else kind


def replies_for(state: IncidentState, dedicated: bool) -> list[Reply]:
    """The replies waiting for one of the incident's messages, in order.

    While the incident has its own channel its timeline goes to that channel's thread, except replies
    meant for the service channel (the link to the new channel). Each thread keeps its own order and
    never waits for the other's.
    """
    return [r for r in state.replies if (state.dedicated.active and not r.to_service) is dedicated]


class SlackSync:
    """Bookkeeping of what one message shows (the service channel's, or with `dedicated` the one in the
    incident's own channel); `apply` feeds results to the reducer, `spawn` runs a task."""

    def __init__(self, state: Callable[[], IncidentState], apply: Callable[[Event], None],
                 spawn: Callable[[Awaitable[None]], None], dedicated: bool = False) -> None:
        self._state, self._apply, self._spawn = state, apply, spawn
        self.dedicated = dedicated
        self._rendered: MessageView | None = None
        self._rendering = self._replying = self._posting = False
        self._failures = 0
        self.retry_at: datetime | None = None
        self._granted: set[Kind] = set()
        self._asked: dict[Kind, datetime] = {}
        self._route: str | None = None
        self._routing = False
        self._unpaced_until: datetime | None = None

    @property
    def posting(self) -> bool:
        """A root post is in flight: abandoning it could leave a message whose ts the bridge never learns."""
        return self._posting

    def granted(self, kind: int) -> None:
        """The budget's turn for a call of `kind` (kept until used)."""
        slot = _slot(Kind(kind))
        self._granted.add(slot)
        self._asked.pop(slot, None)

    def where(self, state: IncidentState) -> tuple[str | None, str | None]:
        """The message's channel and ts (None until posted)."""
        if self.dedicated:
            return state.dedicated.channel, state.dedicated.ts
        return state.channel, state.ts

    def _view(self, state: IncidentState) -> MessageView | None:
        if not self.dedicated:
            return message_view(state)
        return message_view(state, dedicated=True) if state.dedicated.active else None

    def wake_at(self) -> datetime | None:
        times = [t for t in (self.retry_at, *(at + ASK_AGAIN_AFTER for at in self._asked.values())) if t]
        return min(times) if times else None

    def sync(self) -> None:
        state = self._state()
        view = self._view(state)
        if view is None:
            # Nothing to show (say, the incident's channel was archived): no retry or turn is worth waking for.
            self.retry_at = None
            self._asked.clear()
        channel, ts = self.where(state)
        waiting = self.retry_at is not None and workflow.now() < self.retry_at
        if view is not None and not self._rendering and not waiting:
            if ts is None:
                target = channel if self.dedicated else self._route
                if self._turn(Kind.POST, view, target):
                    self._rendering = self._posting = True
                    self._spawn(self._post(view, target or ""))
            elif view != self._rendered:
                status = self._rendered is None or self._rendered.status is not view.status
                if self._turn(Kind.STATUS if status else Kind.UPDATE, view, channel):
                    self._rendering = True
                    self._spawn(self._update(view, channel or "", ts))
        replies_wait = (ts is not None and bool(replies_for(state, self.dedicated)) and not self._replying
                        and view is not None and not waiting)
        if replies_wait and view is not None and self._turn(Kind.REPLY, view, channel):
            self._replying = True
            self._spawn(self._post_replies())

    # ---- turns from the budget ------------------------------------------------------------------------------

    def _unpaced(self) -> bool:
        return self._unpaced_until is not None and workflow.now() < self._unpaced_until

    def _turn(self, kind: Kind, view: MessageView, channel: str | None) -> bool:
        """Whether a call of `kind` may go now; asks the budget for a turn when it may not yet."""
        slot = _slot(kind)
        if self._unpaced():
            return True
        if slot in self._granted:
            self._granted.discard(slot)
            return True
        asked = self._asked.get(slot)
        if asked is not None and workflow.now() - asked < ASK_AGAIN_AFTER:
            return False
        if kind is Kind.POST and channel is None:
            if not self._routing:
                self._routing = True
                self._spawn(self._find_route(view))
            return False
        self._asked[slot] = workflow.now()
        request = SlackAsk(workflow_id=workflow.info().workflow_id, incident_id=view.incident_id, kind=kind,
                           channel=channel or "", urgency=view.urgency, priority=view.priority,
                           service=view.service, html_url=view.html_url)
        self._spawn(self._ask(request))
        return False

    async def _find_route(self, view: MessageView) -> None:
        try:
            self._route = await workflow.execute_local_activity_method(
                SlackActivities.route, view.service_id, start_to_close_timeout=timedelta(seconds=10),
                retry_policy=options.SINGLE_TRY)
        except Exception as exc:
            self._go_unpaced(f"no channel route: {failure_text(exc)}")
        finally:
            self._routing = False

    async def _ask(self, request: SlackAsk) -> None:
        budget_id = budget_workflow_id(workflow.info().task_queue)
        try:
            await workflow.get_external_workflow_handle(budget_id).signal("ask", request)
            return
        except Exception as exc:
            workflow.logger.info("budget %s not reached by signal (%s); starting it", budget_id, exc)
        try:
            await workflow.execute_activity("slack_budget_ask", request, start_to_close_timeout=timedelta(seconds=10),
                                            retry_policy=options.SINGLE_TRY)
        except Exception as exc:
            self._go_unpaced(failure_text(exc))

    def _go_unpaced(self, why: str) -> None:
        workflow.logger.warning("Slack budget unreachable (%s): calling Slack unpaced for a while", why)
        self._unpaced_until = workflow.now() + UNPACED_FOR
        self._asked.clear()

    async def _throttled(self, kind: Kind, channel: str, exc: ActivityError) -> None:
        delay = retry_delay(exc) or timedelta(seconds=1)
        # This incident waits `Retry-After` itself too, so its next ask cannot overtake the budget's pause.
        until = workflow.now() + delay
        self.retry_at = max(until, self.retry_at) if self.retry_at else until
        note = SlackThrottled(kind=kind, channel=channel, retry_after=delay.total_seconds())
        try:
            await workflow.get_external_workflow_handle(budget_workflow_id(workflow.info().task_queue)).signal(
                "throttled", note)
        except Exception as failure:
            workflow.logger.warning("could not tell the Slack budget about a 429: %s", failure)

    # ---- the calls -------------------------------------------------------------------------------------------

    def _failed(self, exc: ActivityError, what: str) -> None:
        if self.dedicated and failure_type(exc) == "SlackChannelError":
            # The incident's channel was archived or the bridge removed from it in Slack: the incident goes
            # back to its service channel rather than retrying a channel nobody can post to.
            self._apply(ChannelArchived())
            return
        gone = failure_type(exc) == "SlackMessageGone"
        self._apply(RenderFailed(detail=failure_text(exc), message_gone=gone, dedicated=self.dedicated))
        if gone:
            return  # deleted in Slack: post a new message at once
        self._failures += 1
        delay = min(RENDER_BACKOFF_FIRST * 2 ** min(self._failures - 1, 10), RENDER_BACKOFF_MAX)
        self.retry_at = workflow.now() + delay
        workflow.logger.error("incident message not %s (retrying in %s): %s", what, delay, failure_text(exc))

    def _succeeded(self, view: MessageView) -> None:
        self._rendered, self._failures, self.retry_at = view, 0, None

    async def _slack(self, method: Callable[..., Awaitable[Any]], arg: Any, kind: Kind, channel: str) -> Any:
        """One Slack call on the budget's turn; the budget hears when it is over (a 429 is told apart)."""
        paced = not self._unpaced()
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
                self._spawn(self._report_done(SlackDone(kind=kind, channel=channel)))

    async def _report_done(self, note: SlackDone) -> None:
        try:
            await workflow.get_external_workflow_handle(budget_workflow_id(workflow.info().task_queue)).signal(
                "done", note)
        except Exception as failure:
            workflow.logger.warning("could not tell the Slack budget a call was done: %s", failure)

    def _rate_limited(self, exc: ActivityError, kind: Kind, channel: str) -> bool:
        if failure_type(exc) != "SlackRateLimited":
            return False
        self._spawn(self._throttled(kind, channel, exc))
        return True

    async def _post(self, view: MessageView, channel: str) -> None:
        request = PostRequest(view=view, channel=channel if self.dedicated else None)
        try:
            posted: MessagePosted = await self._slack(SlackActivities.post_message, request, Kind.POST, channel)
            self._succeeded(view)
            self._apply(posted.model_copy(update={"dedicated": self.dedicated}))
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
            if self._state().render_error is not None:
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
