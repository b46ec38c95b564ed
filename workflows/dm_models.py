"""Direct messages to the people an incident is assigned to: the record kept in state, the effect, its result.

The reducer decides who gets one (workflows/direct.py); an activity decides whether the person wants one
(`[notifications] direct_messages` and their `/pd notify` choice) and opens the conversation; the workflow's
`SlackSync` for that conversation posts the incident message there and keeps it current.
"""

from __future__ import annotations

from typing import Literal

from workflows.base import Model


class DirectMessage(Model):
    """One person's direct message about the incident (at most one per person and incident)."""

    pd_user: str
    slack_user: str | None = None
    channel: str | None = None  # the D… conversation, once opened
    ts: str | None = None  # the incident message in it, once posted
    # opening: being decided and opened; open: shown and kept current; none: this person gets no DM (not
    # wanted, no Slack account, refused by Slack); failed: Slack refused the message itself.
    phase: Literal["opening", "open", "none", "failed"] = "opening"
    reason: str = ""
    assigned: bool = True  # whether the person is still among the assignees (the message says so)


class OpenDirectMessage(Model):
    kind: Literal["open_direct_message"] = "open_direct_message"
    incident_id: str
    pd_user: str


class DirectMessageOpened(Model):
    """The conversation to post in, or why this person gets no direct message (`channel` None)."""

    kind: Literal["direct_message_opened"] = "direct_message_opened"
    pd_user: str
    slack_user: str | None = None
    channel: str | None = None
    reason: str = ""
