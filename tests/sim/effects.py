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
from tests.sim.pagerduty import PRIORITY_IDS, PagerDuty
from tests.sim.people import BY_PD_ID, BY_SLACK_ID, ON_CALL, OWNING_TEAM
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
    Status,
    WriteOutcome,
    WriteToPagerDuty,
)
from workflows.policy import ECHO_CLOCK_SKEW, MAYBE_LANDED

DEDICATED = "C0DEDIC1"  # the incident's own channel, when one is created
UNSURE = "PagerDuty did not answer whether the status update was published; it was not sent again"
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
        _apply(w, pd, now, landed, f"{job.generation}/{w.command_id}")
        return [*events, WriteOutcome(command_id=w.command_id, result="failed", detail=UNSURE)], True
    if fault in {"unavailable", "timeout_applied"}:
        if fault == "timeout_applied":
            _apply(w, pd, now, landed, f"{job.generation}/{w.command_id}")
            job.unanswered = True
        why = "PagerDuty API timed out" if fault == "timeout_applied" else "PagerDuty unavailable (503)"
        if retry:
            # The durable retries ran out before the action deadline.
            detail = f"{why}; gave up after 3 min of retries"
            # As the workflow reports it: every try answered "nothing done" (503) unless one may have landed; for an
            # acknowledge or resolve, PagerDuty's log then says whether one did.
            nothing = fault == "unavailable" and not landed
            if not nothing and w.action in {ActionKind.ACKNOWLEDGE, ActionKind.RESOLVE}:
                nothing = not _logged(w, pd)
            return [*events, WriteOutcome(command_id=w.command_id, result="failed", detail=detail,
                                          nothing_done=nothing)], True
        return [*events, WriteOutcome(command_id=w.command_id, result="retrying", detail=f"{why}; retrying")], False
    if fault in {"refused", "error"}:
        return [*events, _refused(job, w, pd, now, landed)], True
    return [*events, _apply(w, pd, now, landed, f"{job.generation}/{w.command_id}")], True


def _refused(job: InFlight, w: WriteToPagerDuty, pd: PagerDuty, now: datetime, landed: bool) -> WriteOutcome:
    """PagerDuty refuses the write, as the activity and the workflow report it."""
    refused = WriteOutcome(command_id=w.command_id, result="failed", detail="PagerDuty refused: Arguments Caused Error")
    if landed and w.action in {ActionKind.ACKNOWLEDGE, ActionKind.RESOLVE}:
        # A retry of a status change looks in PagerDuty's log first. Its own earlier attempt found there is
        # applied; none found, the refusal proves nothing landed.
        return _apply(w, pd, now, landed, f"{job.generation}/{w.command_id}") if _logged(w, pd) else refused
    if landed and w.action in {ActionKind.ESCALATE, ActionKind.REASSIGN}:
        # Its own earlier attempt found in PagerDuty's log is applied, and "already so" is answered, both before
        # any PUT; otherwise the PUT's refusal proves nothing landed.
        return _before_put(w, pd) or refused
    if landed and w.action is ActionKind.PRIORITY and pd.priority != PRIORITY_IDS.get(str(w.choice)):
        return refused  # an earlier attempt that landed would show in the priority; it does not
    # A refusal proves nothing landed only when no earlier attempt may have.
    return refused.model_copy(update={"detail": f"Arguments Caused Error {MAYBE_LANDED}"}) if landed else refused


def _logged(w: WriteToPagerDuty, pd: PagerDuty) -> bool:
    """As the activity looks: PagerDuty's log shows this person's acknowledge or resolve since the click, made
    through the REST API (a bridge's write; one made in PagerDuty's app is logged with another channel)."""
    kind = "incident.acknowledged" if w.action is ActionKind.ACKNOWLEDGE else "incident.resolved"
    since = w.issued_at - ECHO_CLOCK_SKEW if w.issued_at else None
    return any(c.kind == kind and c.agent == w.actor_pd_id and (since is None or c.at >= since)
               and c.command_id is not None for c in pd.ledger)


def _status(w: WriteToPagerDuty, pd: PagerDuty, now: datetime, landed: bool, tag: str) -> WriteOutcome | None:
    """Acknowledge or resolve as the activity does; None when the change was made now."""
    actor = BY_PD_ID[w.actor_pd_id]
    done = WriteOutcome(command_id=w.command_id, result="applied")
    target = Status.ACKNOWLEDGED if w.action is ActionKind.ACKNOWLEDGE else Status.RESOLVED
    if landed and _logged(w, pd):
        return done.model_copy(update={"snapshot": pd.snapshot(), "status_changed_at": pd.rest_status_changed_at()})
    if pd.status is Status.RESOLVED and target is Status.ACKNOWLEDGED:
        return WriteOutcome(command_id=w.command_id, result="failed",
                            detail="PagerDuty refused: Incident Already Resolved")
    if pd.status is target:
        by = BY_PD_ID.get(pd.last_status_change_by or "")
        detail = "Incident Already Acknowledged" if target is Status.ACKNOWLEDGED else "Incident Already Resolved"
        return WriteOutcome(command_id=w.command_id, result="already", detail=detail,
                            already_by=by.ref if by else None)
    pd.set_status(now, target, actor, tag)
    return None


def _apply(w: WriteToPagerDuty, pd: PagerDuty, now: datetime, landed: bool, tag: str) -> WriteOutcome:
    """The write as PagerDuty takes it, and the activity's answer."""
    actor = BY_PD_ID[w.actor_pd_id]
    done = WriteOutcome(command_id=w.command_id, result="applied")
    if w.action is ActionKind.NOTE:
        return _note(w, pd, now, landed, tag)
    if w.action is ActionKind.STATUS_UPDATE:
        return _status_update(w, pd, now, landed, tag)
    if pd.status is Status.RESOLVED and w.action in {ActionKind.REASSIGN, ActionKind.ESCALATE,
                                                      ActionKind.ADD_RESPONDER, ActionKind.SNOOZE}:
        # As the workflow reports it: the refusal of a retry says nothing of an earlier attempt that may have landed.
        return WriteOutcome(command_id=w.command_id, result="failed",
                            detail=(f"Incident Already Resolved {MAYBE_LANDED}" if landed
                                    else "PagerDuty refused: Incident Already Resolved"))
    if w.action in {ActionKind.SNOOZE, ActionKind.PRIORITY, ActionKind.ADD_RESPONDER}:
        return _control(w, pd, now, landed, tag)
    if w.action in {ActionKind.ACKNOWLEDGE, ActionKind.RESOLVE}:
        answered = _status(w, pd, now, landed, tag)
        if answered is not None:
            return answered
    elif w.action is ActionKind.REASSIGN:
        return _reassign(w, pd, now, landed, tag)
    elif w.escalation_level is not None:
        since = w.issued_at - ECHO_CLOCK_SKEW if w.issued_at else None
        if landed and any(c.kind == "incident.escalated" and c.agent == w.actor_pd_id and c.command_id is not None
                          and (since is None or c.at >= since) for c in pd.ledger):
            # As the activity does: its own earlier attempt is in PagerDuty's log; never made again.
            return done.model_copy(update={"snapshot": pd.snapshot(), "status_changed_at": pd.rest_status_changed_at()})
        already = _escalated_already(w, pd, landed)
        if already is not None:
            return already
        if pd.level != w.escalation_level:
            pd.escalate_to(now, w.escalation_level, actor, tag)
    return done.model_copy(update={"snapshot": pd.snapshot(), "status_changed_at": pd.rest_status_changed_at()})


def _before_put(w: WriteToPagerDuty, pd: PagerDuty) -> WriteOutcome | None:
    """A retried escalate or reassign as the activity answers it before its PUT: its own earlier attempt in
    PagerDuty's log (applied), or already so (escalated since the click, already assigned); else None."""
    kind = "incident.escalated" if w.action is ActionKind.ESCALATE else "incident.reassigned"
    since = w.issued_at - ECHO_CLOCK_SKEW if w.issued_at else None
    if any(c.kind == kind and c.agent == w.actor_pd_id and c.command_id is not None
           and (since is None or c.at >= since) for c in pd.ledger):
        return WriteOutcome(command_id=w.command_id, result="applied", snapshot=pd.snapshot(),
                            status_changed_at=pd.rest_status_changed_at())
    if w.action is ActionKind.ESCALATE:
        return _escalated_already(w, pd, True)
    if pd.assignees == [w.target_pd_id]:
        return WriteOutcome(command_id=w.command_id, result="already", detail="already assigned to them",
                            snapshot=pd.snapshot(), status_changed_at=pd.rest_status_changed_at())
    return None


def _reassign(w: WriteToPagerDuty, pd: PagerDuty, now: datetime, landed: bool, tag: str) -> WriteOutcome:
    """As the activity does: a retry first looks in PagerDuty's log for its own earlier attempt (this person's
    reassignment through the REST API since the click), and never makes it twice."""
    done = WriteOutcome(command_id=w.command_id, result="applied")
    since = w.issued_at - ECHO_CLOCK_SKEW if w.issued_at else None
    if not (landed and any(c.kind == "incident.reassigned" and c.agent == w.actor_pd_id and c.command_id is not None
                           and (since is None or c.at >= since) for c in pd.ledger)):
        if pd.assignees == [w.target_pd_id]:
            return WriteOutcome(command_id=w.command_id, result="already", detail="already assigned to them",
                                snapshot=pd.snapshot(), status_changed_at=pd.rest_status_changed_at())
        pd.reassign(now, BY_PD_ID[str(w.target_pd_id)], BY_PD_ID[w.actor_pd_id], tag)
    return done.model_copy(update={"snapshot": pd.snapshot(), "status_changed_at": pd.rest_status_changed_at()})


def _control(w: WriteToPagerDuty, pd: PagerDuty, now: datetime, landed: bool, tag: str) -> WriteOutcome:
    """Snooze, priority, add responder as PagerDuty and the activity take them: a retry whose earlier attempt
    landed finds its own change and makes no second one."""
    actor = BY_PD_ID[w.actor_pd_id]
    done = WriteOutcome(command_id=w.command_id, result="applied")
    kind = {ActionKind.SNOOZE: "snooze", ActionKind.PRIORITY: "incident.priority_updated",
            ActionKind.ADD_RESPONDER: "incident.responder.added"}[w.action]
    since = w.issued_at - ECHO_CLOCK_SKEW if w.issued_at else None
    if landed and any(c.kind == kind and c.agent == w.actor_pd_id and (since is None or c.at >= since)
                      and (c.command_id or "").endswith(f"/{w.command_id}") for c in pd.ledger):
        return done.model_copy(update={"snapshot": pd.snapshot(), "status_changed_at": pd.rest_status_changed_at()})
    if w.action is ActionKind.SNOOZE:
        if pd.status is not Status.ACKNOWLEDGED:
            return WriteOutcome(command_id=w.command_id, result="failed",
                                detail="PagerDuty refused: Incident must be acknowledged to be snoozed")
        pd.snooze(now, actor, tag)
    elif w.action is ActionKind.PRIORITY:
        pd.set_priority(now, PRIORITY_IDS[str(w.choice)], actor, tag)
    else:
        pd.request_responder(now, BY_PD_ID[str(w.target_pd_id)], w.note or "", actor, tag)
    return done.model_copy(update={"snapshot": pd.snapshot(), "status_changed_at": pd.rest_status_changed_at()})


def _escalated_already(w: WriteToPagerDuty, pd: PagerDuty, landed: bool) -> WriteOutcome | None:
    """As the activity does: escalated since the click by someone (or by PagerDuty) is theirs, never twice."""
    since = w.issued_at - ECHO_CLOCK_SKEW if w.issued_at else None
    moved = [c for c in pd.ledger if c.kind == "incident.escalated" and since is not None and c.at >= since]
    if not moved:
        return None
    by = BY_PD_ID.get(moved[-1].agent or "")
    return WriteOutcome(command_id=w.command_id, result="already", detail="already escalated",
                        already_by=by.ref if by else None, snapshot=pd.snapshot(),
                        status_changed_at=pd.rest_status_changed_at())


def _status_update(w: WriteToPagerDuty, pd: PagerDuty, now: datetime, landed: bool, tag: str) -> WriteOutcome:
    """As the activity: never published again after an attempt that may have been."""
    if landed:
        return WriteOutcome(command_id=w.command_id, result="failed", detail=f"{UNSURE} {MAYBE_LANDED}")
    update_id = pd.publish_status_update(now, (w.note or "").strip(), BY_PD_ID[w.actor_pd_id], tag)
    return WriteOutcome(command_id=w.command_id, result="applied", status_update_id=update_id)


def _note(w: WriteToPagerDuty, pd: PagerDuty, now: datetime, landed: bool, tag: str) -> WriteOutcome:
    """A note write: only a retry whose earlier attempt may have landed looks for its note, never a known one."""
    actor = BY_PD_ID[w.actor_pd_id]
    done = WriteOutcome(command_id=w.command_id, result="applied")
    content = (w.note or "").strip()
    since = w.issued_at - ECHO_CLOCK_SKEW if w.issued_at else None
    for note in pd.notes if landed else []:
        if note.id in w.known_note_ids:
            continue
        if (since is None or note.created_at >= since) and note.author == w.actor_pd_id and note.content == content:
            return done.model_copy(update={"note_id": note.id, "detail": "note was already there"})
    _, created = pd.add_note(now, content, actor, tag)
    return done.model_copy(update={"note_id": created.id})
