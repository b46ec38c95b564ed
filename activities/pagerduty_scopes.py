"""The PagerDuty Scoped OAuth scopes the bridge needs, feature by feature, and the scope each REST call needs.

PagerDuty names a scope after the resource (the first path segment) and read or write: `GET /incidents/{id}/notes`
needs `incidents.read`, `POST /incidents/{id}/notes` needs `incidents.write`. The bridge asks for exactly the
union of what its features use (`RUNTIME_SCOPES`); `ctl subscribe` asks for `webhook_subscriptions.write`
alone, for the one call it makes.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Feature:
    name: str
    scopes: tuple[str, ...]
    why: str


FEATURES: tuple[Feature, ...] = (
    Feature("incident messages and buttons", ("incidents.read", "incidents.write"),
            "read incidents, their notes and log entries; acknowledge, resolve, reassign, escalate, snooze, add notes "
            "and responders, set priority, post status updates, set the conference link to the incident's channel, "
            "/pd trigger (always with From: the person who clicked)"),
    Feature("who clicked and who may act", ("users.read", "teams.read", "services.read", "escalation_policies.read"),
            "map Slack people to PagerDuty users by email, and check the incident's teams (its service's and "
            "escalation policy's too)"),
    Feature("escalate", ("escalation_policies.read", "oncalls.read"),
            "find the next level of the escalation policy and who is on call there"),
    Feature("priority control", ("priorities.read",), "list the account's priorities"),
    Feature("/pd open, oncall, trigger", ("services.read", "escalation_policies.read", "oncalls.read"),
            "find services and escalation policies by name, and who is on call"),
    Feature("sweep's webhook check", ("webhook_subscriptions.read",),
            "see that the bridge's webhook subscription exists and is enabled"),
)

RUNTIME_SCOPES: tuple[str, ...] = tuple(sorted({scope for feature in FEATURES for scope in feature.scopes}))
SUBSCRIBE_SCOPES: tuple[str, ...] = ("webhook_subscriptions.write",)


def account_scope(region: str, subdomain: str) -> str:
    """The scope that names the account an app token acts in: `as_account-us.acme`."""
    return f"as_account-{region}.{subdomain}"


def scope_for(method: str, path: str) -> str:
    """The scope PagerDuty checks for a REST call, from its resource and method."""
    resource = path.lstrip("/").split("/", 1)[0].split("?", 1)[0]
    return f"{resource}.{'read' if method.upper() in {'GET', 'HEAD'} else 'write'}"


def features_lacking(missing: set[str]) -> list[str]:
    """The features that stop working without these scopes, in the table's order."""
    return [f.name for f in FEATURES if missing & set(f.scopes)]
