"""Small state changes shared by the reducer's handlers (see the rules in `workflows/state.py`)."""

from __future__ import annotations

from datetime import datetime, timedelta

from workflows.models import (
    AuditEntry,
    Command,
    CommandPhase,
    Effect,
    IncidentState,
    ReadIncident,
    Reply,
    Seen,
    Snapshot,
    Status,
)
from workflows.policy import ECHO_CLOCK_SKEW
from workflows.slack_text import Line

# Replies wait in state only while the Slack message cannot be posted; past this many the oldest go.
MAX_WAITING_REPLIES = 100


def reply(state: IncidentState, line: Line, to_service: bool = False) -> None:
    """A thread reply: in the dedicated channel's thread while there is one, unless `to_service`."""
    state.replies.append(Reply(seq=state.next_reply_seq, text=line.template, people=line.people, texts=line.texts,
                               to_service=to_service))
    state.next_reply_seq += 1
    if len(state.replies) > MAX_WAITING_REPLIES:
        state.replies.pop(0)
        state.replies_dropped += 1


def audit(state: IncidentState, now: datetime, event_id: str, note: str) -> None:
    state.audit.append(AuditEntry(at=now, event_id=event_id, note=note))


def request_read(state: IncidentState, reason: str, effects: list[Effect], after: bool = False) -> None:
    """Ask PagerDuty how the incident is now. With `after`, the answer must come from a read sent after
    this moment (a doubt about order): a read already in flight is followed by another one."""
    if state.read_in_flight:
        if after:
            state.read_again = state.read_again or reason
        return
    state.read_in_flight = True
    state.reads_issued += 1
    seen = [*state.seen_event_at, *([state.event_floor] if state.event_floor else [])]
    state.read_sees_at = max(seen) if seen else None
    effects.append(ReadIncident(reason=reason, read_no=state.reads_issued))


def find_command(state: IncidentState, command_id: str) -> Command | None:
    return next((c for c in state.commands if c.id == command_id), None)


def settle(command: Command, phase: CommandPhase, now: datetime, detail: str = "") -> None:
    command.phase, command.settled_at = phase, now
    if detail:
        command.detail = detail


def apply_status(state: IncidentState, status: Status, at: datetime | None, now: datetime, effects: list[Effect],
                 whole_seconds: bool = False, read_no: int = 0) -> bool:
    """Apply a status change unless a newer one was already applied; False when stale or undecidable.

    Webhooks time changes to the millisecond; the REST API's `last_status_change_at` only to the second.
    A REST time (`whole_seconds`) is stale when its second is before the last change's second; in the same
    second with a different status nobody can tell which came last, so PagerDuty is asked again, unless
    the read (`read_no`) was sent after that change was applied: then it is PagerDuty now. A REST time
    never moves the last change time backwards.
    """
    last = state.status_changed_at
    after_last = read_no > state.status_read_mark
    if at is not None and last is not None:
        if at < (last.replace(microsecond=0) if whole_seconds else last):
            return False
        if whole_seconds and at <= last and status is not state.status and not after_last:
            request_read(state, f"PagerDuty answered {status} for the same second as the last change "
                         f"({state.status})", effects, after=True)
            return False
        at = max(at, last) if whole_seconds else at
    if state.incident is not None:
        state.incident.status = status
    if at is not None:
        state.status_changed_at = at
    if not whole_seconds:
        state.status_read_mark = state.reads_issued
        state.status_unnamed = False
    # The linger clock runs on the worker's time, from when the bridge first saw the resolution.
    if status is Status.RESOLVED:
        state.resolved_seen_at = state.resolved_seen_at or now
    else:
        state.resolved_seen_at = None
    return True


def _details(snap: Snapshot) -> Snapshot:
    return snap.model_copy(update={"status": Status.TRIGGERED})


def take_details(state: IncidentState, snap: Snapshot, webhook_at: datetime | None, now: datetime,
                 effects: list[Effect], read_no: int = 0, careful: bool = True, joined: bool = False,
                 dated: bool = False) -> str:
    """Take a snapshot's descriptive fields (not its status) when they are the newest the bridge has.

    `webhook_at` is the webhook's `occurred_at` (PagerDuty's clock); None for a read or a write's answer,
    which show PagerDuty as it is now. A read (`read_no`) sent before newer details were taken (from a webhook
    or a write's answer) may show PagerDuty from before them: when it disagrees (and `careful`, for runs that
    started with this rule), PagerDuty is read again rather than going back. Webhooks: `_webhook_details`.
    Returns "taken", "stale", "repeat" (what was applied already) or "unsure".
    """
    status = state.incident.status if state.incident else snap.status
    if webhook_at is None:
        if (careful and read_no and read_no <= state.details_mark and state.incident is not None
                and _details(snap) != _details(state.incident)):
            request_read(state, "a read sent before newer details came disagrees with them", effects, after=True)
            return "unsure"
        state.incident = snap.model_copy(update={"status": status})
        state.details_read_at = now
        if not read_no:
            state.details_mark = state.reads_issued  # a write's answer: PagerDuty now
        return "taken"
    if state.incident is not None:
        judged = _webhook_details(state, snap, webhook_at, effects, joined, dated)
        if judged is not None:
            return judged
    state.incident = snap.model_copy(update={"status": status})
    state.details_at = webhook_at
    state.details_status = snap.status
    state.details_mark = state.reads_issued
    return "taken"


def _webhook_details(state: IncidentState, snap: Snapshot, webhook_at: datetime, effects: list[Effect],
                     joined: bool, dated: bool) -> str | None:
    """A webhook's snapshot against what is shown: None when it is to be taken. One older than the newest
    webhook applied is stale. One that may be older than the last read (the clocks differ by up to
    ECHO_CLOCK_SKEW) is not trusted: when it disagrees, PagerDuty is read again. `joined` (for runs that started
    with that rule): a repeat of what is shown counts as newer details too. `dated` (likewise): one that may
    predate the last read but agrees with it still dates what is shown."""
    assert state.incident is not None
    same = _details(snap) == _details(state.incident)
    if state.details_at is not None and webhook_at == state.details_at:
        if same:
            if joined:
                # It confirms what is shown, from the millisecond of snapshots that disagreed: a read sent
                # before it that disagrees may show PagerDuty from before it, and is read again.
                state.details_mark = state.reads_issued
            return "repeat"
        # Two different snapshots from the same millisecond: which is newer is PagerDuty's to say.
        request_read(state, "two snapshots with the same timestamp disagree", effects, after=True)
        return "unsure"
    if state.details_at is not None and webhook_at < state.details_at:
        return "stale"
    if state.details_read_at is None or webhook_at > state.details_read_at + ECHO_CLOCK_SKEW:
        return None
    if not same:
        request_read(state, "a webhook's snapshot may be older than the last read and disagrees", effects,
                     after=True)
        return "unsure"
    if dated:
        # What is shown is PagerDuty's as of this webhook too: a status change no newer than it, while it
        # showed another status, is then PagerDuty's to settle (see `workflows/webhooks.py`).
        state.details_at, state.details_status = webhook_at, snap.status
    if joined:
        # It agrees with what is shown: a read still out that disagrees may predate it, and is read again.
        state.details_mark = state.reads_issued
    return "unsure"


def merge_snapshot(state: IncidentState, snap: Snapshot, status_at: datetime | None, now: datetime,
                   effects: list[Effect], read_no: int = 0, careful: bool = True) -> bool:
    """Take a read's (or a write answer's) snapshot; its status only if not older than ours."""
    take_details(state, snap, None, now, effects, read_no=read_no, careful=careful)
    state.known = True
    return apply_status(state, snap.status, status_at, now, effects, whole_seconds=True, read_no=read_no)


def remember_additive(state: IncidentState, key: str, at: datetime) -> bool:
    """Record an additive change as shown; False when it was shown already (or is older than the floor)."""
    if any(seen.key == key for seen in state.shown_additive):
        return False
    if state.additive_floor is not None and at <= state.additive_floor:
        return False
    state.shown_additive.append(Seen(key=key, at=at))
    return True


def trim_additive(state: IncidentState, keep: int) -> None:
    if len(state.shown_additive) <= keep:
        return
    dropped = state.shown_additive[:-keep]
    del state.shown_additive[:-keep]
    newest = max(seen.at for seen in dropped)
    state.additive_floor = max(newest, state.additive_floor) if state.additive_floor else newest


def read_retry_at(state: IncidentState) -> datetime | None:
    """When a failed read is tried again: 30 s, doubling, at most the reconcile interval."""
    if state.read_failed_at is None or state.read_in_flight:
        return None
    delay = min(30 * 2 ** min(state.read_failures - 1, 10), state.timing.reconcile_interval_seconds)
    return state.read_failed_at + timedelta(seconds=max(delay, 1))
