"""Typed values that cross the workflow boundary: inputs, events, effects and the incident state.

Everything here is a pydantic model so Temporal's pydantic data converter can carry it, and nothing here
does I/O, so the module is safe to import inside the workflow sandbox.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import Field

from workflows.base import Model, When
from workflows.channel_models import (
    ArchiveChannel,
    ChannelArchived,
    ChannelCreated,
    ChannelInvited,
    ChannelPolicy,
    CreateChannel,
    Dedicated,
    InviteToChannel,
    PostSummary,
    SummaryPosted,
)

__all__ = ["ChannelPolicy", "Dedicated", "Model", "When"]


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


# ---- events: everything the reducer reacts to ------------------------------------------------------


class PdEvent(Model):
    """One PagerDuty v3 webhook about an incident, parsed at the edge."""

    kind: Literal["pd_event"] = "pd_event"
    event_id: str
    event_type: str
    occurred_at: When
    incident_id: str
    agent: Ref | None = None
    incident: Snapshot | None = None
    note_id: str | None = None
    note_content: str | None = None
    responder: Ref | None = None
    responder_message: str | None = None
    incident_key: str | None = None  # incident.triggered: `slack-…` when `/pd trigger` opened it


class SlackAction(Model):
    """A control used in Slack: a button, the reassign select, or the note modal's submission."""

    kind: Literal["slack_action"] = "slack_action"
    key: str
    action: ActionKind
    incident_id: str
    slack_user: str
    channel: str | None = None
    message_ts: str | None = None
    target_slack_user: str | None = None
    note: str | None = None
    # A menu's choice (snooze seconds, priority id) and the text Slack showed for it.
    choice: str | None = None
    choice_label: str | None = None


class IncidentRead(Model):
    """The result of reading the incident from PagerDuty, or why it could not be read."""

    kind: Literal["incident_read"] = "incident_read"
    read_no: int = 0
    snapshot: Snapshot | None = None
    status_changed_at: When | None = None
    error: str | None = None


class Person(Model):
    pd_id: str
    email: str
    name: str


class ActorResolved(Model):
    """Identity and authorization facts gathered for a command, for the reducer to decide on."""

    kind: Literal["actor_resolved"] = "actor_resolved"
    command_id: str
    actor: Person | None = None
    target: Person | None = None
    actor_team_ids: list[str] = Field(default_factory=list)
    incident_team_ids: list[str] = Field(default_factory=list)
    is_admin: bool = False
    allow_without_team: bool = True
    error: str | None = None


class WriteOutcome(Model):
    """How a PagerDuty write went: applied, already so, still retrying, or failed for good."""

    kind: Literal["write_outcome"] = "write_outcome"
    command_id: str
    result: Literal["applied", "already", "retrying", "failed"]
    detail: str = ""
    snapshot: Snapshot | None = None
    status_changed_at: When | None = None
    note_id: str | None = None
    # On "already": who PagerDuty says made the change (its `last_status_change_by`), when known.
    already_by: Ref | None = None


class EscalationPlanned(Model):
    """The level a click escalates to, and who is on call there (the echo must name them)."""

    kind: Literal["escalation_planned"] = "escalation_planned"
    command_id: str
    level: int
    user_ids: list[str] = Field(default_factory=list)


class MessagePosted(Model):
    kind: Literal["message_posted"] = "message_posted"
    channel: str
    ts: str
    dedicated: bool = False  # the incident message in its dedicated channel


class RenderFailed(Model):
    kind: Literal["render_failed"] = "render_failed"
    detail: str
    message_gone: bool = False  # the message was deleted in Slack: the next render posts a new one
    dedicated: bool = False


class RenderDone(Model):
    """Slack shows the current view of the message."""

    kind: Literal["render_done"] = "render_done"


class Resumed(Model):
    """A new run (after continue-as-new) took over: work the old run had in flight is asked for again."""

    kind: Literal["resumed"] = "resumed"


class Unexpected(Model):
    """The workflow hit an error it did not expect while handling an event; recorded, then re-read."""

    kind: Literal["unexpected"] = "unexpected"
    detail: str


class RepliesPosted(Model):
    kind: Literal["replies_posted"] = "replies_posted"
    upto_seq: int


class Tick(Model):
    """Time passed: deadlines (confirmation, linger, reconcile) are checked against `now`."""

    kind: Literal["tick"] = "tick"


Event = Annotated[
    PdEvent
    | SlackAction
    | IncidentRead
    | ActorResolved
    | WriteOutcome
    | EscalationPlanned
    | MessagePosted
    | RenderFailed
    | RenderDone
    | Resumed
    | Unexpected
    | RepliesPosted
    | Tick
    | ChannelCreated
    | ChannelInvited
    | SummaryPosted
    | ChannelArchived,
    Field(discriminator="kind"),
]


# ---- effects: what the reducer asks the workflow to do ---------------------------------------------


class ReadIncident(Model):
    kind: Literal["read_incident"] = "read_incident"
    reason: str
    read_no: int = 0  # comes back on the IncidentRead: tells a read sent after a change from one before


class ResolveActor(Model):
    kind: Literal["resolve_actor"] = "resolve_actor"
    command_id: str
    slack_user: str
    target_slack_user: str | None = None


class WriteToPagerDuty(Model):
    kind: Literal["write"] = "write"
    command_id: str
    action: ActionKind
    actor_email: str
    actor_pd_id: str
    target_pd_id: str | None = None
    note: str | None = None
    choice: str | None = None
    assignee_ids: list[str] = Field(default_factory=list)
    issued_at: datetime | None = None
    escalation_level: int | None = None
    # Asked for again after a new run took over: an earlier attempt may have landed in PagerDuty.
    may_have_landed: bool = False
    # Notes the bridge already knows (other clicks' notes, notes seen in webhooks): a retried note
    # write never takes one of these for its own.
    known_note_ids: list[str] = Field(default_factory=list)


class TellUser(Model):
    """A message only the acting person sees (ephemeral)."""

    kind: Literal["tell_user"] = "tell_user"
    channel: str
    slack_user: str
    text: str
    action: ActionKind | None = None
    outcome: str = ""  # for the actions metric: not_needed, refused_identity, refused_authorization, failed


Effect = Annotated[
    ReadIncident | ResolveActor | WriteToPagerDuty | TellUser | CreateChannel | InviteToChannel | PostSummary
    | ArchiveChannel,
    Field(discriminator="kind"),
]


# ---- state ------------------------------------------------------------------------------------------


class CommandPhase(StrEnum):
    RESOLVING = "resolving"  # identity / authorization being checked
    SENDING = "sending"  # write to PagerDuty in flight
    RETRYING = "retrying"  # PagerDuty unavailable, retrying until the action deadline
    APPLIED = "applied"  # PagerDuty accepted the write; its webhook may still come
    FAILED = "failed"
    REFUSED = "refused"


SETTLED_PHASES = {CommandPhase.APPLIED, CommandPhase.FAILED, CommandPhase.REFUSED}


class Command(Model):
    """A Slack action on its way to PagerDuty (DESIGN §2 'pending command')."""

    id: str
    action: ActionKind
    slack_user: str
    channel: str | None = None
    issued_at: datetime
    phase: CommandPhase = CommandPhase.RESOLVING
    actor: Person | None = None
    target: Person | None = None
    target_slack_user: str | None = None
    note: str | None = None
    choice: str | None = None
    choice_label: str | None = None
    detail: str = ""
    settled_at: datetime | None = None
    # PagerDuty's webhook for this command arrived (each command has at most one echo).
    echo_seen: bool = False
    # The bridge stopped waiting for the echo (PagerDuty showed the change in a read, answered "already",
    # or the confirmation deadline passed). A late echo is still this command's, never an outside change.
    confirmed: bool = False
    # PagerDuty answered that the change was already made, not by this click; `already_by` is who made it
    # there, when PagerDuty says.
    found_done: bool = False
    already_by: Ref | None = None
    note_id: str | None = None
    escalation_level: int | None = None
    expected_assignee_ids: list[str] = Field(default_factory=list)
    # A webhook that looks like this click's echo but came before PagerDuty answered the write: the same
    # person may have done the same in PagerDuty just before clicking. The write's answer decides.
    held_echo: PdEvent | None = None


class Reply(Model):
    """One thread reply; `seq` orders them and tells which were posted.

    `text` is the bridge's template; `people` and `texts` (typed text) fill it (see workflows/slack_text.py).
    """

    seq: int
    text: str
    people: list[Ref] = Field(default_factory=list)
    texts: list[str] = Field(default_factory=list)
    to_service: bool = False  # for the service channel's thread even while the incident has its own channel


class Seen(Model):
    """An additive change (a note, a responder request) already shown, by its own key."""

    key: str
    at: datetime


class AuditEntry(Model):
    at: datetime
    event_id: str
    note: str


class IncidentState(Model):
    incident_id: str
    timing: Timing = Field(default_factory=Timing)
    channels: ChannelPolicy = Field(default_factory=ChannelPolicy)
    dedicated: Dedicated = Field(default_factory=Dedicated)
    known: bool = False
    saw_trigger: bool = False
    incident: Snapshot | None = None
    status_changed_at: datetime | None = None
    # Descriptive fields (assignees, priority, title…) follow the newest information: `details_at` is
    # PagerDuty's time of the webhook they came from, `details_read_at` the worker's time of the last
    # read (or write answer) they came from.
    details_at: datetime | None = None
    details_read_at: datetime | None = None
    acted_by: Ref | None = None
    seen_event_ids: list[str] = Field(default_factory=list)
    # PagerDuty's time of each of those events (same order), and the newest time among those trimmed away:
    # an event at or before `event_floor` not in the list is taken for a redelivery of a forgotten one.
    seen_event_at: list[datetime] = Field(default_factory=list)
    event_floor: datetime | None = None
    # Notes and responder requests shown, by note id or request key; older than `additive_floor` were
    # shown too (the list is bounded, the floor remembers what was trimmed).
    shown_additive: list[Seen] = Field(default_factory=list)
    additive_floor: datetime | None = None
    seen_action_keys: list[str] = Field(default_factory=list)
    commands: list[Command] = Field(default_factory=list)
    next_command_no: int = 1
    replies: list[Reply] = Field(default_factory=list)
    replies_posted_seq: int = 0
    replies_dropped: int = 0
    next_reply_seq: int = 1
    channel: str | None = None
    ts: str | None = None
    render_error: str | None = None
    read_in_flight: bool = False
    read_error: str | None = None
    read_failures: int = 0
    read_failed_at: datetime | None = None
    read_again: str | None = None  # why another read follows the one in flight
    tied: PdEvent | None = None  # a status webhook tied with the last change, waiting for PagerDuty's answer
    reads_issued: int = 0
    status_read_mark: int = 0  # reads_issued when a webhook last set the status
    last_read_at: datetime | None = None
    resolved_seen_at: datetime | None = None
    # A snooze made from Slack: who (Slack user) and until when, so its end is explained in the thread.
    snoozed_by: str | None = None
    snoozed_until: datetime | None = None
    audit: list[AuditEntry] = Field(default_factory=list)
    finished: bool = False

    @property
    def status(self) -> Status | None:
        return self.incident.status if self.incident else None

    def pending_commands(self) -> list[Command]:
        return [c for c in self.commands if c.phase not in SETTLED_PHASES]


class WorkflowInput(Model):
    incident_id: str
    timing: Timing = Field(default_factory=Timing)
    channels: ChannelPolicy = Field(default_factory=ChannelPolicy)
    state: IncidentState | None = None
    inbox: list[Event] = Field(default_factory=list)
    untold: list[TellUser] = Field(default_factory=list)  # private answers still to deliver
