"""The doctor's look at the bridge's PagerDuty webhook subscription: present, and delivering?"""

from __future__ import annotations

from activities import errors
from activities.pagerduty_api import PagerDutyApi
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
