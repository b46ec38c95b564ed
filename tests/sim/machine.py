"""One incident's whole life as a hypothesis state machine: PagerDuty, Slack, people and time as rules.

Every rule is a move of the adversary (a delivery, a click, a change in PagerDuty, an answer from an
in-flight job, time passing, a continue-as-new); after every rule the safety invariants are checked, and
at the end everything is let run out and the liveness invariants are checked too. `checks` says which
invariants a machine enforces, so each one can be its own test.
"""

from __future__ import annotations

import zlib
from datetime import UTC, datetime, timedelta
from typing import ClassVar

from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from tests.sim import invariants
from tests.sim.dms import dm_channel
from tests.sim.driver import SimWorkflow
from tests.sim.effects import FAULTS, Fault
from tests.sim.pagerduty import PRIORITIES, PRIORITY_IDS, PagerDuty
from tests.sim.people import CHANNEL, CLICKERS, INCIDENT_ID, ON_CALL, PAT, PD_PEOPLE, RESPONSE_URL, Human, typed
from tests.sim.slack import SlackShows
from workflows.models import ActionKind, PdEvent, SlackAction, Status

T0 = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
ALL_CHECKS = frozenset({"converges", "attributed", "answered", "once", "literal", "total", "trigger_shown"})
# Milliseconds: ties and near-ties, the confirmation deadline, the reconcile interval, hours, a day.
DELAYS = st.one_of(st.integers(0, 3000),
                   st.sampled_from([1, 999, 30_000, 121_000, 900_000, 3 * 3600_000, 25 * 3600_000]))
PD_MOVES = ("acknowledge", "resolve", "unacknowledge", "reopen", "reassign", "escalate", "priority", "note",
            "status_update")
STORM = 520  # more distinct webhooks than the reducer remembers


class IncidentLife(RuleBasedStateMachine):
    checks: ClassVar[frozenset[str]] = ALL_CHECKS
    lives: ClassVar[int] = 0  # schedules started, in this process (the soak command reports the rate)

    def __init__(self) -> None:
        super().__init__()
        IncidentLife.lives += 1
        self.wf: SimWorkflow | None = None
        self.typed: dict[str, str] = {"[t0]": PAT.name}
        self.clicked: list[SlackAction] = []
        self.stormed = False

    @property
    def sim(self) -> SimWorkflow:
        assert self.wf is not None
        return self.wf

    def _type(self, kind: int) -> str:
        text = typed(kind, len(self.typed))
        self.typed[f"[t{len(self.typed)}]"] = text
        return text

    @initialize(title=st.integers(0, 5), skew_ms=st.integers(-30_000, 30_000))
    def begin(self, title: int, skew_ms: int) -> None:
        pd = PagerDuty(title=self._type(title), skew=timedelta(milliseconds=skew_ms))
        self.wf = SimWorkflow(pd=pd, slack=SlackShows(), now=T0)
        pd.record(T0, "incident.triggered", None)

    # ---- webhooks ------------------------------------------------------------------------------------

    @precondition(lambda self: bool(self.sim.pd.outbox))
    @rule(pick=st.integers(0, 7))
    def deliver_webhook(self, pick: int) -> None:
        """The next webhook, or one sent later than it: delays and reordering."""
        outbox = self.sim.pd.outbox
        self.sim.deliver(outbox.pop(pick % len(outbox)))

    @precondition(lambda self: bool(self.sim.pd.sent))
    @rule(pick=st.integers(0, 30))
    def redeliver_webhook(self, pick: int) -> None:
        """PagerDuty delivers a webhook again (a duplicate, possibly hours later)."""
        sent = self.sim.pd.sent
        self.sim.deliver(sent[pick % len(sent)])

    @precondition(lambda self: not self.stormed)
    @rule(roll=st.integers(0, 39))
    def webhook_storm(self, roll: int) -> None:
        """Hundreds of webhooks that change nothing shown (conference bridge updates), delivered at once.

        Costly (a few hundred reducer steps), so only one roll in forty storms.
        """
        if roll:
            return
        self.stormed = True
        snap = self.sim.pd.snapshot()
        for n in range(STORM):
            self.sim.inbox.append(PdEvent(event_id=f"STORM{n}", event_type="incident.conference_bridge.updated",
                                          occurred_at=self.sim.pd.clock(self.sim.now), incident_id=INCIDENT_ID,
                                          incident=snap))
        self.sim.process()

    # ---- people ----------------------------------------------------------------------------------------

    @precondition(lambda self: self.sim.slack.channel.latest_ts is not None)
    @rule(who=st.sampled_from(CLICKERS), action=st.sampled_from(list(ActionKind)), to=st.sampled_from(CLICKERS),
          text=st.integers(0, 6), typed=st.booleans(), where=st.integers(0, 1))
    def click(self, who: Human, action: ActionKind, to: Human, text: int, typed: bool = False,
              where: int = 0) -> None:
        """Someone uses a control on the incident message (mapped, unmapped, other team, admin).

        A note is typed text; `text=6` is the same note again, on purpose (the person's previous one).
        `typed`: an acknowledge or resolve is `/pd ack|resolve 42` typed in a direct message instead, where the
        bot is not a member: no message behind it, and every answer must go by the command's response_url.
        `where=1`: the control is the one in the person's own direct message about the incident, when they have
        one (it has every control but the channel button). A button's or menu's click carries a response_url
        there; a note or status update comes from a modal, which has none.
        """
        note = choice = label = None
        if action is ActionKind.NOTE:
            again = [c.note for c in self.clicked if c.slack_user == who.slack_id and c.note]
            note = again[-1] if text == 6 and again else self._type(text)
        elif action in {ActionKind.ADD_RESPONDER, ActionKind.STATUS_UPDATE}:
            note = self._type(text)
        elif action is ActionKind.PRIORITY:
            choice, label = list(PRIORITY_IDS.items())[text % len(PRIORITY_IDS)]
        elif action is ActionKind.SNOOZE:
            choice, label = "3600", "1 hour"
        command = typed and action in {ActionKind.ACKNOWLEDGE, ActionKind.RESOLVE}
        dm_ts = self.sim.slack.channel.dm_ts.get(dm_channel(who))
        from_dm = bool(where) and not command and dm_ts is not None and action is not ActionKind.CREATE_CHANNEL
        channel, ts = ((f"D{who.key.upper()}", None) if command else (dm_channel(who), dm_ts) if from_dm
                       else (CHANNEL, self.sim.slack.channel.latest_ts))
        answer_by_url = command or (from_dm and action not in {ActionKind.NOTE, ActionKind.STATUS_UPDATE})
        click = SlackAction(
            key=f"k{len(self.clicked) + 1}", action=action, incident_id=INCIDENT_ID, slack_user=str(who.slack_id),
            channel=channel, message_ts=ts,
            response_url=f"{RESPONSE_URL}/{len(self.clicked) + 1}" if answer_by_url else None,
            target_slack_user=to.slack_id if action in {ActionKind.REASSIGN, ActionKind.ADD_RESPONDER} else None,
            note=note, choice=choice, choice_label=label,
        )
        self.clicked.append(click)
        self.sim.deliver(click)

    @precondition(lambda self: bool(self.clicked) and not self.sim.state.finished)
    @rule(pick=st.integers(0, 10))
    def click_delivered_again(self, pick: int) -> None:
        """Slack retries the delivery of a click (same key), within its few seconds of retries: never to a
        workflow that lingered a day and finished (a click on an old message is a new click)."""
        self.sim.deliver(self.clicked[pick % len(self.clicked)])

    @rule(who=st.sampled_from(PD_PEOPLE), move=st.sampled_from(PD_MOVES), other=st.sampled_from(PD_PEOPLE),
          text=st.integers(0, 5))
    def change_in_pagerduty(self, who: Human, move: str, other: Human, text: int) -> None:
        """Someone acts in PagerDuty directly (or PagerDuty itself does: an acknowledgement times out)."""
        pd, now = self.sim.pd, self.sim.now
        if move == "acknowledge" and pd.status is Status.TRIGGERED:
            pd.set_status(now, Status.ACKNOWLEDGED, who)
        elif move == "resolve" and pd.status is not Status.RESOLVED:
            pd.set_status(now, Status.RESOLVED, who)
        elif move == "unacknowledge" and pd.status is Status.ACKNOWLEDGED:
            pd.set_status(now, Status.TRIGGERED, None)
        elif move == "reopen" and pd.status is Status.RESOLVED:
            pd.set_status(now, Status.TRIGGERED, who)
        elif move == "reassign" and pd.status is not Status.RESOLVED:
            pd.reassign(now, other, who)
        elif move == "escalate" and pd.status is not Status.RESOLVED and pd.level < len(ON_CALL):
            pd.escalate_to(now, pd.level + 1, who)
        elif move == "priority":
            pd.set_priority(now, next(p for p in PRIORITIES if p != pd.priority), who)
        elif move == "note":
            pd.add_note(now, self._type(text), who)
        elif move == "status_update":
            pd.publish_status_update(now, self._type(text), who)

    # ---- the workflow's jobs, time, continue-as-new -----------------------------------------------------

    @precondition(lambda self: bool(self.sim.inflight))
    @rule(pick=st.integers(0, 5), fault=st.sampled_from(FAULTS))
    def job_answers(self, pick: int, fault: Fault) -> None:
        """An in-flight read, identity check or write answers now: fine, stale, failed, timed out, 'already'."""
        self.sim.complete(pick % len(self.sim.inflight), fault)

    @precondition(lambda self: bool(self.sim.opening))
    @rule(pick=st.integers(0, 3), fault=st.sampled_from(FAULTS))
    def dm_opened(self, pick: int, fault: Fault) -> None:
        """The activity opening an assignee's direct message answers now: the conversation, or none (not wanted,
        no Slack account, refused by Slack, Slack unavailable until its deadline)."""
        self.sim.opened(pick % len(self.sim.opening), fault)

    @rule(ms=DELAYS)
    def time_passes(self, ms: int) -> None:
        self.sim.advance(timedelta(milliseconds=ms))

    @rule(abandon=st.booleans())
    def continue_as_new(self, abandon: bool) -> None:
        if abandon or not self.sim.busy:
            self.sim.continue_as_new(abandon)

    # ---- invariants --------------------------------------------------------------------------------------

    @invariant()
    def safe_after_every_step(self) -> None:
        if self.wf is None:
            return
        if "literal" in self.checks:
            invariants.literal(self.wf, self.typed)
        if "once" in self.checks:
            invariants.once(self.wf)
        if "attributed" in self.checks:
            invariants.attributed(self.wf, final=False)
        invariants.total(self.wf)

    def teardown(self) -> None:
        if self.wf is None:
            return
        self.wf.resolve_everything()
        self.safe_after_every_step()
        for name in ("converges", "trigger_shown", "answered"):
            if name in self.checks:
                getattr(invariants, name)(self.wf)
        if "attributed" in self.checks:
            invariants.attributed(self.wf, final=True)


def machine_for(*checks: str, seed: int | None = None) -> type[IncidentLife]:
    """The same life, enforcing only `checks` (plus `total`): one test per invariant.

    Each gets its own fixed seed (so the tests explore different schedules, the same ones every run).
    """
    name = "_".join(checks)
    fixed = zlib.crc32(name.encode()) if seed is None else seed
    return type(f"IncidentLife_{name}", (IncidentLife,),
                {"checks": frozenset({*checks, "total"}), "_hypothesis_internal_use_seed": fixed})
