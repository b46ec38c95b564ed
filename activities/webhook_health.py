"""Is PagerDuty still sending webhooks to the bridge? Finds the bridge's v3 subscriptions among the
account's and says what the channel warning, the doctor and the metric show. Pure: no I/O."""

from __future__ import annotations

from typing import Any

from workflows.slack_text import escape
from workflows.sweep_models import SubscriptionState, WebhookHealth

WEBHOOK_PATH = "/pagerduty/webhooks"
ENABLE_FIX = ("In PagerDuty open Integrations → Generic Webhooks (v3), pick the subscription marked "
              "\"Needs attention\" or disabled and enable it (or call POST /webhook_subscriptions/{id}/enable "
              "with a token that has webhook_subscriptions.write). Check first that the bridge answers 2xx on "
              f"{WEBHOOK_PATH}: PagerDuty disables a subscription whose deliveries keep failing.")
CREATE_FIX = ("Create it: python3 dev.py ctl subscribe --url <the bridge's public URL>" + WEBHOOK_PATH
              + " --account (or --service/--team), then set PAGERDUTY_WEBHOOK_SECRETS to the secret it prints.")


def _url(sub: dict[str, Any]) -> str:
    method = sub.get("delivery_method")
    return str(method.get("url") or "") if isinstance(method, dict) else ""


def _norm(url: str) -> str:
    return url.strip().rstrip("/").lower()


def is_bridges(sub: dict[str, Any], webhook_url: str | None) -> bool:
    url = _norm(_url(sub))
    return url == _norm(webhook_url) if webhook_url else url.endswith(WEBHOOK_PATH)


def delivers(sub: dict[str, Any]) -> bool:
    """`active: false` (switched off) or `temporarily_disabled` (PagerDuty gave up on failing deliveries)."""
    method = sub.get("delivery_method")
    paused = bool(method.get("temporarily_disabled")) if isinstance(method, dict) else False
    return bool(sub.get("active", True)) and not paused


def assess(subscriptions: list[dict[str, Any]], webhook_url: str | None) -> WebhookHealth:
    looked_for = webhook_url or f"…{WEBHOOK_PATH}"
    mine = [s for s in subscriptions if is_bridges(s, webhook_url)]
    if not mine:
        return WebhookHealth(state=SubscriptionState.MISSING, looked_for=looked_for,
                             detail=f"no webhook subscription delivers to {looked_for}")
    disabled = [s for s in mine if not delivers(s)]
    if disabled:
        ids = [str(s.get("id")) for s in disabled]
        return WebhookHealth(state=SubscriptionState.DISABLED, subscription_ids=ids, looked_for=looked_for,
                             detail=f"subscription {', '.join(ids)} to {_url(disabled[0])} is disabled")
    ids = [str(s.get("id")) for s in mine]
    return WebhookHealth(state=SubscriptionState.ACTIVE, subscription_ids=ids, looked_for=looked_for,
                         detail=f"subscription {', '.join(ids)} is active")


def fix_for(health: WebhookHealth) -> str:
    if health.state is SubscriptionState.MISSING:
        return CREATE_FIX
    return ENABLE_FIX.replace("{id}", health.subscription_ids[0] if health.subscription_ids else "{id}")


def warning_text(health: WebhookHealth, sweep_seconds: int) -> str:
    """The channel warning, in mrkdwn; everything that came from PagerDuty is escaped."""
    every = f"{sweep_seconds // 60} min" if sweep_seconds >= 60 else f"{sweep_seconds} s"
    impact = (f"New incidents still reach Slack through the bridge's sweep (every {every}), and open ones are "
              "re-read from PagerDuty, but changes made in PagerDuty show late.")
    if health.state is SubscriptionState.MISSING:
        return (f":warning: *PagerDuty webhooks are not set up for the bridge*: {escape(health.detail)}. "
                f"{impact}\n*Fix:* {escape(fix_for(health))}")
    return (f":warning: *PagerDuty stopped sending webhooks to the bridge*: {escape(health.detail)}. "
            f"{impact}\n*Fix:* {escape(fix_for(health))}")


def resolved_text(health: WebhookHealth) -> str:
    return (f":white_check_mark: Resolved: PagerDuty sends webhooks to the bridge again "
            f"({escape(health.detail)}).")
