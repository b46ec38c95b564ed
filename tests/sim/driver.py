"""The simulated workflow loop: the real reducer, the real view and rendering, effects run when told.

Like `workflows/incident.py`: events go through `reduce` one at a time; effects become in-flight jobs
(TellUser goes straight to Slack); after the inbox is empty the Slack message is made equal to
`message_view(state)`, each open direct message to `dm_view(state, dm)`, and waiting replies are posted; a
Tick is sent when `next_deadline` has passed. The reducer runs with direct messages on (its patch taken).
Unlike it, nothing runs by itself: the schedule decides when each job answers and how.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from tests.sim.effects import Fault, InFlight, execute, start
from tests.sim.pagerduty import PagerDuty
from tests.sim.people import INCIDENT_ID
from tests.sim.slack import SlackShows
from workflows.changes import read_retry_at
from workflows.channel_models import CreateChannel
from workflows.direct import find as find_dm
from workflows.dm_models import OpenDirectMessage
from workflows.models import (
    Event,
    IncidentState,
    PdEvent,
    Recalled,
    RepliesPosted,
    Resumed,
    SlackAction,
    TellUser,
    Tick,
    Timing,
)
from workflows.rendering import replies_for
from workflows.rules import Rules
from workflows.state import next_deadline, reduce
from workflows.view import MessageView, dm_view, message_view


@dataclass
class Click:
    key: str
    slack_user: str
    action: str
    command_id: str | None = None  # the command it became, if any
    told_at_once: bool = False  # answered right away (not needed / nothing to do)
    note: str = ""  # the text typed, for a note


@dataclass
class SimWorkflow:
    pd: PagerDuty
    slack: SlackShows
    now: datetime
    timing: Timing = field(default_factory=Timing)
    state: IncidentState = field(init=False)
    inbox: list[Event] = field(default_factory=list)
    inflight: list[InFlight] = field(default_factory=list)
    # Direct messages being opened, apart from `inflight` so that stories written before them keep their picks.
    opening: list[InFlight] = field(default_factory=list)
    run: int = 1
    rendered: MessageView | None = None
    dedicated_rendered: MessageView | None = None
    dm_rendered: dict[str, MessageView] = field(default_factory=dict)  # per PagerDuty user, as their SlackSync
    clicks: dict[str, Click] = field(default_factory=dict)
    triggers_delivered: int = 0
    runs_completed: int = 0

    def __post_init__(self) -> None:
        self.state = IncidentState(incident_id=INCIDENT_ID, timing=self.timing)

    # ---- the loop ----------------------------------------------------------------------------------

    def deliver(self, event: Event) -> None:
        """A signal: a webhook or a click (signal-with-start: a completed workflow starts afresh)."""
        if self.state.finished and not self.busy:
            # Signal-with-start: a new run, which goes on from the finished run's final state (recall_finished_run).
            self.runs_completed += 1
            self.rendered = self.dedicated_rendered = None
            self.dm_rendered = {}
            self.inbox.append(Recalled())
        if isinstance(event, PdEvent) and event.event_type == "incident.triggered":
            self.triggers_delivered += 1
        self.inbox.append(event)
        self.process()

    def process(self) -> None:
        while self.inbox:
            self._apply(self.inbox.pop(0))
        self._sync_slack()

    def _apply(self, event: Event) -> None:
        before_no = self.state.next_command_no
        try:
            self.state, effects = reduce(self.state, event, self.now, Rules(direct_messages=True))
        except Exception as exc:  # the `total` invariant: reported, with the event, by the machine
            raise AssertionError(f"total: reduce raised {exc!r} on {event!r}") from exc
        if isinstance(event, SlackAction) and event.key not in self.clicks:
            click = Click(event.key, event.slack_user, event.action.value, note=(event.note or "").strip())
            if self.state.next_command_no > before_no:
                click.command_id = f"c{before_no}"
            click.told_at_once = any(isinstance(e, TellUser) for e in effects)
            self.clicks[event.key] = click
        for effect in effects:
            if isinstance(effect, TellUser):
                self.slack.tell(effect)
            else:
                job = start(effect, self.run, self.pd, self.runs_completed)
                (self.opening if isinstance(effect, OpenDirectMessage) else self.inflight).append(job)

    def _sync_slack(self) -> None:
        view = message_view(self.state)
        if view is not None:
            if self.state.ts is None:
                self.rendered = view
                self._apply(self.slack.post(view))
            elif view != self.rendered and self.state.channel is not None:
                self.slack.update(self.state.channel, self.state.ts, view)
                self.rendered = view
        ded = self.state.dedicated
        if ded.active and ded.channel is not None and view is not None:
            mine = message_view(self.state, dedicated=True)
            if ded.ts is None and mine is not None:
                self.dedicated_rendered = mine
                self._apply(self.slack.post(mine, ded.channel).model_copy(update={"dedicated": True}))
            elif mine != self.dedicated_rendered and ded.ts is not None and mine is not None:
                self.slack.update(ded.channel, ded.ts, mine)
                self.dedicated_rendered = mine
        self._sync_dms()
        # Replies in order, each run to the thread it belongs to (the dedicated channel's while there is one).
        while self.state.replies:
            for dedicated in (False, True):
                channel, ts = ((self.state.dedicated.channel, self.state.dedicated.ts) if dedicated
                               else (self.state.channel, self.state.ts))
                run = replies_for(self.state, dedicated)
                if run and channel is not None and ts is not None:
                    self.slack.reply(channel, ts, run)
                    self._apply(RepliesPosted(upto_seq=run[-1].seq, seqs=[r.seq for r in run]))
                    break
            else:
                return

    def _sync_dms(self) -> None:
        """Each open direct message, as its `SlackSync` keeps it: posted once, then updated in place."""
        for pd_user in [d.pd_user for d in self.state.dms]:
            dm = find_dm(self.state, pd_user)
            mine = dm_view(self.state, dm) if dm is not None else None
            if dm is None or dm.channel is None or mine is None:
                continue
            if dm.ts is None:
                self.dm_rendered[pd_user] = mine
                self._apply(self.slack.post(mine, dm.channel).model_copy(update={"dm": pd_user}))
            elif mine != self.dm_rendered.get(pd_user):
                self.slack.update(dm.channel, dm.ts, mine)
                self.dm_rendered[pd_user] = mine

    # ---- what the schedule controls ------------------------------------------------------------------

    def complete(self, index: int, fault: Fault) -> None:
        """The in-flight job `index` answers now, as `fault` says."""
        self._answer(self.inflight, index, fault)

    def opened(self, index: int, fault: Fault) -> None:
        """The direct message being opened `index` answers now, as `fault` says."""
        self._answer(self.opening, index, fault)

    @property
    def busy(self) -> bool:
        return bool(self.inflight or self.opening)

    def _answer(self, jobs: list[InFlight], index: int, fault: Fault) -> None:
        job = jobs[index]
        events, finished = execute(job, fault, self.pd, self.now)
        if finished:
            jobs.remove(job)
        self.inbox.extend(events)
        self.process()

    def advance(self, delta: timedelta) -> None:
        """Time passes; every deadline it crosses sends a Tick at that moment."""
        end = self.now + delta
        for _ in range(20):
            deadline = None if self.state.finished else next_deadline(self.state)
            if deadline is None or deadline > end:
                break
            self.now = max(self.now, deadline)
            self.inbox.append(Tick())
            self.process()
        self.now = end

    def continue_as_new(self, abandon: bool) -> None:
        """A new run carrying state and inbox; in-memory render knowledge is lost.

        `abandon=True` is what `workflows/incident.py` does: the new run starts while jobs of the old one are
        still out (their answers never come back) and first reduces `Resumed`, which asks again for them.
        `abandon=False` is a new run when nothing is in flight.
        """
        if abandon:
            # As the workflow does, a channel's creation is waited for, never abandoned.
            self.inflight = [job for job in self.inflight if isinstance(job.effect, CreateChannel)]
            self.opening = []
        self.run += 1
        self.rendered = self.dedicated_rendered = None
        self.dm_rendered = {}
        self.inbox.insert(0, Resumed())
        self.process()

    def resolve_everything(self) -> None:
        """Deliveries stop and timers run out: every webhook arrives, every job answers, deadlines fire."""
        limit = timedelta(seconds=self.timing.confirmation_deadline_seconds + 1)
        for _ in range(60):
            if self.pd.outbox:
                self.deliver(self.pd.outbox.pop(0))
            elif self.inflight:
                self.complete(0, "ok")
            elif self.opening:
                self.opened(0, "ok")
            else:
                deadline = None if self.state.finished else next_deadline(self.state)
                # A failed read's retry fires however far its backoff (capped at the reconcile interval) put it.
                retry = None if self.state.finished else read_retry_at(self.state)
                if deadline is None or (deadline > self.now + limit and deadline != retry):
                    return
                self.advance(max(deadline - self.now, timedelta(0)))
