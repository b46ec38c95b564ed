"""PagerDuty activities: read an incident, and apply a Slack action as the person who clicked."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field
from temporalio import activity

from activities.errors import (
    PD_ALREADY_CODES,
    BridgeError,
    EscalationExhausted,
    PagerDutyNoAnswer,
    PagerDutyNotFound,
    PagerDutyRefused,
    PagerDutyScopeMissing,
    RefusedNothingLanded,
    StatusUpdateUnsure,
)
from activities.escalation import current_level, oncall_levels
from activities.metrics import ACTIONS
from activities.pagerduty_api import PagerDutyApi, parse_time, ref, snapshot, status_changed_at
from activities.write_records import LANDED_AS, LOGGED_AS, WriteRecords
from workflows.models import ActionKind, IncidentRead, Model, WriteOutcome, WriteToPagerDuty
from workflows.policy import ECHO_CLOCK_SKEW

# What a status update's attempt leaves with Temporal (heartbeat details): sent and not yet answered, or answered.
POSTING, ANSWERED = "posting status update", "answered"


class ReadRequest(Model):
    incident_id: str
    reason: str = ""


class WriteRequest(Model):
    incident_id: str
    write: WriteToPagerDuty
    # True for the durable retries after the first attempt: only then may an earlier attempt have landed.
    is_retry: bool = False


class EscalationTarget(Model):
    level: int
    detail: str
    user_ids: list[str] = Field(default_factory=list)  # on call at that level: who the echo will name


class PagerDutyActivities:
    def __init__(self, api: PagerDutyApi) -> None:
        self._api = api
        self._records = WriteRecords(api)

    @activity.defn(name="pd_read_incident")
    async def read_incident(self, request: ReadRequest) -> IncidentRead:
        activity.logger.info("reading incident %s from PagerDuty: %s", request.incident_id, request.reason)
        try:
            data = await self._api.get_incident(request.incident_id)
        except PagerDutyNotFound as exc:
            return IncidentRead(error=str(exc))
        return IncidentRead(snapshot=snapshot(data), status_changed_at=status_changed_at(data))

    @activity.defn(name="pd_write")
    async def write(self, request: WriteRequest) -> WriteOutcome:
        kind = request.write.action.value
        try:
            outcome = await self._write(request)
        except BridgeError as exc:
            ACTIONS.labels(kind, "retrying" if exc.retryable else "refused").inc()
            raise
        ACTIONS.labels(kind, outcome.result).inc()
        return outcome

    async def _write(self, request: WriteRequest) -> WriteOutcome:
        w, incident_id = request.write, request.incident_id
        activity.logger.info("%s on incident %s as %s", w.action, incident_id, w.actor_email)
        if w.action is ActionKind.NOTE:
            return await self._note(incident_id, w, retry=request.is_retry or _attempt() > 1)
        if w.action is ActionKind.STATUS_UPDATE:
            # Only answers that say nothing was done (503, 429) are tried again: see `_status_update`.
            return await self._status_update(incident_id, w, retry=request.is_retry)
        if w.action is ActionKind.SNOOZE:
            # Snoozing again only restarts the same snooze: a retry cannot double-apply it.
            data = await self._api.snooze(incident_id, int(w.choice or 0), w.actor_email)
            return _applied(w, data)
        if w.action is ActionKind.ADD_RESPONDER:
            return await self._ask_responder(incident_id, w, retry=request.is_retry or _attempt() > 1)
        retry = request.is_retry or _attempt() > 1
        if retry and w.action in LOGGED_AS:
            if await self._records.landed(incident_id, w):
                # An earlier attempt of this click landed (its answer was lost): doing it again would be a second
                # change (an acknowledgement that timed out in between would be acknowledged twice).
                return _applied(w, await self._api.get_incident(incident_id))
            try:
                return await self._update(incident_id, w, retry=retry)
            except PagerDutyRefused as exc:
                if isinstance(exc, PagerDutyScopeMissing):
                    raise
                # PagerDuty's log shows no earlier attempt landed: this refusal is all there is to it.
                raise RefusedNothingLanded(exc.message, code=exc.code) from None
        return await self._update(incident_id, w, retry=retry)

    async def _update(self, incident_id: str, w: WriteToPagerDuty, *, retry: bool) -> WriteOutcome:
        """Acknowledge, resolve, priority, reassign, escalate: one PUT of the incident, unless not needed."""
        if w.action is ActionKind.ACKNOWLEDGE:
            fields: dict[str, Any] = {"status": "acknowledged"}
        elif w.action is ActionKind.RESOLVE:
            fields = {"status": "resolved"}
        elif w.action is ActionKind.PRIORITY:
            fields = {"priority": {"id": w.choice, "type": "priority_reference"}}
        elif w.action is ActionKind.REASSIGN:
            current = await self._api.get_incident(incident_id)
            if retry and await self._records.landed(incident_id, w, "assign_log_entry"):
                # An earlier attempt of this click landed (PagerDuty's log shows the acting person's reassignment
                # through the REST API since the click): never again, even if someone reassigned since.
                return _applied(w, current)
            if [(a.get("assignee") or {}).get("id") for a in current.get("assignments") or []] == [w.target_pd_id]:
                # Nothing to change, and not by this click: say so rather than claim a reassignment it never made.
                return WriteOutcome(command_id=w.command_id, result="already",
                                    detail="already assigned to them", snapshot=snapshot(current),
                                    status_changed_at=status_changed_at(current))
            fields = {"assignments": [{"assignee": {"id": w.target_pd_id, "type": "user_reference"}}]}
        else:
            landed = retry and await self._records.landed(incident_id, w, "escalate_log_entry")
            if landed and await self._records.reached(incident_id, w):
                # An earlier attempt of this click landed (PagerDuty's log, through the REST API): never again,
                # which would move the incident back to this level if someone escalated it further since.
                return _applied(w, await self._api.get_incident(incident_id))
            already = await self._escalated_already(incident_id, w)
            if already is not None:
                return already
            fields = {"escalation_level": w.escalation_level}
        try:
            data = await self._api.update_incident(incident_id, fields, w.actor_email)
        except PagerDutyRefused as exc:
            return await self._refused(incident_id, w, exc, retry=retry)
        return _applied(w, data)

    async def _refused(self, incident_id: str, w: WriteToPagerDuty, exc: PagerDutyRefused, *,
                       retry: bool) -> WriteOutcome:
        """PagerDuty refused the PUT: "already so" is answered; anything else is raised, as a refusal that proves
        nothing landed where the incident shows it (a resent priority that is not the incident's)."""
        if exc.code in PD_ALREADY_CODES and _already_matches(w.action, int(exc.code or 0)):
            return await self._already(incident_id, w, PD_ALREADY_CODES[exc.code], retry=retry)
        if retry and w.action in {ActionKind.ESCALATE, ActionKind.REASSIGN} and not isinstance(
                exc, PagerDutyScopeMissing):
            # PagerDuty's log, read just before this PUT, showed no earlier attempt of this click.
            raise RefusedNothingLanded(exc.message, code=exc.code) from None
        if retry and w.action is ActionKind.PRIORITY and not isinstance(exc, PagerDutyScopeMissing):
            # An earlier attempt that landed would show in the incident's priority (a change since would have its
            # own webhook): when it does not, this refusal is all there is to it.
            current = ((await self._api.get_incident(incident_id)).get("priority") or {}).get("id")
            if current != w.choice:
                raise RefusedNothingLanded(exc.message, code=exc.code) from None
        raise exc

    async def _ask_responder(self, incident_id: str, w: WriteToPagerDuty, *, retry: bool) -> WriteOutcome:
        if retry and await self._records.responder_asked(incident_id, w):
            # An earlier attempt of this click asked them already (its answer was lost): not twice.
            return WriteOutcome(command_id=w.command_id, result="applied", detail="responder already asked")
        await self._api.request_responder(incident_id, w.actor_pd_id, w.target_pd_id or "", w.note or "",
                                          w.actor_email)
        return WriteOutcome(command_id=w.command_id, result="applied")

    async def _escalated_already(self, incident_id: str, w: WriteToPagerDuty) -> WriteOutcome | None:
        """"Already" when someone (the clicker too, in PagerDuty, or PagerDuty itself) escalated since the click.

        A second step would climb twice, and the escalation is theirs, not this click's. (A retry whose own
        earlier attempt landed was answered before this, from PagerDuty's log.)
        """
        moved = await self._records.escalated_since_click(incident_id, w)
        if moved is None:
            return None
        data = await self._api.get_incident(incident_id)
        return WriteOutcome(command_id=w.command_id, result="already", detail="already escalated",
                            already_by=moved if moved.id else None, snapshot=snapshot(data),
                            status_changed_at=status_changed_at(data))

    async def _already(self, incident_id: str, w: WriteToPagerDuty, detail: str, *, retry: bool) -> WriteOutcome:
        """PagerDuty says it is already so: whose change that was, as PagerDuty recorded it.

        When an earlier attempt of this click landed and its answer was lost (this is a retry, the change is
        the acting person's, made after the click), the change is theirs: applied. Otherwise it was already
        done, by whoever PagerDuty names (the clicker too, when they did it in PagerDuty themself).
        """
        data = await self._api.get_incident(incident_id)
        by = ref(data.get("last_status_change_by"))
        changed = status_changed_at(data)
        ours = (retry and by is not None and by.id == w.actor_pd_id and changed is not None
                and (w.issued_at is None or changed >= (w.issued_at - ECHO_CLOCK_SKEW).replace(microsecond=0))
                and await self._records.landed(incident_id, w))
        result: Literal["applied", "already"] = "applied" if ours else "already"
        return WriteOutcome(command_id=w.command_id, result=result, detail=detail, already_by=by,
                            snapshot=snapshot(data), status_changed_at=status_changed_at(data))

    async def _note(self, incident_id: str, w: WriteToPagerDuty, *, retry: bool) -> WriteOutcome:
        content = (w.note or "").strip()
        if retry:
            # An earlier attempt of this click may have landed with its answer lost: take that note, never
            # one the bridge knows belongs to another click. A first attempt always writes (a deliberate
            # repeat of the same text is a new note).
            known = set(w.known_note_ids)
            since = w.issued_at - ECHO_CLOCK_SKEW if w.issued_at else None
            for note in await self._api.list_notes(incident_id):
                author = (note.get("user") or {}).get("id")
                written = parse_time(note.get("created_at"))
                if str(note.get("id")) in known or (since and written and written < since):
                    continue
                if author == w.actor_pd_id and str(note.get("content", "")).strip() == content:
                    return WriteOutcome(command_id=w.command_id, result="applied", note_id=str(note.get("id")),
                                        detail="note was already there")
        created = await self._api.create_note(incident_id, content, w.actor_email)
        return WriteOutcome(command_id=w.command_id, result="applied", note_id=str(created.get("id") or ""))

    async def _status_update(self, incident_id: str, w: WriteToPagerDuty, *, retry: bool) -> WriteOutcome:
        """Publish it once. PagerDuty lists no status updates to look in, so a try after one whose answer was
        lost (it may have been published, and its subscribers notified) is not made: the click is reported
        with that doubt, and the update's webhook, should it come, confirms it."""
        unsure = ("PagerDuty did not answer whether the status update was published ({}); it was not sent again, "
                  "so that nobody is notified twice: check the incident in PagerDuty")
        if retry:
            raise StatusUpdateUnsure(unsure.format("an earlier attempt got no answer"))
        if activity.in_activity() and POSTING in activity.info().heartbeat_details:
            # The attempt before this one sent it and never heard back (its worker stopped mid-call).
            raise StatusUpdateUnsure(unsure.format("an earlier attempt stopped while publishing it"))
        if activity.in_activity():
            activity.heartbeat(POSTING)  # kept by Temporal with this attempt, should it never finish
        try:
            created = await self._api.create_status_update(incident_id, (w.note or "").strip(), w.actor_email)
        except PagerDutyNoAnswer as exc:
            raise StatusUpdateUnsure(unsure.format(exc.message)) from None
        except BridgeError:
            if activity.in_activity():
                activity.heartbeat(ANSWERED)  # PagerDuty answered (503, 429): nothing was published
            raise
        return WriteOutcome(command_id=w.command_id, result="applied",
                            status_update_id=str(created.get("id") or "") or None)

    @activity.defn(name="pd_write_landed")
    async def write_landed(self, request: WriteRequest) -> bool:
        """Whether PagerDuty's log shows this acknowledge, resolve, snooze, escalation or reassignment by the acting
        person through the REST API since the click (an escalation: at the level it planned): asked once a write
        gave up without knowing (its last attempts got no answer)."""
        w = request.write
        landed = await self._records.landed(request.incident_id, w, LANDED_AS[w.action])
        return landed and (w.action is not ActionKind.ESCALATE or await self._records.reached(request.incident_id, w))

    @activity.defn(name="pd_escalation_target")
    async def escalation_target(self, request: ReadRequest) -> EscalationTarget:
        """The level to escalate to, decided once per click so that a retried write cannot climb twice.

        PagerDuty does not return the current level: it is derived from the incident's log entries
        (see `activities.escalation`), and the new level is exactly one above it.
        """
        incident = await self._api.get_incident(request.incident_id)
        policy_id = (incident.get("escalation_policy") or {}).get("id")
        if not policy_id:
            raise PagerDutyRefused("the incident has no escalation policy to escalate along")
        policy = await self._api.get_escalation_policy(policy_id)
        rules = policy.get("escalation_rules") or []
        oncall = oncall_levels(await self._api.list_oncalls(policy_id))
        current = current_level(await self._api.list_log_entries(request.incident_id), oncall, len(rules))
        name = policy.get("name") or policy.get("summary") or policy_id
        if current >= len(rules):
            raise EscalationExhausted(
                f"already at the last level ({current} of {len(rules)}) of escalation policy {name}; "
                "nobody further to escalate to"
            )
        return EscalationTarget(level=current + 1, detail=f"level {current + 1} of {len(rules)} of {name}",
                                user_ids=sorted(oncall.get(current + 1, set())))


def _applied(w: WriteToPagerDuty, data: dict[str, Any]) -> WriteOutcome:
    if not data:
        return WriteOutcome(command_id=w.command_id, result="applied")
    return WriteOutcome(command_id=w.command_id, result="applied", snapshot=snapshot(data),
                        status_changed_at=status_changed_at(data))


def _attempt() -> int:
    return activity.info().attempt if activity.in_activity() else 1


def _already_matches(action: ActionKind, code: int) -> bool:
    return (action is ActionKind.RESOLVE and code == 1001) or (action is ActionKind.ACKNOWLEDGE and code == 1002)
