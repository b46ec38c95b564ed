"""Typed values of the sweep: what it lists and starts, and what it found about the webhook subscription.

No I/O here, so the sweep and warning workflows import it inside the sandbox.
"""

from __future__ import annotations

from enum import StrEnum

from pydantic import Field

from workflows.models import Model

# Not a PagerDuty event type: the synthetic first event of an incident the sweep found. Unknown to
# EVENT_STATUS, so the incident workflow reads the incident from PagerDuty before showing it.
SWEEP_FOUND = "incident.sweep_found"


class SweepInput(Model):
    """The schedule's argument; everything else comes from the worker's config."""


class OpenIncidents(Model):
    incident_ids: list[str] = Field(default_factory=list)
    pages: int = 0


class StartRequest(Model):
    incident_ids: list[str]


class StartResult(Model):
    started: list[str] = Field(default_factory=list)  # had no running workflow: started now
    running: int = 0  # already had one, left alone


class SubscriptionState(StrEnum):
    ACTIVE = "active"
    DISABLED = "disabled"
    MISSING = "missing"
    UNKNOWN = "unknown"  # could not be checked (e.g. the token may not read subscriptions)


class WebhookHealth(Model):
    state: SubscriptionState
    # The bridge's subscriptions that are disabled (DISABLED) or all of the bridge's (ACTIVE).
    subscription_ids: list[str] = Field(default_factory=list)
    looked_for: str = ""  # the URL, or the path, a subscription of the bridge's delivers to
    detail: str = ""

    @property
    def problem(self) -> bool:
        return self.state in {SubscriptionState.DISABLED, SubscriptionState.MISSING}

    def key(self) -> tuple[str, tuple[str, ...]]:
        """What the warning message shows: a change of this is worth an edit, anything else is not."""
        ids = tuple(sorted(self.subscription_ids)) if self.state is SubscriptionState.DISABLED else ()
        return self.state.value, ids


class SweepResult(Model):
    listed: int
    pages: int
    started: list[str] = Field(default_factory=list)
    webhooks: SubscriptionState = SubscriptionState.UNKNOWN


class WarningState(Model):
    """The one warning message of the default channel, and the webhook health it shows."""

    latest: WebhookHealth | None = None  # the last health the sweep reported
    checks: int = 0  # reports received, this run and the ones before it
    channel: str | None = None
    ts: str | None = None  # the message while it warns; forgotten once it says "resolved"
    shown: WebhookHealth | None = None


class WarningRequest(Model):
    health: WebhookHealth
    channel: str | None = None
    ts: str | None = None  # None: post a new message


class WarningShown(Model):
    channel: str
    ts: str
