"""What the sweep covers: exactly what the bridge's webhook subscriptions cover, or the routed services.

The sweep is the safety net under the webhooks, so it looks where the webhooks look and nowhere else: a
subscription scoped to services or a team sweeps those services, an account-wide one sweeps the account.
When the bridge has no subscription, or its subscriptions cannot be read, it sweeps the services routed in
`[routing.services]`. Either way no other team's incident reaches the default channel by the sweep.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from activities.pagerduty_api import PagerDutyApi
from activities.webhook_health import is_bridges

ACCOUNT, SERVICE, TEAM = "account_reference", "service_reference", "team_reference"


@dataclass(frozen=True)
class Coverage:
    """`account`: every service. Otherwise the services named, and those of the teams named."""

    account: bool = False
    service_ids: frozenset[str] = field(default_factory=frozenset)
    team_ids: frozenset[str] = field(default_factory=frozenset)
    source: str = "subscriptions"  # or "routes": the bridge has no subscription it could read

    def describe(self) -> str:
        if self.account:
            return "the whole account"
        parts = [f"service {s}" for s in sorted(self.service_ids)] + [f"team {t}" for t in sorted(self.team_ids)]
        return ", ".join(parts) or "nothing"


def subscription_coverage(subscriptions: list[dict[str, Any]], webhook_url: str | None) -> Coverage | None:
    """What the bridge's subscriptions (disabled ones too: the sweep stands in for them) cover; None when the
    bridge has none. A filter of a type the bridge does not know counts as the whole account."""
    services: set[str] = set()
    teams: set[str] = set()
    mine = [s for s in subscriptions if is_bridges(s, webhook_url)]
    if not mine:
        return None
    for sub in mine:
        flt = sub.get("filter")
        flt = flt if isinstance(flt, dict) else {}
        kind, ref = str(flt.get("type") or ACCOUNT), str(flt.get("id") or "")
        if kind == SERVICE and ref:
            services.add(ref)
        elif kind == TEAM and ref:
            teams.add(ref)
        else:
            return Coverage(account=True)
    return Coverage(service_ids=frozenset(services), team_ids=frozenset(teams))


def routed_coverage(routed: list[str]) -> Coverage:
    return Coverage(service_ids=frozenset(routed), source="routes")


async def covered_services(pd: PagerDutyApi, coverage: Coverage) -> list[str] | None:
    """The service ids to sweep, sorted; None for every service in the account."""
    if coverage.account:
        return None
    teams = await pd.team_service_ids(sorted(coverage.team_ids)) if coverage.team_ids else set()
    return sorted(coverage.service_ids | teams)


def differences(covered: list[str] | None, routed: list[str]) -> list[str]:
    """Where the subscriptions and the routes disagree, in the doctor's words (empty: they agree)."""
    if covered is None:
        return []  # the whole account: every routed service is covered, the rest go to the default channel
    lines = []
    if missing := sorted(set(routed) - set(covered)):
        lines.append(f"routed but not covered by the bridge's webhook subscriptions: {', '.join(missing)} "
                     "(their incidents reach Slack neither by webhook nor by the sweep)")
    if extra := sorted(set(covered) - set(routed)):
        lines.append(f"covered by the subscriptions but not routed: {', '.join(extra)} "
                     "(their incidents go to the default channel)")
    return lines
