"""Effect execution, in one place: what the activities would answer, computed against the PagerDuty model.

Mirrors `workflows/incident.py` and `activities/pagerduty.py`: one attempt, then "retrying" and durable
retries until the action deadline; escalation decides its level once per click; "already" only for
acknowledge and resolve, naming who made the change (the clicker's own earlier attempt counts as applied);
a note write looks for the same note only on a retry (or a write asked again by a new run), never taking a
note the bridge already knows. Only an attempt that got no answer (a timeout) may have landed: after a 503,
PagerDuty's own answer that it did nothing, the retry looks for no earlier attempt of its own.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from tests.sim.dms import open_dm
from tests.sim.pagerduty import PagerDuty
from tests.sim.people import BY_SLACK_ID, ON_CALL, OWNING_TEAM
from tests.sim.writes import UNSURE, apply, logged, refused
from workflows.channel_models import (
    ChannelArchived,
    ChannelCreated,
    ChannelInvited,
    CreateChannel,
    InviteToChannel,
    PostSummary,
    SummaryPosted,
)
from workflows.dm_models import OpenDirectMessage
from workflows.models import (
    ActionKind,
    ActorResolved,
    Effect,
    EscalationPlanned,
    Event,
    IncidentRead,
    ReadIncident,
    ResolveActor,
    WriteOutcome,
    WriteToPagerDuty,
)
from workflows.pd_calls import LOG_SHOWS_LANDED

DEDICATED = "C0DEDIC1"  # the incident's own channel, when one is created
Fault = Literal["ok", "stale", "error", "refused", "unavailable", "timeout_applied"]
FAULTS: tuple[Fault, ...] = ("ok", "stale", "error", "refused", "unavailable", "timeout_applied")


@dataclass
class InFlight:
    """An effect the workflow started and whose result has not come back."""

    effect: Effect
    run: int  # which run of the workflow started it (continue-as-new abandons older ones)
    started_read: IncidentRead | None = None  # what a read would have answered when it started
    attempts: int = 0
    retried_after: list[str] = field(default_factory=list)
    generation: int = 0  # command ids restart in a workflow started afresh: the ledger tells them apart
    unanswered: bool = False  # an attempt got no answer (timed out): it may have landed


def start(effect: Effect, run: int, pd: PagerDuty, generation: int = 0) -> InFlight:
    return InFlight(effect, run, started_read=pd.read() if isinstance(effect, ReadIncident) else None,
                    generation=generation)


def execute(job: InFlight, fault: Fault, pd: PagerDuty, now: datetime) -> tuple[list[Event], bool]:
    """Run one attempt of `job`; the events it feeds back, and whether the job is finished."""
    effect = job.effect
    if isinstance(effect, ReadIncident):
        # As the workflow does, the answer carries the number of the read that asked for it.
        if fault == "error":
            return [IncidentRead(read_no=effect.read_no, error="PagerDuty unavailable (503)")], True
        read = job.started_read if fault == "stale" and job.started_read else pd.read()
        return [read.model_copy(update={"read_no": effect.read_no})], True
    if isinstance(effect, ResolveActor):
        return [_resolve(effect, fault)], True
    if isinstance(effect, WriteToPagerDuty):
        return _write(job, effect, fault, pd, now)
    if isinstance(effect, OpenDirectMessage):
        return [open_dm(effect, fault)], True
    return [_channel_work(effect, fault)], True


def _channel_work(effect: Effect, fault: Fault) -> Event:
    """The dedicated channel's Slack calls: created as DEDICATED, or refused as a workspace may refuse."""
    failed = fault in {"error", "refused"}
    match effect:
        case CreateChannel():
            if failed:
                return ChannelCreated(error="this workspace lets only some members create channels")
            return ChannelCreated(channel=DEDICATED, name="inc-1-database")
        case InviteToChannel():
            return ChannelInvited(pd_user_ids=effect.pd_user_ids, slack_users=effect.slack_users,
                                  error="Slack refused (cant_invite)" if failed else None)
        case PostSummary():
            return SummaryPosted()
        case _:
            return ChannelArchived(error="Slack refused (not_in_channel)" if failed else None)


def _resolve(effect: ResolveActor, fault: Fault) -> ActorResolved:
    if fault == "error":
        return ActorResolved(command_id=effect.command_id, error="could not check who you are in PagerDuty: 503")
    actor = BY_SLACK_ID.get(effect.slack_user)
    target = BY_SLACK_ID.get(effect.target_slack_user or "")
    return ActorResolved(
        command_id=effect.command_id,
        actor=actor.person if actor and actor.pd_id else None,
        target=target.person if target and target.pd_id else None,
        actor_team_ids=[actor.team] if actor and actor.team else [],
        incident_team_ids=[OWNING_TEAM],
        is_admin=bool(actor and actor.admin),
    )


def _write(job: InFlight, w: WriteToPagerDuty, fault: Fault, pd: PagerDuty,
           now: datetime) -> tuple[list[Event], bool]:
    events: list[Event] = []
    if w.action is ActionKind.ESCALATE and w.escalation_level is None:
        if pd.level >= len(ON_CALL):
            detail = f"already at the last level ({pd.level} of {len(ON_CALL)}) of escalation policy Payments EP"
            return [WriteOutcome(command_id=w.command_id, result="failed", detail=detail, nothing_done=True)], True
        w = w.model_copy(update={"escalation_level": pd.level + 1})
        job.effect = w
        events.append(EscalationPlanned(command_id=w.command_id, level=pd.level + 1,
                                        user_ids=[str(ON_CALL[pd.level + 1].pd_id)]))
    retry = job.attempts > 0
    job.attempts += 1
    landed = job.unanswered or w.may_have_landed  # whether an earlier attempt may have landed
    if w.action is ActionKind.STATUS_UPDATE and fault == "timeout_applied" and not landed:
        # A status update that got no answer is reported at once, never sent again (activities/pagerduty.py).
        apply(w, pd, now, landed, f"{job.generation}/{w.command_id}")
        return [*events, WriteOutcome(command_id=w.command_id, result="failed", detail=UNSURE)], True
    if fault in {"unavailable", "timeout_applied"}:
        if fault == "timeout_applied":
            apply(w, pd, now, landed, f"{job.generation}/{w.command_id}")
            job.unanswered = True
        why = "PagerDuty API timed out" if fault == "timeout_applied" else "PagerDuty unavailable (503)"
        if retry:
            # The durable retries ran out before the action deadline.
            detail = f"{why}; gave up after 3 min of retries"
            # As the workflow reports it: every try answered "nothing done" (503) unless one may have landed; for an
            # acknowledge or resolve, PagerDuty's log then says whether one did.
            nothing = fault == "unavailable" and not landed
            if not nothing and w.action in {ActionKind.ACKNOWLEDGE, ActionKind.RESOLVE, ActionKind.ESCALATE,
                                            ActionKind.REASSIGN}:
                nothing = not logged(w, pd)
            elif not nothing and w.action is ActionKind.SNOOZE and logged(w, pd):
                # A snooze has no webhook: the log's word that it landed is its outcome.
                return [*events, WriteOutcome(command_id=w.command_id, result="applied",
                                              detail=f"{detail}; {LOG_SHOWS_LANDED}")], True
            return [*events, WriteOutcome(command_id=w.command_id, result="failed", detail=detail,
                                          nothing_done=nothing)], True
        return [*events, WriteOutcome(command_id=w.command_id, result="retrying", detail=f"{why}; retrying")], False
    if fault in {"refused", "error"}:
        return [*events, refused(w, pd, now, landed, f"{job.generation}/{w.command_id}")], True
    return [*events, apply(w, pd, now, landed, f"{job.generation}/{w.command_id}")], True
