"""How the bridge proves itself to PagerDuty: an account API key, or a Scoped OAuth app's token.

An app token comes from the client-credentials grant, lasts `expires_in` seconds (a day) and has no refresh
token: the bridge asks for a new one before the old one expires, and once more when PagerDuty answers 401.
Each process (the worker, the API) holds one token, shared by all its calls. PagerDuty grants unknown or
unallowed scopes silently as nothing, so every grant is compared with what was asked. No token is logged.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal, Protocol

import httpx

from activities.errors import PagerDutyAuthError, PagerDutyError, PagerDutyRateLimited, PagerDutyUnavailable
from activities.pagerduty_scopes import RUNTIME_SCOPES, account_scope
from settings import ConfigError, Settings

log = logging.getLogger("bridge.pagerduty.auth")

# A token is renewed once this share of its lifetime has passed (a 24 h token: after 21.6 h)...
RENEW_AFTER = 0.9
# ...and a 403 for a scope it lacks renews a token older than this, so a scope an admin adds since is picked up.
REGRANT_AFTER = 60.0


class Credentials(Protocol):
    kind: Literal["api_key", "oauth_app"]

    async def authorization(self) -> str:
        """The `Authorization` header value for the next request."""
        ...

    async def rejected(self, authorization: str) -> bool:
        """PagerDuty answered 401 to this header: True when a new credential is ready to retry with."""
        ...

    def lacks(self, scope: str) -> bool | None:
        """After a 403: whether the credential was not granted `scope` (None: a key, scopes do not apply)."""
        ...

    async def regrant(self, authorization: str) -> bool:
        """A 403 for a scope not granted: True when a new token was fetched (an admin may have added it)."""
        ...


class ApiKey:
    """A REST API key (an account key, `Token token=…`): nothing to renew."""

    kind: Literal["api_key", "oauth_app"] = "api_key"

    def __init__(self, token: str) -> None:
        self._header = f"Token token={token}"

    async def authorization(self) -> str:
        return self._header

    async def rejected(self, authorization: str) -> bool:
        return False

    def lacks(self, scope: str) -> bool | None:
        return None

    async def regrant(self, authorization: str) -> bool:
        return False


@dataclass(frozen=True)
class Grant:
    """What the token endpoint answered, without the token itself."""

    asked: frozenset[str]
    granted: frozenset[str]
    obtained_at: float  # wall clock
    expires_at: float

    @property
    def missing(self) -> frozenset[str]:
        return self.asked - self.granted

    def remaining(self, now: float | None = None) -> float:
        return self.expires_at - (time.time() if now is None else now)


class OAuthApp:
    """A Scoped OAuth app's token (client credentials), fetched on first use and renewed before it expires."""

    kind: Literal["api_key", "oauth_app"] = "oauth_app"

    def __init__(self, http: httpx.AsyncClient, *, token_url: str, client_id: str, client_secret: str,
                 subdomain: str, region: str = "us", scopes: tuple[str, ...] = RUNTIME_SCOPES,
                 clock: Callable[[], float] = time.time) -> None:
        self._http, self._url, self._clock = http, token_url, clock
        self._client_id, self._client_secret = client_id, client_secret
        self.account = account_scope(region, subdomain)
        self.scopes = tuple(scopes)
        self.grant: Grant | None = None
        self._token: str | None = None
        self._renew_at = 0.0
        self._lock: asyncio.Lock | None = None

    def _locked(self) -> asyncio.Lock:
        if self._lock is None:
            self._lock = asyncio.Lock()
        return self._lock

    async def authorization(self) -> str:
        if self._token is None or self._clock() >= self._renew_at:
            async with self._locked():
                if self._token is None or self._clock() >= self._renew_at:
                    await self.fetch("expires soon" if self._token else "first use")
        return f"Bearer {self._token}"

    async def rejected(self, authorization: str) -> bool:
        async with self._locked():
            if authorization == f"Bearer {self._token}":  # nobody renewed it since that request
                await self.fetch("PagerDuty answered 401")
        return True

    def lacks(self, scope: str) -> bool | None:
        return None if self.grant is None else scope not in self.grant.granted

    async def regrant(self, authorization: str) -> bool:
        async with self._locked():
            if authorization != f"Bearer {self._token}":
                return True  # another request fetched a new token since
            if self.grant is not None and self._clock() - self.grant.obtained_at <= REGRANT_AFTER:
                return False  # asked a minute ago at most: not once per refused request
            await self.fetch("asking again for a scope it lacked")
            return True

    async def fetch(self, reason: str) -> Grant:
        """Ask the token endpoint for a new token (the lock is held by the caller, or nothing else runs)."""
        asked = frozenset(self.scopes)
        form = {"grant_type": "client_credentials", "client_id": self._client_id,
                "client_secret": self._client_secret, "scope": " ".join([self.account, *self.scopes])}
        try:
            response = await self._http.post(self._url, data=form, headers={"Accept": "application/json"})
        except httpx.TransportError as exc:
            raise PagerDutyUnavailable(f"PagerDuty's token endpoint {self._url} unreachable "
                                       f"({type(exc).__name__})") from None
        body = _json(response)
        if not response.is_success:
            raise _token_error(response.status_code, response.headers, body, self._url)
        token, lifetime = body.get("access_token"), body.get("expires_in")
        if not isinstance(token, str) or not token:
            raise PagerDutyUnavailable("PagerDuty's token endpoint answered without an access_token")
        lifetime = float(lifetime) if isinstance(lifetime, int | float) and lifetime > 0 else 3600.0
        granted = frozenset(str(body.get("scope") or "").split()) - {self.account}
        now = self._clock()
        self._token, self._renew_at = token, now + lifetime * RENEW_AFTER
        self.grant = Grant(asked=asked, granted=granted, obtained_at=now, expires_at=now + lifetime)
        if self.grant.missing:
            log.warning("PagerDuty app token (%s) lacks scopes %s: give the app these scopes in PagerDuty "
                        "(Integrations → App Registration)", reason, " ".join(sorted(self.grant.missing)))
        else:
            log.info("PagerDuty app token obtained (%s), valid for %.0f s", reason, lifetime)
        return self.grant


def _json(response: httpx.Response) -> dict[str, Any]:
    try:
        data = response.json() if response.content else {}
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def _token_error(status: int, headers: Any, body: dict[str, Any], url: str) -> PagerDutyError:
    code = str(body.get("error") or f"HTTP {status}")
    said = str(body.get("error_description") or "")
    if status == 429:
        reset = headers.get("ratelimit-reset") or headers.get("retry-after")
        return PagerDutyRateLimited("PagerDuty's token endpoint: rate limit reached",
                                    retry_after=float(reset) if str(reset or "").isdigit() else 5.0)
    if status >= 500:
        return PagerDutyUnavailable(f"PagerDuty's token endpoint {url} unavailable (HTTP {status})")
    if code == "invalid_client" or status == 401:
        return PagerDutyAuthError("PagerDuty refused the app's credentials (invalid_client): check "
                                  "PAGERDUTY_CLIENT_ID and PAGERDUTY_CLIENT_SECRET against the app's page in "
                                  "PagerDuty (Integrations → App Registration)", code=code)
    return PagerDutyAuthError(f"PagerDuty's token endpoint refused the request ({code}"
                              f"{': ' + said if said else ''}): check PAGERDUTY_SUBDOMAIN and PAGERDUTY_REGION",
                              code=code)


def credentials_from(settings: Settings, http: httpx.AsyncClient,
                     scopes: tuple[str, ...] = RUNTIME_SCOPES) -> Credentials:
    """The credential the settings name: the Scoped OAuth app when PAGERDUTY_CLIENT_ID is set, else the API key.

    Raises ConfigError naming what is missing."""
    if settings.pagerduty_credential() == "oauth_app":
        if problem := settings.oauth_app_problem():
            raise ConfigError(problem)
        return OAuthApp(http, token_url=settings.pagerduty_oauth_url, client_id=str(settings.pagerduty_client_id),
                        client_secret=settings.secret("pagerduty_client_secret"),
                        subdomain=str(settings.pagerduty_subdomain), region=settings.pagerduty_region, scopes=scopes)
    return ApiKey(settings.secret("pagerduty_api_token"))
