"""The incident's own Slack channel (the incident channel convention): its policy, state, events and effects.

The reducer decides (workflows/dedicated.py); the workflow runs the effects as Slack activities and
feeds their results back as the events below.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from workflows.base import Model, When


class ChannelPolicy(Model):
    """The `[channels]` settings the workflow needs (settings.py validates them)."""

    dedicated: Literal["never", "on_demand", "high_urgency", "always"] = "on_demand"
    name_template: str = "inc-{number}-{slug}"
    private: bool = False
    archive_after_resolve_hours: float = 0


class Asker(Model):
    """Someone who clicked Create channel: invited and sent the link once the channel exists."""

    slack_user: str
    channel: str | None = None  # where they clicked, for the private answer


class Dedicated(Model):
    """The incident's dedicated channel. `ready` with `archived` false means it is where the incident lives."""

    phase: Literal["none", "creating", "ready", "failed"] = "none"
    channel: str | None = None
    name: str | None = None
    ts: str | None = None  # the incident message in the dedicated channel
    created_by: str | None = None  # Slack user who asked first; None: created by policy at trigger
    askers: list[Asker] = Field(default_factory=list)
    error: str | None = None
    # PagerDuty users who belong in the channel (assignees and responders, as the bridge learns of them),
    # and those already handled (invited, or mapped to no Slack user).
    people: list[str] = Field(default_factory=list)
    invited_pd: list[str] = Field(default_factory=list)
    invited: list[str] = Field(default_factory=list)  # Slack users invited (or found there already)
    inviting: bool = False
    invite_error: str | None = None
    summarizing: bool = False
    summary_posted: bool = False
    archive_at: When | None = None
    archiving: bool = False
    archived: bool = False
    # The PagerDuty login email of who asked first (the conference link is set as them), when a person did.
    created_by_email: str | None = None
    # The incident's conference link in PagerDuty pointing at this channel: "" not asked for (runs before the
    # "conference-link" patch), "wanted", "setting", "done", "failed" (told once in the thread) or "needs_person"
    # (a channel the policy made: set as the first person who then acts from Slack).
    conference_link: str = ""

    @property
    def active(self) -> bool:
        """The incident's message and thread live in this channel."""
        return self.phase == "ready" and self.channel is not None and not self.archived


# ---- events --------------------------------------------------------------------------------------------


class ChannelCreated(Model):
    """conversations.create answered: the channel, or why there is none."""

    kind: Literal["channel_created"] = "channel_created"
    channel: str | None = None
    name: str | None = None
    error: str | None = None
    # Set by runs with the "channel-timeline" patch: the new channel's thread starts with the timeline so far.
    with_timeline: bool = False
    # Set by runs with the "conference-link" patch: PagerDuty's conference link for the incident is set to it.
    set_conference: bool = False


class ChannelInvited(Model):
    kind: Literal["channel_invited"] = "channel_invited"
    pd_user_ids: list[str] = Field(default_factory=list)  # handled: invited, or mapped to no Slack user
    slack_users: list[str] = Field(default_factory=list)  # invited (or members already)
    error: str | None = None


class SummaryPosted(Model):
    kind: Literal["summary_posted"] = "summary_posted"
    error: str | None = None


class ChannelArchived(Model):
    kind: Literal["channel_archived"] = "channel_archived"
    error: str | None = None


class ConferenceLinkSet(Model):
    """PagerDuty's answer to setting the incident's conference link to its channel."""

    kind: Literal["conference_link_set"] = "conference_link_set"
    url: str = ""
    error: str | None = None
    # Not tried: PagerDuty changes an incident only as a person (`From`), and nobody asked for the channel (the
    # policy made it). It is set as the first person who then acts on the incident from Slack.
    needs_person: bool = False


# ---- effects -------------------------------------------------------------------------------------------


class CreateChannel(Model):
    kind: Literal["create_channel"] = "create_channel"
    incident_id: str
    number: int | None = None
    title: str = ""
    service: str = ""
    name_template: str
    private: bool = False


class InviteToChannel(Model):
    kind: Literal["invite_to_channel"] = "invite_to_channel"
    channel: str
    private: bool = False
    slack_users: list[str] = Field(default_factory=list)
    pd_user_ids: list[str] = Field(default_factory=list)  # mapped to Slack users by the activity


class PostSummary(Model):
    """The final summary in the dedicated channel: PagerDuty's log of the incident, read at resolve."""

    kind: Literal["post_summary"] = "post_summary"
    incident_id: str
    channel: str


class ArchiveChannel(Model):
    kind: Literal["archive_channel"] = "archive_channel"
    channel: str


class SetConferenceLink(Model):
    """`conference_bridge.conference_url` of the incident in PagerDuty: a link to its channel."""

    kind: Literal["set_conference_link"] = "set_conference_link"
    incident_id: str
    channel: str
    actor_email: str | None = None  # `From`: who clicked Create channel; None when the policy made the channel
