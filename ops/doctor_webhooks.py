"""The doctor's look at the bridge's PagerDuty webhook subscription: present, and delivering?"""

from __future__ import annotations

from activities import errors
from activities.pagerduty_api import PagerDutyApi
from activities.sweep_scope import covered_services, differences, subscription_coverage
from activities.webhook_health import assess, fix_for
from workflows.sweep_models import SubscriptionState

NAME = "PagerDuty webhook subscription"


async def webhook_subscription_check(api: PagerDutyApi, webhook_url: str | None) -> tuple[bool, str, str]:
    """(ok, detail, fix) for the doctor's report."""
    try:
        subscriptions = await api.list_webhook_subscriptions()
    except errors.PagerDutyError as exc:
        return False, f"cannot list webhook subscriptions: {exc}", (
            "Give the token webhook_subscriptions.read (Scoped OAuth) or use a full-access REST API key; "
            "the bridge's sweep needs it to warn when PagerDuty disables the subscription.")
    health = assess(subscriptions, webhook_url)
    if health.state is SubscriptionState.ACTIVE:
        return True, health.detail, ""
    return False, f"{health.detail}: PagerDuty sends the bridge no webhooks", fix_for(health)


async def coverage_lines(api: PagerDutyApi, webhook_url: str | None, routed: list[str]) -> tuple[str, ...]:
    """What the subscriptions (and so the sweep) cover, and a warning for each way they differ from the
    routed services."""
    try:
        coverage = subscription_coverage(await api.list_webhook_subscriptions(), webhook_url)
        if coverage is None:
            return (f"the sweep covers the routed services only: {', '.join(routed) or 'none'}",)
        covered = await covered_services(api, coverage)
    except errors.PagerDutyError as exc:
        return (f"what the subscriptions cover was not read: {exc}",)
    head = f"the subscriptions, and so the sweep, cover {coverage.describe()}"
    if coverage.team_ids and covered is not None:
        head += f" ({len(covered)} service{'' if len(covered) == 1 else 's'})"
    return (head, *(f"warning: {line}" for line in differences(covered, routed)))
