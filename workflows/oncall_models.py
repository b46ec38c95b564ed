"""Typed values of the on-call user groups (`[oncall_groups]`): which groups follow what, and what a sync found.

No I/O here, so `OncallGroupsWorkflow` imports it inside the sandbox.
"""

from __future__ import annotations

from pydantic import Field

from workflows.base import Model, When
from workflows.slack_text import Line


class GroupRule(Model):
    """A Slack user group handle (no '@') and who it stands for: a schedule, or a level of an escalation policy."""

    handle: str
    schedule: str | None = None
    escalation_policy: str | None = None
    level: int = 1


class OncallConfig(Model):
    """What the worker's config asks for; signalled (`configure`) by every worker at start."""

    rules: list[GroupRule] = Field(default_factory=list)
    recheck_seconds: int = 300


class OncallInput(Model):
    config: OncallConfig = Field(default_factory=OncallConfig)
    groups: dict[str, GroupStatus] = Field(default_factory=dict)  # carried over continue-as-new


class SyncRequest(Model):
    rules: list[GroupRule]


class GroupStatus(Model):
    """One group after a sync: its Slack id, members, and what is wrong with it (empty when nothing)."""

    usergroup_id: str | None = None
    members: list[str] = Field(default_factory=list)  # Slack user ids
    next_change: When | None = None  # the next shift start or end PagerDuty knows of
    warning: Line | None = None  # now
    warned: Line | None = None  # the last warning posted, so it is posted once


class SyncResult(Model):
    synced_at: When
    groups: dict[str, GroupStatus] = Field(default_factory=dict)


class WarnRequest(Model):
    handle: str
    warning: Line


OncallInput.model_rebuild()
