"""The bridge's PagerDuty client on a Scoped OAuth app's credentials, and its pacing, against the simulator."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx
import pytest
import pytest_asyncio

from activities import pagerduty_auth
from activities.errors import PagerDutyAuthError, PagerDutyScopeMissing
from activities.pagerduty_api import PagerDutyApi
from activities.pagerduty_auth import OAuthApp
from activities.pagerduty_pace import Pace
from activities.pagerduty_scopes import RUNTIME_SCOPES
from simulators.pagerduty import PagerDutySimulator
from simulators.server import ServedApp

CLIENT_ID, CLIENT_SECRET = "bridge-app", "app-secret"


@dataclass
class World:
    pd: PagerDutySimulator
    url: str
    http: httpx.AsyncClient

    def app(self, secret: str = CLIENT_SECRET, scopes: tuple[str, ...] = RUNTIME_SCOPES) -> OAuthApp:
        return OAuthApp(self.http, token_url=f"{self.url}/oauth/token", client_id=CLIENT_ID, client_secret=secret,
                        subdomain="sandbox", region="us", scopes=scopes)

    def statuses(self, path: str) -> list[int]:
        return [r.status for r in self.pd.requests if r.path == path]


@pytest_asyncio.fixture
async def world() -> AsyncIterator[World]:
    pd = PagerDutySimulator(token="account-key")
    pd.seed_demo()
    pd.register_app(CLIENT_ID, CLIENT_SECRET, RUNTIME_SCOPES)
    with ServedApp(pd.app) as server:
        async with httpx.AsyncClient(base_url=server.url, timeout=5.0) as http:
            yield World(pd, server.url, http)
    pd.close()


async def test_app_token_is_sent_as_bearer_and_writes_keep_from(world: World) -> None:
    app = world.app()
    api = PagerDutyApi(world.http, app)
    incident = world.pd.trigger("PSVC001", "Disk full", webhooks=False)
    await api.update_incident(incident, {"status": "acknowledged"}, "alice@example.com")
    put = next(r for r in world.pd.requests if r.method == "PUT")
    assert put.status == 200 and put.headers["authorization"].startswith("Bearer ")
    assert put.headers["from"] == "alice@example.com"
    assert world.pd.incidents[incident].last_status_change_by == "PUALICE"  # attributed to her, not the app
    assert app.grant is not None and app.grant.missing == frozenset()
    assert app.grant.asked == frozenset(RUNTIME_SCOPES) and 86000 < app.grant.remaining() <= 86400


async def test_a_401_fetches_a_new_token_once_and_the_request_goes_through(world: World) -> None:
    api = PagerDutyApi(world.http, world.app())
    incident = world.pd.trigger("PSVC001", "Disk full", webhooks=False)
    await api.get_incident(incident)
    assert world.pd.expire_tokens() == 1
    await api.update_incident(incident, {"status": "acknowledged"}, "alice@example.com")
    assert world.statuses(f"/incidents/{incident}") == [200, 401, 200]  # the GET, then the PUT twice
    assert world.pd.tokens_issued == 2
    assert world.pd.incidents[incident].status == "acknowledged"


async def test_a_token_is_renewed_before_it_expires(world: World) -> None:
    world.pd.token_lifetime = 4
    api = PagerDutyApi(world.http, app := world.app())
    await api.list_priorities()
    assert app.grant is not None
    deadline = time.monotonic() + 8
    while app.grant.remaining() > 0.3 and time.monotonic() < deadline:
        await asyncio.sleep(0.05)  # until the token is in its last tenth of a lifetime of 4 s, still valid
    await api.list_priorities()
    assert world.pd.tokens_issued == 2
    assert world.statuses("/priorities") == [200, 200]  # never sent with an expired token


async def test_a_scope_the_app_lacks_is_named_with_the_fix(world: World) -> None:
    world.pd.set_app_scopes(set(RUNTIME_SCOPES) - {"oncalls.read"})
    app = world.app()
    api = PagerDutyApi(world.http, app)
    await api.list_priorities()
    assert app.grant is not None and app.grant.missing == {"oncalls.read"}
    with pytest.raises(PagerDutyScopeMissing) as refused:
        await api.list_oncalls("PEPPAY1")
    assert "lacks the scope oncalls.read" in refused.value.message
    assert "adds oncalls.read to the app" in refused.value.message
    assert world.statuses("/oncalls") == [403]


async def test_a_scope_added_since_is_asked_for_again(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    world.pd.set_app_scopes(set(RUNTIME_SCOPES) - {"oncalls.read"})
    api = PagerDutyApi(world.http, world.app())
    with pytest.raises(PagerDutyScopeMissing):
        await api.list_oncalls("PEPPAY1")
    world.pd.set_app_scopes(RUNTIME_SCOPES)  # an admin adds it
    monkeypatch.setattr(pagerduty_auth, "REGRANT_AFTER", 0.0)  # instead of waiting a minute
    await api.list_oncalls("PEPPAY1")
    assert world.statuses("/oncalls") == [403, 403, 200]


async def test_wrong_client_secret_names_the_variables(world: World) -> None:
    api = PagerDutyApi(world.http, world.app(secret="not-it"))
    with pytest.raises(PagerDutyAuthError) as refused:
        await api.list_priorities()
    assert "invalid_client" in refused.value.message and "PAGERDUTY_CLIENT_SECRET" in refused.value.message
    assert "not-it" not in refused.value.message
    assert world.statuses("/priorities") == []


async def test_a_429_is_waited_out_for_ratelimit_reset(world: World) -> None:
    api = PagerDutyApi(world.http, "account-key")
    world.pd.fail("/priorities", 429, count=1, headers={"ratelimit-reset": "1"})
    started = time.monotonic()
    assert len(await api.list_priorities()) == 5
    assert time.monotonic() - started >= 1.0
    assert world.statuses("/priorities") == [429, 200]


async def test_pacing_keeps_a_burst_under_pagerdutys_limit(world: World) -> None:
    # PagerDuty's 960 a minute scaled down: 20 requests per 2 s window; the bridge paces itself at 6 a second.
    world.pd.rate_limit = (20, 2.0)
    api = PagerDutyApi(world.http, world.app(), Pace(6 * 60, burst=4))
    await asyncio.gather(*(api.list_priorities() for _ in range(40)))
    assert world.pd.rate_limited == 0
    assert world.statuses("/priorities") == [200] * 40
