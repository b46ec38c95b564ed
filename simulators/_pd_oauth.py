"""The simulated account's credentials: its REST API key, one Scoped OAuth app (client credentials), and
PagerDuty's rate limit.

- `POST /oauth/token` (form: `grant_type=client_credentials`, `client_id`, `client_secret`, `scope`) checks the
  grant, the client and the `as_account-<region>.<subdomain>` scope, and grants of the asked scopes only those the
  app was given; unknown ones are dropped silently, as PagerDuty does. Tokens last `token_lifetime` seconds.
- A REST request with an expired or unknown bearer token gets 401; one whose token lacks the route's scope, 403.
- With a limit set, more than `limit` REST requests in a window get 429 with `ratelimit-reset`.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from simulators._pd_model import PDError

RESOURCES = {"incidents", "users", "teams", "services", "escalation_policies", "oncalls", "priorities",
             "abilities", "webhook_subscriptions", "schedules", "log_entries"}


def route_scope(method: str, path: str) -> str:
    resource = path.strip("/").split("/", 1)[0]
    if resource not in RESOURCES:
        raise PDError(404, 2100, "Not Found")
    return f"{resource}.{'read' if method in ('GET', 'HEAD') else 'write'}"


class OAuthRefusal(Exception):
    def __init__(self, status: int, error: str, description: str) -> None:
        super().__init__(description)
        self.status, self.error, self.description = status, error, description

    def body(self) -> dict[str, str]:
        return {"error": self.error, "error_description": self.description}


@dataclass
class _Token:
    scopes: frozenset[str]
    expires_at: float


class CredentialsMixin:
    """Needs `token` (the account's REST API key) from the simulator."""

    token: str
    lock: threading.RLock

    def __init__(self) -> None:
        self.subdomain, self.region = "sandbox", "us"
        self.app_client: tuple[str, str] | None = None
        self.app_scopes: set[str] = set()
        self.token_lifetime = 86400
        self.tokens_issued = 0
        self._tokens: dict[str, _Token] = {}
        self.rate_limit: tuple[int, float] | None = None  # (requests, window seconds)
        self.rate_limited = 0  # 429s answered
        self._window: tuple[float, int] = (0.0, 0)

    def register_app(self, client_id: str, client_secret: str, scopes: Iterable[str]) -> None:
        """The account's Scoped OAuth app, given these scopes in its registration."""
        with self.lock:
            self.app_client, self.app_scopes = (client_id, client_secret), set(scopes)

    def set_app_scopes(self, scopes: Iterable[str]) -> None:
        """An admin edits the app's scopes; tokens already issued keep what they were granted."""
        with self.lock:
            self.app_scopes = set(scopes)

    def expire_tokens(self) -> int:
        """Every app token issued so far expires now; returns how many were live."""
        with self.lock:
            now, live = time.monotonic(), 0
            for token in self._tokens.values():
                live += token.expires_at > now
                token.expires_at = min(token.expires_at, now)
            return live

    def issue_token(self, form: dict[str, str]) -> dict[str, Any]:
        with self.lock:
            if form.get("grant_type") != "client_credentials":
                raise OAuthRefusal(400, "unsupported_grant_type", "only client_credentials is supported")
            if self.app_client is None or (form.get("client_id"), form.get("client_secret")) != self.app_client:
                raise OAuthRefusal(401, "invalid_client", "Client authentication failed")
            asked = set(form.get("scope", "").split())
            account = f"as_account-{self.region}.{self.subdomain}"
            if account not in asked:
                raise OAuthRefusal(400, "invalid_scope", f"the scope must name the account: {account}")
            granted = frozenset(asked & self.app_scopes)
            value = "pdsim_" + secrets.token_urlsafe(24)
            self._tokens[value] = _Token(granted, time.monotonic() + self.token_lifetime)
            self.tokens_issued += 1
            return {"access_token": value, "token_type": "bearer", "expires_in": self.token_lifetime,
                    "scope": " ".join([account, *sorted(granted)])}

    def authorize(self, header: str, method: str, path: str) -> None:
        """Raise PagerDuty's answer to a REST request with this `Authorization`, if it is not allowed through."""
        given = header.strip()
        with self.lock:
            if given != f"Token token={self.token}":
                self._check_app_token(given, method, path)
            self._count_request()

    def _check_app_token(self, given: str, method: str, path: str) -> None:
        token = self._tokens.get(given.removeprefix("Bearer ").strip()) if given.startswith("Bearer ") else None
        if token is None or token.expires_at <= time.monotonic():
            raise PDError(401, 2006, "Unauthorized")
        scope = route_scope(method, path)
        if scope not in token.scopes:
            raise PDError(403, 2010, "Access Denied", [f"The access token does not have the scope {scope}"])

    def _count_request(self) -> None:
        if self.rate_limit is None:
            return
        limit, window = self.rate_limit
        now = time.monotonic()
        started, count = self._window
        if now - started >= window:
            started, count = now, 0
        if count >= limit:
            self.rate_limited += 1
            reset = max(1, round(started + window - now + 0.49))
            raise PDError(429, 2020, "Rate Limit Exceeded", headers={
                "ratelimit-limit": str(limit), "ratelimit-remaining": "0", "ratelimit-reset": str(reset)})
        self._window = (started, count + 1)
