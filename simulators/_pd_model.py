"""In-memory PagerDuty account model and its JSON renderings (REST resources and webhook `data`)."""

from __future__ import annotations

import random
import string
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from simulators._pd_log import LogEntry

HTML_BASE = "https://sim.pagerduty.local"
_PLURAL = {
    "user": "users",
    "team": "teams",
    "service": "services",
    "escalation_policy": "escalation_policies",
    "incident": "incidents",
    "priority": "priorities",
}


def now_iso(*, ms: bool = False) -> str:
    stamp = datetime.now(UTC)
    if ms:
        return stamp.strftime("%Y-%m-%dT%H:%M:%S.") + f"{stamp.microsecond // 1000:03d}Z"
    return stamp.strftime("%Y-%m-%dT%H:%M:%SZ")


class PDError(Exception):
    """An API error with PagerDuty's status/code/message; raised by actions and rendered by the REST app."""

    def __init__(self, status: int, code: int, message: str, errors: list[str] | None = None,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(f"{status} {code} {message}")
        self.status, self.code, self.message, self.errors = status, code, message, errors
        self.headers = headers or {}

    def body(self) -> dict[str, Any]:
        error: dict[str, Any] = {"message": self.message, "code": self.code}
        if self.errors:
            error["errors"] = self.errors
        return {"error": error}


def not_found() -> PDError:
    return PDError(404, 2100, "Not Found")


@dataclass
class User:
    id: str
    name: str
    email: str
    team_ids: list[str] = field(default_factory=list)
    role: str = "user"


@dataclass
class Team:
    id: str
    name: str


@dataclass
class EscalationPolicy:
    id: str
    name: str
    levels: list[list[str]]
    team_ids: list[str]
    rule_ids: list[str]


@dataclass
class Service:
    id: str
    name: str
    escalation_policy_id: str
    team_ids: list[str]


@dataclass
class Priority:
    id: str
    name: str
    order: int


@dataclass
class Note:
    id: str
    user_id: str | None
    content: str
    created_at: str


@dataclass
class Incident:
    id: str
    number: int
    title: str
    urgency: str
    service_id: str
    escalation_policy_id: str
    team_ids: list[str]
    incident_key: str
    status: str = "triggered"
    escalation_level: int = 1
    assignments: list[tuple[str, str]] = field(default_factory=list)  # (user id, assigned at)
    acknowledgements: list[tuple[str, str]] = field(default_factory=list)  # (user id, at)
    priority_id: str | None = None
    notes: list[Note] = field(default_factory=list)
    responders: list[dict[str, Any]] = field(default_factory=list)
    created_at: str = field(default_factory=now_iso)
    last_status_change_at: str = field(default_factory=now_iso)
    last_status_change_by: str | None = None  # user id
    reopened_at: str | None = None
    resolved_at: str | None = None
    resolution: str | None = None
    assigned_via: str = "escalation_policy"
    snoozed_until: str | None = None
    log_entries: list[LogEntry] = field(default_factory=list)  # oldest first

    @property
    def assignee_ids(self) -> list[str]:
        return [uid for uid, _ in self.assignments]


class PDState:
    """Entity tables plus rendering; every public mutation in the subclass holds `self.lock`."""

    def __init__(self, api_base: str) -> None:
        self.api_base = api_base.rstrip("/")
        self.lock = threading.RLock()
        self.users: dict[str, User] = {}
        self.teams: dict[str, Team] = {}
        self.escalation_policies: dict[str, EscalationPolicy] = {}
        self.services: dict[str, Service] = {}
        self.priorities: dict[str, Priority] = {}
        self.incidents: dict[str, Incident] = {}
        # Incident ids must differ between simulator instances: they name workflows on a shared Temporal.
        self._rng = random.Random()

    def new_id(self, prefix: str = "P") -> str:
        """PagerDuty-style id: a prefix plus 6 uppercase alphanumerics, unique within this simulator."""
        taken = self.users.keys() | self.teams.keys() | self.services.keys() | self.incidents.keys()
        taken |= self.escalation_policies.keys() | self.priorities.keys()
        while True:
            candidate = prefix + "".join(self._rng.choices(string.ascii_uppercase + string.digits, k=6))
            if candidate not in taken:
                return candidate

    def incident(self, id_or_number: str) -> Incident:
        found = self.incidents.get(id_or_number)
        if found is None and id_or_number.isdigit():
            found = next((i for i in self.incidents.values() if i.number == int(id_or_number)), None)
        if found is None:
            raise not_found()
        return found

    def user(self, user_id: str) -> User:
        if user_id not in self.users:
            raise not_found()
        return self.users[user_id]

    def user_by_email(self, email: str) -> User | None:
        return next((u for u in self.users.values() if u.email.lower() == email.strip().lower()), None)

    def ref(self, kind: str, obj_id: str, summary: str) -> dict[str, Any]:
        plural = _PLURAL[kind]
        html = f"{HTML_BASE}/account/settings/incidents" if kind == "priority" else f"{HTML_BASE}/{plural}/{obj_id}"
        return {
            "id": obj_id,
            "type": f"{kind}_reference",
            "summary": summary,
            "self": f"{self.api_base}/{plural}/{obj_id}",
            "html_url": html,
        }

    def user_ref(self, user_id: str) -> dict[str, Any]:
        user = self.users.get(user_id)
        return self.ref("user", user_id, user.name if user else user_id)

    def team_ref(self, team_id: str) -> dict[str, Any]:
        team = self.teams.get(team_id)
        return self.ref("team", team_id, team.name if team else team_id)

    def service_ref(self, service_id: str) -> dict[str, Any]:
        return self.ref("service", service_id, self.services[service_id].name)

    def ep_ref(self, ep_id: str) -> dict[str, Any]:
        return self.ref("escalation_policy", ep_id, self.escalation_policies[ep_id].name)

    def incident_ref(self, inc: Incident) -> dict[str, Any]:
        return self.ref("incident", inc.id, inc.title)

    def priority_ref(self, priority_id: str | None) -> dict[str, Any] | None:
        if priority_id is None:
            return None
        return self.ref("priority", priority_id, self.priorities[priority_id].name)

    def user_resource(self, user: User, *, expand_teams: bool = False) -> dict[str, Any]:
        teams = [self.team_resource(self.teams[t]) if expand_teams else self.team_ref(t) for t in user.team_ids]
        return {
            "id": user.id,
            "type": "user",
            "name": user.name,
            "email": user.email,
            "summary": user.name,
            "self": f"{self.api_base}/users/{user.id}",
            "html_url": f"{HTML_BASE}/users/{user.id}",
            "role": user.role,
            "time_zone": "Etc/UTC",
            "teams": teams,
        }

    def team_resource(self, team: Team) -> dict[str, Any]:
        return {**self.team_ref(team.id), "type": "team", "name": team.name, "description": None}

    def service_resource(self, service: Service) -> dict[str, Any]:
        return {
            **self.service_ref(service.id),
            "type": "service",
            "name": service.name,
            "status": "active",
            "escalation_policy": self.ep_ref(service.escalation_policy_id),
            "teams": [self.team_ref(t) for t in service.team_ids],
        }

    def ep_resource(self, ep: EscalationPolicy) -> dict[str, Any]:
        rules = [
            {"id": rule_id, "escalation_delay_in_minutes": 30, "targets": [self.user_ref(u) for u in level]}
            for rule_id, level in zip(ep.rule_ids, ep.levels, strict=True)
        ]
        return {
            **self.ep_ref(ep.id),
            "type": "escalation_policy",
            "name": ep.name,
            "num_loops": 0,
            "escalation_rules": rules,
            "teams": [self.team_ref(t) for t in ep.team_ids],
        }

    def priority_resource(self, priority: Priority) -> dict[str, Any]:
        return {
            **self.ref("priority", priority.id, priority.name),
            "type": "priority",
            "name": priority.name,
            "description": "",
            "order": priority.order,
        }

    def oncalls(self, ep_ids: list[str], user_ids: list[str]) -> list[dict[str, Any]]:
        entries = []
        for ep in self.escalation_policies.values():
            if ep_ids and ep.id not in ep_ids:
                continue
            for level_no, level in enumerate(ep.levels, start=1):
                entries += [
                    {
                        "user": self.user_ref(uid),
                        "escalation_policy": self.ep_ref(ep.id),
                        "escalation_level": level_no,
                        "schedule": None,
                        "start": None,
                        "end": None,
                    }
                    for uid in level
                    if not user_ids or uid in user_ids
                ]
        return entries

    def incident_resource(self, inc: Incident) -> dict[str, Any]:
        priority = self.priority_ref(inc.priority_id)
        if priority is not None:
            priority = {**priority, "type": "priority", "name": self.priorities[inc.priority_id or ""].name}
        changed_by = self.user_ref(inc.last_status_change_by) if inc.last_status_change_by else None
        return {
            **self.incident_ref(inc),
            "type": "incident",
            "incident_number": inc.number,
            "title": inc.title,
            "description": inc.title,
            "status": inc.status,
            "urgency": inc.urgency,
            "incident_key": inc.incident_key,
            "created_at": inc.created_at,
            "updated_at": inc.last_status_change_at,
            "last_status_change_at": inc.last_status_change_at,
            "last_status_change_by": changed_by,
            "resolved_at": inc.resolved_at,
            "service": self.service_ref(inc.service_id),
            "escalation_policy": self.ep_ref(inc.escalation_policy_id),
            "teams": [self.team_ref(t) for t in inc.team_ids],
            "assignments": [{"at": at, "assignee": self.user_ref(uid)} for uid, at in inc.assignments],
            "assigned_via": inc.assigned_via,
            "acknowledgements": [{"at": at, "acknowledger": self.user_ref(uid)} for uid, at in inc.acknowledgements],
            "pending_actions": [{"type": "unacknowledge", "at": inc.snoozed_until}] if inc.snoozed_until else [],
            "priority": priority,
            "resolve_reason": None,
            "conference_bridge": getattr(self, "conference_bridges", {}).get(inc.id),
            "incident_type": {"name": "incident_default"},
            "alert_counts": {"all": 0, "triggered": 0, "resolved": 0},
            "is_mergeable": True,
            # With the responder-requests ability: who was asked to respond, by whom, when.
            "incidents_responders": [{"state": r["state"], "user": r["user"], "requester": r["requester"],
                                      "message": r["message"], "requested_at": r["requested_at"]}
                                     for r in getattr(inc, "responders", [])],
        }

    def incident_data(self, inc: Incident) -> dict[str, Any]:
        """Webhook `data` for incident-typed events: note `number` and `assignees`, unlike the REST resource."""
        return {
            "id": inc.id,
            "type": "incident",
            "self": f"{self.api_base}/incidents/{inc.id}",
            "html_url": f"{HTML_BASE}/incidents/{inc.id}",
            "number": inc.number,
            "status": inc.status,
            "incident_key": inc.incident_key,
            "created_at": inc.created_at,
            "reopened_at": inc.reopened_at,
            "title": inc.title,
            "service": self.service_ref(inc.service_id),
            "assignees": [self.user_ref(uid) for uid in inc.assignee_ids],
            "escalation_policy": self.ep_ref(inc.escalation_policy_id),
            "teams": [self.team_ref(t) for t in inc.team_ids],
            "priority": self.priority_ref(inc.priority_id),
            "urgency": inc.urgency,
            "conference_bridge": getattr(self, "conference_bridges", {}).get(inc.id),
            "resolve_reason": None,
            "incident_type": {"name": "incident_default"},
        }

    def note_resource(self, note: Note) -> dict[str, Any]:
        user = self.user_ref(note.user_id) if note.user_id else None
        return {
            "id": note.id,
            "user": user,
            "channel": {"summary": "API"},
            "content": note.content,
            "created_at": note.created_at,
        }
