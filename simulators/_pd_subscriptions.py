"""Webhook subscriptions of the simulated PagerDuty account: created through REST, listed with `active`
and `delivery_method.temporarily_disabled`, disabled the way PagerDuty does it, re-enabled through REST.

The subscription given to the constructor (`webhook_url`, id PSIMSUB) is listed like any other, so the
bridge's check of its subscription sees the sandbox's own.
"""

from __future__ import annotations

import secrets
import threading
from collections.abc import Callable
from typing import Any

from simulators._pd_model import PDError, not_found
from simulators._pd_webhooks import WebhookTarget

CONSTRUCTOR_SUBSCRIPTION_ID = "PSIMSUB"
CONSTRUCTOR_EVENTS = ["incident.*"]


def _in_scope(sub: dict[str, Any], service_id: str, team_ids: list[str]) -> bool:
    flt = sub["filter"]
    return (flt.get("type") == "account_reference"
            or (flt.get("type") == "service_reference" and flt.get("id") == service_id)
            or (flt.get("type") == "team_reference" and flt.get("id") in team_ids))


def delivers(sub: dict[str, Any]) -> bool:
    return bool(sub["active"]) and not sub["delivery_method"].get("temporarily_disabled")


class SubscriptionsMixin:
    """Needs `lock`, `new_id`, `webhook_url` and `webhook_secret` from the simulator."""

    lock: threading.RLock
    webhook_url: str | None
    webhook_secret: str | list[str]
    new_id: Callable[..., str]

    def __init__(self) -> None:
        self.subscriptions: dict[str, dict[str, Any]] = {}
        # The constructor's subscription: (active, temporarily_disabled), and what it covers.
        self._constructor_state = (True, False)
        self._constructor_filter: dict[str, Any] = {"type": "account_reference"}

    def create_subscription(self, body: dict[str, Any]) -> dict[str, Any]:
        with self.lock:
            method = dict(body.get("delivery_method") or {})
            if not method.get("url") or not body.get("events"):
                raise PDError(400, 2001, "Invalid Input Provided", ["url and events are required"])
            sub: dict[str, Any] = {
                "id": self.new_id(),
                "type": "webhook_subscription",
                "active": bool(body.get("active", True)),
                "description": body.get("description"),
                "delivery_method": {
                    **method,
                    "type": "http_delivery_method",
                    "secret": secrets.token_hex(32),
                    "temporarily_disabled": False,
                },
                "events": list(body["events"]),
                "filter": dict(body.get("filter") or {"type": "account_reference"}),
            }
            self.subscriptions[sub["id"]] = sub
            return sub

    def subscription_list(self) -> list[dict[str, Any]]:
        """Every subscription as `GET /webhook_subscriptions` shows it (secrets withheld)."""
        with self.lock:
            subs = list(self.subscriptions.values())
            if self.webhook_url:
                active, paused = self._constructor_state
                subs.insert(0, {
                    "id": CONSTRUCTOR_SUBSCRIPTION_ID, "type": "webhook_subscription", "active": active,
                    "description": "simulator subscription",
                    "delivery_method": {"type": "http_delivery_method", "url": self.webhook_url,
                                        "temporarily_disabled": paused},
                    "events": list(CONSTRUCTOR_EVENTS), "filter": dict(self._constructor_filter),
                })
            return [{**s, "delivery_method": {**s["delivery_method"], "secret": None}} for s in subs]

    def disable_subscription(self, sub_id: str, *, temporarily: bool = True) -> None:
        """PagerDuty's own disablement after failed deliveries (`temporarily`), or someone setting
        `active: false`. Either way no webhook is sent on it until it is enabled again."""
        # PagerDuty's disablement leaves `active` alone and sets `temporarily_disabled`.
        self._set_subscription(sub_id, active=temporarily, paused=temporarily)

    def enable_subscription(self, sub_id: str) -> dict[str, Any]:
        """`POST /webhook_subscriptions/{id}/enable`: delivers again."""
        self._set_subscription(sub_id, active=True, paused=False)
        with self.lock:
            return next(s for s in self.subscription_list() if s["id"] == sub_id)

    def scope_subscription(self, sub_id: str, filter_type: str, filter_id: str | None = None) -> None:
        """Narrow (or widen) what a subscription covers, as editing its filter in PagerDuty does:
        `account_reference`, `service_reference` or `team_reference` with the service's or team's id."""
        flt: dict[str, Any] = {"type": filter_type, **({"id": filter_id} if filter_id else {})}
        with self.lock:
            if sub_id == CONSTRUCTOR_SUBSCRIPTION_ID and self.webhook_url:
                self._constructor_filter = flt
            elif sub_id in self.subscriptions:
                self.subscriptions[sub_id]["filter"] = flt
            else:
                raise not_found()

    def delete_subscription(self, sub_id: str) -> None:
        with self.lock:
            if sub_id == CONSTRUCTOR_SUBSCRIPTION_ID and self.webhook_url:
                self.webhook_url = None
            elif self.subscriptions.pop(sub_id, None) is None:
                raise not_found()

    def _set_subscription(self, sub_id: str, *, active: bool, paused: bool) -> None:
        with self.lock:
            if sub_id == CONSTRUCTOR_SUBSCRIPTION_ID and self.webhook_url:
                self._constructor_state = (active, paused)
                return
            sub = self.subscriptions.get(sub_id)
            if sub is None:
                raise not_found()
            sub["active"] = active
            sub["delivery_method"]["temporarily_disabled"] = paused

    def subscription_targets(self, event_type: str, service_id: str, team_ids: list[str]) -> list[WebhookTarget]:
        targets = []
        active, paused = self._constructor_state
        if self.webhook_url and active and not paused and _in_scope({"filter": self._constructor_filter},
                                                                    service_id, team_ids):
            secret = self.webhook_secret
            targets.append(WebhookTarget(CONSTRUCTOR_SUBSCRIPTION_ID, self.webhook_url,
                                         (secret,) if isinstance(secret, str) else tuple(secret)))
        for sub in self.subscriptions.values():
            if delivers(sub) and _in_scope(sub, service_id, team_ids) and event_type in sub["events"]:
                method = sub["delivery_method"]
                targets.append(WebhookTarget(sub["id"], method["url"], (method["secret"],)))
        return targets
