"""The incident workflow's direct messages: opens each one the reducer asks for, and keeps one `SlackSync` per
open conversation, so every direct message is posted and updated like the channel's message, on the shared
Slack budget's turns (workflows/rendering.py)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator

from temporalio import workflow
from temporalio.exceptions import ActivityError

with workflow.unsafe.imports_passed_through():
    from activities.direct_messages import DirectMessageActivities
    from workflows import options
    from workflows.dm_models import DirectMessageOpened, OpenDirectMessage
    from workflows.models import Event, IncidentState
    from workflows.rendering import SlackSync, failure_text


class DirectSyncs:
    def __init__(self, state: Callable[[], IncidentState], apply: Callable[[Event], None],
                 spawn: Callable[[Awaitable[None]], None]) -> None:
        self._state, self._apply, self._spawn = state, apply, spawn
        self._syncs: dict[str, SlackSync] = {}
        self.configure: Callable[[SlackSync], None] = lambda sync: None  # the run's patches, as for the others

    def __iter__(self) -> Iterator[SlackSync]:
        return iter(self._syncs.values())

    def _open_syncs(self) -> None:
        for dm in self._state().dms:
            if dm.phase == "open" and dm.pd_user not in self._syncs:
                sync = self._syncs[dm.pd_user] = SlackSync(self._state, self._apply, self._spawn, dm=dm.pd_user)
                self.configure(sync)

    def sync(self) -> None:
        self._open_syncs()
        for sync in self._syncs.values():
            sync.sync()

    def granted(self, kind: int, channel: str) -> bool:
        """The budget's turn for the direct message in `channel`; False when `channel` is none of them. A turn
        that comes to a new run before it has looked at its direct messages is still theirs."""
        if channel and channel.startswith("D"):
            self._open_syncs()
        for sync in self._syncs.values():
            if channel and sync.where(self._state())[0] == channel:
                sync.granted(kind)
                return True
        return False

    @property
    def posting(self) -> bool:
        return any(s.posting for s in self._syncs.values())

    async def open(self, effect: OpenDirectMessage) -> DirectMessageOpened:
        try:
            opened: DirectMessageOpened = await workflow.execute_activity_method(
                DirectMessageActivities.open_direct_message, effect, start_to_close_timeout=options.CALL_TIMEOUT,
                schedule_to_close_timeout=options.SLACK_DEADLINE, retry_policy=options.SLACK_RETRY)
        except ActivityError as exc:
            return DirectMessageOpened(pd_user=effect.pd_user, reason=failure_text(exc))
        return opened
