"""PagerDuty's answer to the bridge's writes, as the simulation models them (part of `tests/sim/effects.py`).

Each mirrors `activities/pagerduty.py`: a retry (an earlier attempt may have landed) looks for its own earlier
attempt first, where PagerDuty shows one (its log for status changes, escalations and reassignments; the note
or request itself), answers "already so" before any PUT, and reports a refusal that proves nothing landed
plainly, one that does not as the workflow does (it may have gone through).
"""

from __future__ import annotations

from datetime import datetime

from tests.sim.pagerduty import PRIORITY_IDS, Change, PagerDuty
from tests.sim.people import BY_PD_ID
from workflows.models import ActionKind, Status, WriteOutcome, WriteToPagerDuty
from workflows.pd_calls import LOG_SHOWS_LANDED
from workflows.policy import ECHO_CLOCK_SKEW, MAYBE_LANDED

UNSURE = "PagerDuty did not answer whether the status update was published; it was not sent again"


def refused(w: WriteToPagerDuty, pd: PagerDuty, now: datetime, landed: bool, tag: str) -> WriteOutcome:
    """PagerDuty refuses the write, as the activity and the workflow report it."""
    if landed and w.action is ActionKind.SNOOZE and logged(w, pd):
        # As the workflow: a snooze in doubt asks PagerDuty's log, its only word that it landed.
        return WriteOutcome(command_id=w.command_id, result="applied", detail=f"refused; {LOG_SHOWS_LANDED}")
    refused = WriteOutcome(command_id=w.command_id, result="failed", detail="PagerDuty refused: Arguments Caused Error")
    if landed and w.action in {ActionKind.ACKNOWLEDGE, ActionKind.RESOLVE}:
        # A retry of a status change looks in PagerDuty's log first. Its own earlier attempt found there is
        # applied; none found, the refusal proves nothing landed.
        return apply(w, pd, now, landed, tag) if logged(w, pd) else refused
    if landed and w.action in {ActionKind.ESCALATE, ActionKind.REASSIGN}:
        # Its own earlier attempt found in PagerDuty's log is applied, and "already so" is answered, both before
        # any PUT; otherwise the PUT's refusal proves nothing landed.
        return _before_put(w, pd) or refused
    if landed and w.action is ActionKind.PRIORITY and pd.priority != PRIORITY_IDS.get(str(w.choice)):
        # An earlier attempt that landed would show in the priority, unless someone changed it since: the activity
        # judges from how the incident looks now, and the workflow says so.
        return refused.model_copy(update={"judged_from_now": True})
    # A refusal proves nothing landed only when no earlier attempt may have.
    return refused.model_copy(update={"detail": f"Arguments Caused Error {MAYBE_LANDED}"}) if landed else refused


def logged(w: WriteToPagerDuty, pd: PagerDuty) -> bool:
    """As the activity looks: PagerDuty's log shows this person's acknowledge, resolve, snooze, escalation or
    reassignment since the click,
    made through the REST API (a bridge's write; one made in PagerDuty's app is logged with another channel)."""
    kind = {ActionKind.ACKNOWLEDGE: "incident.acknowledged", ActionKind.RESOLVE: "incident.resolved",
            ActionKind.ESCALATE: "incident.escalated", ActionKind.REASSIGN: "incident.reassigned"}.get(
        w.action, "snooze")
    since = w.issued_at - ECHO_CLOCK_SKEW if w.issued_at else None
    if w.action is ActionKind.ESCALATE and w.escalation_level is not None and pd.level < w.escalation_level:
        return False  # not at the level it planned: the clicker's escalation in the log is another click's
    return any(c.kind == kind and c.agent == w.actor_pd_id and (since is None or c.at >= since)
               and c.command_id is not None and to_its_target(c, w) for c in pd.ledger)


def to_its_target(c: Change, w: WriteToPagerDuty) -> bool:
    """As the activity reads the log: a reassignment's entry names whom it assigned; one to someone else (the
    clicker reassigning back and forth) is another click's."""
    return w.action is not ActionKind.REASSIGN or c.assignees is None or c.assignees == [w.target_pd_id]


def _status(w: WriteToPagerDuty, pd: PagerDuty, now: datetime, landed: bool, tag: str) -> WriteOutcome | None:
    """Acknowledge or resolve as the activity does; None when the change was made now."""
    actor = BY_PD_ID[w.actor_pd_id]
    done = WriteOutcome(command_id=w.command_id, result="applied")
    target = Status.ACKNOWLEDGED if w.action is ActionKind.ACKNOWLEDGE else Status.RESOLVED
    if landed and logged(w, pd):
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


def apply(w: WriteToPagerDuty, pd: PagerDuty, now: datetime, landed: bool, tag: str) -> WriteOutcome:
    """The write as PagerDuty takes it, and the activity's answer."""
    done = WriteOutcome(command_id=w.command_id, result="applied")
    if w.action is ActionKind.NOTE:
        return _note(w, pd, now, landed, tag)
    if w.action is ActionKind.STATUS_UPDATE:
        return _status_update(w, pd, now, landed, tag)
    if pd.status is Status.RESOLVED and w.action in {ActionKind.REASSIGN, ActionKind.ESCALATE}:
        # As the activity: its own earlier attempt in PagerDuty's log, or already so, is answered before any PUT;
        # the PUT's refusal then proves nothing landed.
        return _before_put(w, pd, landed) or WriteOutcome(
            command_id=w.command_id, result="failed", detail="PagerDuty refused: Incident Already Resolved")
    if pd.status is Status.RESOLVED and w.action in {ActionKind.ADD_RESPONDER, ActionKind.SNOOZE}:
        if landed and w.action is ActionKind.SNOOZE and logged(w, pd):
            return WriteOutcome(command_id=w.command_id, result="applied", detail=f"refused; {LOG_SHOWS_LANDED}")
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
        return _escalate(w, pd, now, landed, tag)
    return done.model_copy(update={"snapshot": pd.snapshot(), "status_changed_at": pd.rest_status_changed_at()})


def _escalate(w: WriteToPagerDuty, pd: PagerDuty, now: datetime, landed: bool, tag: str) -> WriteOutcome:
    done = WriteOutcome(command_id=w.command_id, result="applied")
    answered = _before_put(w, pd, landed)  # its own earlier attempt in PagerDuty's log, or escalated since the click
    if answered is not None:
        return answered
    if pd.level != w.escalation_level and w.escalation_level is not None:
        pd.escalate_to(now, w.escalation_level, BY_PD_ID[w.actor_pd_id], tag)
    return done.model_copy(update={"snapshot": pd.snapshot(), "status_changed_at": pd.rest_status_changed_at()})


def _before_put(w: WriteToPagerDuty, pd: PagerDuty, landed: bool = True) -> WriteOutcome | None:
    """An escalate or reassign as the activity answers it before its PUT: a retry's own earlier attempt in
    PagerDuty's log (applied), or already so (escalated since the click, already assigned); else None."""
    kind = "incident.escalated" if w.action is ActionKind.ESCALATE else "incident.reassigned"
    since = w.issued_at - ECHO_CLOCK_SKEW if w.issued_at else None
    # An escalation's: only once the incident is at the level this click planned (the clicker's click just
    # before went to the level below).
    reached = w.action is not ActionKind.ESCALATE or w.escalation_level is None or pd.level >= w.escalation_level
    if landed and reached and any(c.kind == kind and c.agent == w.actor_pd_id and c.command_id is not None
                                  and (since is None or c.at >= since) and to_its_target(c, w) for c in pd.ledger):
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
                           and (since is None or c.at >= since) and to_its_target(c, w) for c in pd.ledger)):
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
