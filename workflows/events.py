"""Events (everything the reducer reacts to) and effects (what it asks the workflow to do)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import Field

from workflows.base import Model, When
from workflows.channel_models import (
    ArchiveChannel,
    ChannelArchived,
    ChannelCreated,
    ChannelInvited,
    ConferenceLinkSet,
    CreateChannel,
    InviteToChannel,
    PostSummary,
    SetConferenceLink,
    SummaryPosted,
)
from workflows.dm_models import DirectMessageOpened, OpenDirectMessage
from workflows.incident_types import ActionKind, Ref, Snapshot

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
    # incident.status_update_published: the status update's id and message (`trimmed`: PagerDuty cut it short).
    status_update_id: str | None = None
    status_update_message: str | None = None
    status_update_trimmed: bool = False


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
    # Where an answer only this person sees can go (the click's or the command's); None for older actions.
    response_url: str | None = None


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
    # For a refusal the person can act on: the owning teams by name, and who can help by Slack id (the
    # incident's assignees, the bridge's admins). Empty from releases before these were gathered.
    incident_team_names: list[str] = Field(default_factory=list)
    helper_slack_users: list[str] = Field(default_factory=list)
    admin_slack_users: list[str] = Field(default_factory=list)


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
    # On "failed": the first attempt and the last were PagerDuty's own answer that it did nothing (503, 429),
    # so the write did not land, and a change like it since the click is someone's own.
    nothing_done: bool = False
    status_update_id: str | None = None  # the status update PagerDuty published for this write
    # On "failed": a resend refused, judged not landed only from how the incident looks now (a priority that is
    # not the click's): someone may have changed it since.
    judged_from_now: bool = False


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
    dm: str | None = None  # the incident message in this PagerDuty user's direct message


class RenderFailed(Model):
    kind: Literal["render_failed"] = "render_failed"
    detail: str
    message_gone: bool = False  # the message was deleted in Slack: the next render posts a new one
    dedicated: bool = False
    dm: str | None = None  # the direct message to this PagerDuty user (see MessagePosted)


class RenderDone(Model):
    """Slack shows the current view of the message."""

    kind: Literal["render_done"] = "render_done"


class Resumed(Model):
    """A new run (after continue-as-new) took over: work the old run had in flight is asked for again."""

    kind: Literal["resumed"] = "resumed"


class Recalled(Model):
    """A new run took over from a finished one (an event came after the linger): the incident goes on with
    what that run knew, its message and its own commands, lingers again, and is re-read from PagerDuty."""

    kind: Literal["recalled"] = "recalled"


class Unexpected(Model):
    """The workflow hit an error it did not expect while handling an event; recorded, then re-read."""

    kind: Literal["unexpected"] = "unexpected"
    detail: str


class RepliesPosted(Model):
    kind: Literal["replies_posted"] = "replies_posted"
    upto_seq: int
    seqs: list[int] = Field(default_factory=list)  # exactly these (one thread's); empty: all up to `upto_seq`


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
    | Recalled
    | Unexpected
    | RepliesPosted
    | Tick
    | ChannelCreated
    | ChannelInvited
    | SummaryPosted
    | ChannelArchived
    | DirectMessageOpened
    | ConferenceLinkSet,
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
    response_url: str | None = None  # tried first: it reaches the person where an ephemeral cannot


Effect = Annotated[
    ReadIncident | ResolveActor | WriteToPagerDuty | TellUser | CreateChannel | InviteToChannel | PostSummary
    | ArchiveChannel | OpenDirectMessage | SetConferenceLink,
    Field(discriminator="kind"),
]
