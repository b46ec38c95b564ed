"""The incident's state (what `reduce` keeps) and the workflow's input."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import Field

from workflows.base import Model
from workflows.channel_models import ChannelPolicy, Dedicated
from workflows.dm_models import DirectMessage
from workflows.events import Event, PdEvent, Person, TellUser
from workflows.incident_types import ActionKind, Ref, Snapshot, Status, Timing

# ---- state ------------------------------------------------------------------------------------------


class CommandPhase(StrEnum):
    RESOLVING = "resolving"  # identity / authorization being checked
    SENDING = "sending"  # write to PagerDuty in flight
    RETRYING = "retrying"  # PagerDuty unavailable, retrying until the action deadline
    APPLIED = "applied"  # PagerDuty accepted the write; its webhook may still come
    FAILED = "failed"
    REFUSED = "refused"


SETTLED_PHASES = {CommandPhase.APPLIED, CommandPhase.FAILED, CommandPhase.REFUSED}


class Shown(Model):
    """When what the message shows last changed: its status, and its details from a webhook."""

    status_at: datetime | None = None
    details_at: datetime | None = None


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
    response_url: str | None = None  # of the click or command: its outcomes reach the person there first
    detail: str = ""
    settled_at: datetime | None = None
    nothing_done: bool = False  # failed with PagerDuty's own "nothing done": its write cannot have landed
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
    status_update_id: str | None = None  # the status update it published, once PagerDuty answered
    escalation_level: int | None = None
    expected_assignee_ids: list[str] = Field(default_factory=list)
    # A webhook that looks like this click's echo but came before PagerDuty answered the write: the same
    # person may have done the same in PagerDuty just before clicking. The write's answer decides.
    held_echo: PdEvent | None = None
    # What the message showed when PagerDuty accepted this acknowledge or resolve without the message showing it:
    # until it shows something newer, a repeat of the click is answered at once (workflows/commands.py).
    shown_when_applied: Shown | None = None


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
    # The status that webhook's snapshot showed: a status webhook no newer than it that disagrees with it
    # is a question only PagerDuty can settle.
    details_status: Status | None = None
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
    # The latest lines posted in the service channel's thread before the incident had a channel of its own:
    # the timeline so far, posted again in the new channel's thread (bounded, oldest dropped).
    shown_replies: list[Reply] = Field(default_factory=list)
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
    details_mark: int = 0  # reads_issued when details last came from a webhook or a write's answer
    # The newest webhook time seen when the read in flight was sent (it shows PagerDuty as of then at least), and
    # that time for the last read that gave the status: a webhook no newer, showing another status, asks again.
    read_sees_at: datetime | None = None
    status_read_floor: datetime | None = None
    # The status was learnt from a read ("Synced from PagerDuty") and no webhook has said yet who changed it.
    status_unnamed: bool = False
    last_read_at: datetime | None = None
    resolved_seen_at: datetime | None = None
    # A snooze made from Slack: who (Slack user) and until when, so its end is explained in the thread.
    snoozed_by: str | None = None
    snoozed_until: datetime | None = None
    audit: list[AuditEntry] = Field(default_factory=list)
    finished: bool = False
    dms: list[DirectMessage] = Field(default_factory=list)  # direct messages to assignees (workflows/direct.py)

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
