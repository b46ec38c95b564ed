"""A model of one PagerDuty incident: its fields, its ledger of changes, its webhooks and REST answers.

PagerDuty keeps its own clock (`skew` from the worker's, up to 30 s either way). Webhooks carry that clock
to the millisecond; REST's `last_status_change_at` only to the second. Every change is recorded in the
ledger with who made it and, when it came through the bridge, which command made it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from tests.sim.people import BY_PD_ID, HTML_URL, INCIDENT_ID, ON_CALL, OWNING_TEAM, Human
from workflows.models import IncidentRead, PdEvent, Ref, Snapshot, Status
from workflows.policy import STATUS_UPDATE_EVENT

STATUS_EVENT = {
    Status.ACKNOWLEDGED: "incident.acknowledged",
    Status.RESOLVED: "incident.resolved",
}
PRIORITIES = ("P1", "P2", "P3")
PRIORITY_IDS = {"PPRIO01": "P1", "PPRIO02": "P2", "PPRIO03": "P3"}  # the priority control's values


@dataclass
class Change:
    seq: int
    kind: str  # the webhook event type it produces
    agent: str | None  # PagerDuty user id; None for PagerDuty's own automation
    at: datetime  # PagerDuty's clock
    command_id: str | None = None  # set when the bridge made it
    note: str | None = None
    assignees: list[str] | None = None  # whom a reassignment assigned (PagerDuty's log entry names them)


@dataclass
class Note:
    id: str
    author: str
    content: str
    created_at: datetime


@dataclass
class PagerDuty:
    title: str
    skew: timedelta
    status: Status = Status.TRIGGERED
    assignees: list[str] = field(default_factory=lambda: [str(ON_CALL[1].pd_id)])
    priority: str | None = None
    level: int = 1
    notes: list[Note] = field(default_factory=list)
    status_updates: list[str] = field(default_factory=list)
    last_status_change_at: datetime | None = None
    last_status_change_by: str | None = None
    ledger: list[Change] = field(default_factory=list)
    outbox: list[PdEvent] = field(default_factory=list)  # webhooks sent, not yet delivered
    sent: list[PdEvent] = field(default_factory=list)  # every webhook ever sent (redeliveries)

    def clock(self, now: datetime) -> datetime:
        return now + self.skew

    def snapshot(self) -> Snapshot:
        return Snapshot(
            id=INCIDENT_ID, number=42, title=self.title, html_url=HTML_URL, status=self.status, urgency="high",
            priority=self.priority, priority_id=next((i for i, n in PRIORITY_IDS.items() if n == self.priority), None),
            service=Ref(id="PSVC001", summary="payments-api"),
            escalation_policy=Ref(id="PEP0001", summary="Payments EP"), teams=[Ref(id=OWNING_TEAM, summary="Pay")],
            assignees=[_ref(a) for a in self.assignees],
        )

    def rest_status_changed_at(self) -> datetime | None:
        at = self.last_status_change_at
        return at.replace(microsecond=0) if at else None

    def read(self) -> IncidentRead:
        return IncidentRead(snapshot=self.snapshot(), status_changed_at=self.rest_status_changed_at())

    # ---- changes ------------------------------------------------------------------------------------

    def record(self, now: datetime, kind: str, who: Human | None, command_id: str | None = None,
               note: Note | None = None, responder: Human | None = None, message: str | None = None,
               webhook: bool = True) -> Change:
        at = self.clock(now)
        if kind in {"incident.triggered", "incident.acknowledged", "incident.resolved", "incident.unacknowledged",
                    "incident.reopened"} or (kind in {"incident.reassigned", "incident.escalated"}
                                              and self.status is Status.TRIGGERED and self._retriggered):
            self.last_status_change_at = at
            self.last_status_change_by = who.pd_id if who else None
        change = Change(len(self.ledger) + 1, kind, who.pd_id if who else None, at, command_id,
                        note.content if note else None)
        self.ledger.append(change)
        if not webhook:
            return change  # a change PagerDuty sends no webhook for (a snooze)
        event = PdEvent(
            event_id=f"EV{change.seq:04d}", event_type=kind, occurred_at=at, incident_id=INCIDENT_ID,
            agent=who.ref if who else None, incident=None if note else self.snapshot(),
            note_id=note.id if note else None, note_content=note.content if note else None,
            responder=responder.ref if responder else None, responder_message=message,
        )
        self.outbox.append(event)
        self.sent.append(event)
        self._retriggered = False
        return change

    _retriggered: bool = False

    def set_status(self, now: datetime, status: Status, who: Human | None, command_id: str | None = None) -> Change:
        before, self.status = self.status, status
        if status is Status.TRIGGERED:
            kind = "incident.reopened" if before is Status.RESOLVED else "incident.unacknowledged"
        else:
            kind = STATUS_EVENT[status]
        return self.record(now, kind, who, command_id)

    def reassign(self, now: datetime, to: Human, who: Human | None, command_id: str | None = None) -> Change:
        self.assignees = [str(to.pd_id)]
        self._retrigger()
        change = self.record(now, "incident.reassigned", who, command_id)
        change.assignees = list(self.assignees)
        return change

    def escalate_to(self, now: datetime, level: int, who: Human | None, command_id: str | None = None) -> Change:
        self.level = level
        self.assignees = [str(ON_CALL[level].pd_id)]
        self._retrigger()
        return self.record(now, "incident.escalated", who, command_id)

    def set_priority(self, now: datetime, priority: str, who: Human | None, command_id: str | None = None) -> Change:
        self.priority = priority
        return self.record(now, "incident.priority_updated", who, command_id)

    def request_responder(self, now: datetime, target: Human, message: str, who: Human,
                          command_id: str | None = None) -> Change:
        return self.record(now, "incident.responder.added", who, command_id, responder=target, message=message)

    def snooze(self, now: datetime, who: Human, command_id: str | None = None) -> Change:
        return self.record(now, "snooze", who, command_id, webhook=False)

    def publish_status_update(self, now: datetime, message: str, who: Human, command_id: str | None = None) -> str:
        """A status update as `who`: its webhook carries its id and message (no incident snapshot); its id."""
        update_id = f"PSU{len(self.status_updates) + 1:03d}"
        self.status_updates.append(message)
        at = self.clock(now)
        change = Change(len(self.ledger) + 1, STATUS_UPDATE_EVENT, who.pd_id, at, command_id, message)
        self.ledger.append(change)
        event = PdEvent(event_id=f"EV{change.seq:04d}", event_type=STATUS_UPDATE_EVENT, occurred_at=at,
                        incident_id=INCIDENT_ID, agent=who.ref, status_update_id=update_id,
                        status_update_message=message)
        self.outbox.append(event)
        self.sent.append(event)
        return update_id

    def add_note(self, now: datetime, content: str, who: Human, command_id: str | None = None) -> tuple[Change, Note]:
        note = Note(f"PNOTE{len(self.notes) + 1:03d}", str(who.pd_id), content, self.clock(now))
        self.notes.append(note)
        return self.record(now, "incident.annotated", who, command_id, note), note

    def _retrigger(self) -> None:
        # A reassignment or escalation of an acknowledged incident pages again: it is triggered anew.
        if self.status is Status.ACKNOWLEDGED:
            self.status, self._retriggered = Status.TRIGGERED, True


def _ref(pd_id: str) -> Ref:
    human = BY_PD_ID.get(pd_id)
    return Ref(id=pd_id, summary=human.name if human else pd_id)
