"""IncidentWorkflow: one long-running workflow per PagerDuty incident, a thin loop around `reduce`.

Signals only enqueue. The loop feeds events to the reducer, runs the effects it asks for as activities
(their results come back as events), keeps the Slack message equal to the latest desired view, and
continues-as-new with state and unprocessed events when the history grows large.
"""

from __future__ import annotations

from collections.abc import Awaitable
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from temporalio import workflow
from temporalio.exceptions import ActivityError

with workflow.unsafe.imports_passed_through():
    from activities.recall import RecallActivities, RecallRequest
    from activities.slack import SlackActivities
    from workflows import channel_work, options, search
    from workflows.channel_models import (
        ArchiveChannel,
        ChannelCreated,
        CreateChannel,
        InviteToChannel,
        PostSummary,
        SetConferenceLink,
    )
    from workflows.dm_models import OpenDirectMessage
    from workflows.dm_sync import DirectSyncs
    from workflows.models import (
        Effect,
        Event,
        IncidentState,
        PdEvent,
        ReadIncident,
        Recalled,
        ResolveActor,
        Resumed,
        SlackAction,
        TellUser,
        Tick,
        Unexpected,
        WorkflowInput,
        WriteToPagerDuty,
    )
    from workflows.pd_calls import PagerDutyCalls
    from workflows.policy import about_status_updates
    from workflows.rendering import SlackSync, failure_text
    from workflows.rules import PATCHES, Rules
    from workflows.state import next_deadline, reduce
    from workflows.tasks import Tasks


@workflow.defn(name="IncidentWorkflow")
class IncidentWorkflow:
    @workflow.init
    def __init__(self, inp: WorkflowInput) -> None:
        self._state = inp.state or IncidentState(incident_id=inp.incident_id, timing=inp.timing,
                                                 channels=inp.channels)
        # A new run after continue-as-new first asks again for what the old run had in flight.
        self._inbox: list[Event] = [*([Resumed()] if inp.state else []), *inp.inbox]
        self._tasks = Tasks()
        self._untold: list[TellUser] = list(inp.untold)
        self._slack_sync = SlackSync(lambda: self._state, self._apply, self._spawn)
        self._dedicated_sync = SlackSync(lambda: self._state, self._apply, self._spawn, dedicated=True)
        self._pd = PagerDutyCalls(lambda: self._state, self._feed)
        self._direct = DirectSyncs(lambda: self._state, self._apply, self._spawn)  # assignees' direct messages
        self._published: tuple[Any, ...] | None = None
        self._tasks.poked = False
        self._ticked_at: datetime | None = None
        self._remembered: tuple[str | None, str | None] = (None, None)
        self._channel_timeline = False
        self._conference_link = False  # set in `run` from its patch
        # None until the run first meets a status update (a click or a webhook): then its patch says (see `_apply`).
        self._status_updates: bool | None = None
        self._rules = Rules(**dict.fromkeys(PATCHES, False))  # set in `run` from the patches

    @workflow.signal(name="pd_event")
    def pd_event(self, event: PdEvent) -> None:
        self._inbox.append(event)

    @workflow.signal(name="slack_action")
    def slack_action(self, action: SlackAction) -> None:
        self._inbox.append(action)

    @workflow.signal(name="slack_grant")
    def slack_grant(self, kind: int, channel: str = "") -> None:
        """The shared Slack budget's turn for one call (workflows/pacing.py), for the message in `channel`."""
        if self._direct.granted(kind, channel):
            self._tasks.poked = True
            return
        mine = channel and channel == self._state.dedicated.channel and channel != self._state.channel
        (self._dedicated_sync if mine else self._slack_sync).granted(kind)
        self._tasks.poked = True

    @workflow.query(name="state")
    def state(self) -> IncidentState:
        return self._state

    @workflow.run
    async def run(self, inp: WorkflowInput) -> IncidentState:
        # Changes since release 0.1.0 (98334e2), each taken only by runs that did not start before it.
        bounded, replies_clear = workflow.patched("slack-turn-bound"), workflow.patched("reply-clears-429-wait")
        pending_after_auth = workflow.patched("pending-after-auth")
        raise_status = workflow.patched("status-raises-ask")

        def configure(sync: SlackSync) -> None:
            sync.turns.bounded, sync.replies_clear_wait = bounded, replies_clear
            sync.turns.raise_status = raise_status
            sync.pending_after_auth = pending_after_auth

        for sync in (self._slack_sync, self._dedicated_sync):
            configure(sync)
        self._direct.configure = configure
        remember = workflow.patched("message-memo")
        self._channel_timeline = workflow.patched("channel-timeline")
        summarize = workflow.patched("incident-summary")
        # Each rule's patch asked in turn, in the order runs started before asked them.
        self._rules = Rules(**{rule: workflow.patched(patch) for rule, patch in PATCHES.items()})
        self._conference_link = workflow.patched("conference-link")
        if inp.state is None and workflow.patched("recall-finished-run"):
            await self._recall()
        for tell in self._untold:
            self._spawn(self._tell(tell))
        while True:
            while self._inbox:
                self._apply(self._inbox.pop(0))
            self._slack_sync.sync()
            self._dedicated_sync.sync()
            self._direct.sync()
            self._published = search.publish(self._state, self._published, summarize)
            if remember:
                self._remembered = search.remember_message(self._state, self._remembered)
            if self._state.finished and not self._tasks:
                return self._state
            if (workflow.info().is_continue_as_new_suggested() and not self._slack_sync.posting
                    and not self._dedicated_sync.posting and not self._direct.posting
                    and self._state.dedicated.phase != "creating"
                    and not self._state.dedicated.summarizing
                    and workflow.all_handlers_finished()):
                # Nothing in flight holds the incident's decisions: the new run asks again for reads and
                # writes (which are idempotent) and renders from state. Only a root post and a channel's
                # creation are waited for, since abandoning them could leave a second message or channel.
                workflow.continue_as_new(WorkflowInput(incident_id=self._state.incident_id,
                                                       timing=self._state.timing, channels=self._state.channels,
                                                       state=self._state,
                                                       inbox=self._inbox, untold=self._untold))
            await self._wait()

    async def _recall(self) -> None:
        """A run started by an event after an earlier run finished goes on with what that run knew."""
        request = RecallRequest(workflow_id=workflow.info().workflow_id, run_id=workflow.info().run_id)
        try:
            recalled: IncidentState | None = await workflow.execute_activity_method(
                RecallActivities.recall, request, start_to_close_timeout=options.CALL_TIMEOUT,
                schedule_to_close_timeout=options.RECALL_DEADLINE, retry_policy=options.PAGERDUTY_RETRY)
        except ActivityError as exc:
            workflow.logger.warning("incident %s: the finished run could not be recalled (%s); going on from "
                                    "PagerDuty alone", self._state.incident_id, failure_text(exc))
            return
        if recalled is not None and recalled.incident_id == self._state.incident_id:
            # Like a continued run's state, taken whole; the reducer makes it go on (lingers again, re-reads).
            self._state = recalled.model_copy(update={"timing": self._state.timing,
                                                      "channels": self._state.channels})
            self._apply(Recalled())

    async def _wait(self) -> None:
        deadline = None if self._state.finished else next_deadline(self._state)
        for sync in (self._slack_sync, self._dedicated_sync, *self._direct):
            retry = sync.wake_at()
            if retry is not None and (deadline is None or retry < deadline):
                deadline = retry
        self._tasks.poked = False

        def wake() -> bool:
            return bool(self._inbox) or self._tasks.poked

        if deadline is None:
            await workflow.wait_condition(wake)
            return
        now = workflow.now()
        if deadline <= now and self._ticked_at != now:
            # Due already: one Tick for this instant. Should the deadline still be due after it, wait for
            # news or a second rather than spin (a loop that never yields is a deadlock to Temporal).
            self._ticked_at = now
            self._inbox.append(Tick())
            return
        try:
            await workflow.wait_condition(wake, timeout=max(deadline - now, timedelta(seconds=1)))
        except TimeoutError:
            self._inbox.append(Tick())

    def _apply(self, event: Event) -> None:
        if self._status_updates is None and about_status_updates(event):
            # Asked where the run first meets one, not at its start: a run started before status updates were
            # shown takes them from here on, while a history that met one before (a webhook then left unshown)
            # replays as it was recorded.
            self._status_updates = workflow.patched("status-updates")
            self._rules = replace(self._rules, status_updates=self._status_updates)
        try:
            self._state, effects = reduce(self._state, event, workflow.now(), self._rules)
        except Exception as exc:
            workflow.logger.exception("incident %s: %s could not be handled", self._state.incident_id, event.kind)
            self._state, effects = reduce(self._state, Unexpected(detail=f"{event.kind}: {exc!r}"), workflow.now())
        for effect in effects:
            self._spawn(self._run_effect(effect))

    def _spawn(self, work: Awaitable[None]) -> None:
        self._tasks.spawn(work)

    def _feed(self, event: Event) -> None:
        self._inbox.append(event)

    async def _run_effect(self, effect: Effect) -> None:
        match effect:
            case ReadIncident():
                self._feed(await self._pd.read(effect))
            case ResolveActor():
                self._feed(await self._pd.resolve(effect))
            case WriteToPagerDuty():
                await self._pd.write(effect)
            case TellUser():
                await self._tell(effect)
            case OpenDirectMessage():
                self._feed(await self._direct.open(effect))
            case CreateChannel() | InviteToChannel() | PostSummary() | ArchiveChannel() | SetConferenceLink():
                result = await channel_work.run(effect)
                if isinstance(result, ChannelCreated) and self._channel_timeline:
                    result = result.model_copy(update={"with_timeline": True})
                if isinstance(result, ChannelCreated) and self._conference_link:
                    result = result.model_copy(update={"set_conference": True})
                self._feed(result)

    async def _tell(self, effect: TellUser) -> None:
        if effect not in self._untold:
            self._untold.append(effect)
        try:
            await workflow.execute_activity_method(
                SlackActivities.tell_user, effect, start_to_close_timeout=options.CALL_TIMEOUT,
                schedule_to_close_timeout=options.TELL_DEADLINE, retry_policy=options.SLACK_RETRY)
        except ActivityError as exc:
            workflow.logger.warning("could not tell %s: %s", effect.slack_user, failure_text(exc))
        finally:
            if effect in self._untold:
                self._untold.remove(effect)
