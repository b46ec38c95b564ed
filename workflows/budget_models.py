"""The Slack budget's data: what incident workflows ask and are granted, and what the budget workflow keeps
(its rules: workflows/budget.py). Signals and the budget's continue-as-new input carry these: fields change only
compatibly (new ones with defaults)."""

from __future__ import annotations

from datetime import datetime
from enum import IntEnum

from pydantic import Field

from workflows.models import Model
from workflows.storms import Storm


class Kind(IntEnum):
    """What a request is for; the value is its priority class (lower goes first)."""

    POST = 0  # a new incident's message
    STATUS = 1  # an update that changes the status shown
    UPDATE = 2  # any other update of an incident message
    REPLY = 3  # thread replies (all that wait, as one)


class Limits(Model):
    posts_per_second: float = 1.0
    post_burst: int = 2
    updates_per_minute: float = 40.0
    update_burst: int = 2
    storm_threshold: int = 10
    notice_every_seconds: int = 15  # the storm notice is updated at most this often


class SlackAsk(Model):
    """An incident workflow asks for one Slack call of `kind` (posts and replies name their channel)."""

    workflow_id: str
    incident_id: str
    kind: Kind
    channel: str = ""
    urgency: str = ""
    priority: str | None = None
    service: str = ""
    html_url: str = ""


class SlackDone(Model):
    """A granted call has finished (any way but a 429): the bucket may grant the next one."""

    kind: Kind
    channel: str = ""


class SlackThrottled(Model):
    """Slack answered 429 anyway: the bucket the call drew from waits `retry_after` seconds."""

    kind: Kind
    channel: str = ""
    retry_after: float = 1.0


class Bucket(Model):
    tokens: float
    at: datetime
    paused_until: datetime | None = None
    # Grants whose call has not been reported done: at most `burst` at once, so calls that run late (a busy
    # worker) cannot bunch up at Slack. A report that never comes expires after OUT_FOR.
    out: list[datetime] = Field(default_factory=list)


class Waiting(Model):
    ask: SlackAsk
    seq: int
    since: datetime


class Budget(Model):
    limits: Limits = Field(default_factory=Limits)
    buckets: dict[str, Bucket] = Field(default_factory=dict)
    waiting: list[Waiting] = Field(default_factory=list)
    next_seq: int = 1
    storms: dict[str, Storm] = Field(default_factory=dict)
    granted: int = 0
    throttled: int = 0
    last_grant_at: datetime | None = None  # when a turn was last granted: a budget with a queue and none
    # for long is wedged, and incidents stop waiting for it (workflows/rendering.py)
    dropped: int = 0  # asks not carried through continue-as-new (their incidents ask again)


class Grant(Model):
    workflow_id: str
    kind: Kind
    channel: str = ""  # which of the incident's messages (service or dedicated channel) the turn is for


class QueueView(Model):
    """What the budget says of one incident's asks: the `turn` query, small however long the queue."""

    queued: bool = False
    eta_seconds: float = 0.0  # when its first waiting ask should be granted, at the current pace
    waiting: int = 0
    last_grant_at: datetime | None = None
    paused_until: datetime | None = None  # the latest 429 pause of any bucket
