"""PagerDuty's basic shapes as the bridge uses them: statuses, actions, references, the incident snapshot."""

from __future__ import annotations

from enum import StrEnum

from pydantic import Field

from workflows.base import Model


class Status(StrEnum):
    TRIGGERED = "triggered"
    ACKNOWLEDGED = "acknowledged"
    RESOLVED = "resolved"


class ActionKind(StrEnum):
    ACKNOWLEDGE = "acknowledge"
    RESOLVE = "resolve"
    ESCALATE = "escalate"
    REASSIGN = "reassign"
    NOTE = "note"
    STATUS_UPDATE = "status_update"  # a PagerDuty status update (POST /incidents/{id}/status_updates)
    SNOOZE = "snooze"
    PRIORITY = "priority"
    ADD_RESPONDER = "add_responder"
    CREATE_CHANNEL = "create_channel"  # Slack only: the incident's dedicated channel


class Ref(Model):
    """A PagerDuty reference (user, service, team, escalation policy) as webhooks carry it."""

    id: str
    summary: str = ""


class Timing(Model):
    action_deadline_seconds: int = 180
    confirmation_deadline_seconds: int = 120
    linger_after_resolve_seconds: int = 86400
    reconcile_interval_seconds: int = 900


class Snapshot(Model):
    """The incident as PagerDuty reports it (webhook data or a REST read)."""

    id: str
    number: int | None = None
    title: str = ""
    html_url: str = ""
    status: Status = Status.TRIGGERED
    urgency: str = ""
    priority: str | None = None
    priority_id: str | None = None
    service: Ref | None = None
    escalation_policy: Ref | None = None
    teams: list[Ref] = Field(default_factory=list)
    assignees: list[Ref] = Field(default_factory=list)
