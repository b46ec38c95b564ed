"""The simulated PagerDuty's token endpoint, app tokens, scopes and rate limit, over plain HTTP."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from simulators.pagerduty import PagerDutySimulator
from simulators.server import ServedApp

KEY = "account-key"
FORM = {"grant_type": "client_credentials", "client_id": "app", "client_secret": "s3cret",
        "scope": "as_account-us.sandbox incidents.read users.read no_such.scope"}


@pytest.fixture
def pd() -> Iterator[tuple[PagerDutySimulator, httpx.Client]]:
    sim = PagerDutySimulator(token=KEY)
    sim.seed_demo()
    sim.register_app("app", "s3cret", {"incidents.read", "incidents.write", "users.read"})
    with ServedApp(sim.app) as server, httpx.Client(base_url=server.url, timeout=5) as http:
        yield sim, http
    sim.close()


def _bearer(http: httpx.Client, **form: str) -> dict[str, str]:
    answer = http.post("/oauth/token", data={**FORM, **form})
    assert answer.status_code == 200, answer.text
    return {"Authorization": f"Bearer {answer.json()['access_token']}"}


def test_token_endpoint_grants_only_asked_scopes_the_app_has(pd: tuple[PagerDutySimulator, httpx.Client]) -> None:
    _, http = pd
    answer = http.post("/oauth/token", data=FORM).json()
    assert answer["token_type"] == "bearer" and answer["expires_in"] == 86400
    assert answer["scope"].split() == ["as_account-us.sandbox", "incidents.read", "users.read"]  # unknown dropped


@pytest.mark.parametrize(("change", "status", "error"), [
    ({"grant_type": "password"}, 400, "unsupported_grant_type"),
    ({"client_secret": "wrong"}, 401, "invalid_client"),
    ({"client_id": "other"}, 401, "invalid_client"),
    ({"scope": "incidents.read"}, 400, "invalid_scope"),
    ({"scope": "as_account-eu.sandbox incidents.read"}, 400, "invalid_scope"),
])
def test_token_endpoint_checks_grant_client_and_account(pd: tuple[PagerDutySimulator, httpx.Client],
                                                        change: dict[str, str], status: int, error: str) -> None:
    _, http = pd
    answer = http.post("/oauth/token", data={**FORM, **change})
    assert (answer.status_code, answer.json()["error"]) == (status, error)
    assert "access_token" not in answer.json()


def test_app_tokens_expire_on_demand_and_lack_scopes(pd: tuple[PagerDutySimulator, httpx.Client]) -> None:
    _, http = pd
    auth = _bearer(http)
    assert http.get("/incidents", headers=auth).status_code == 200
    forbidden = http.put("/incidents/X", headers={**auth, "From": "alice@example.com"}, json={"incident": {}})
    assert forbidden.status_code == 403  # incidents.write was not asked for
    assert http.get("/services", headers=auth).status_code == 403
    assert http.post("/_sim/oauth/expire").json() == {"expired": 1}
    assert http.get("/incidents", headers=auth).status_code == 401
    assert http.get("/incidents", headers={"Authorization": "Bearer made-up"}).status_code == 401
    assert http.get("/incidents", headers={"Authorization": f"Bearer {KEY}"}).status_code == 401  # a key is no bearer
    assert http.get("/services", headers={"Authorization": f"Token token={KEY}"}).status_code == 200


def test_app_scopes_edited_apply_to_the_next_token(pd: tuple[PagerDutySimulator, httpx.Client]) -> None:
    _, http = pd
    old = _bearer(http, scope="as_account-us.sandbox services.read")
    assert http.get("/services", headers=old).status_code == 403
    http.post("/_sim/oauth/scopes", json={"scopes": ["services.read"]})
    assert http.get("/services", headers=old).status_code == 403
    assert http.get("/services", headers=_bearer(http, scope="as_account-us.sandbox services.read")).status_code == 200


def test_rate_limit_answers_429_with_ratelimit_reset(pd: tuple[PagerDutySimulator, httpx.Client]) -> None:
    sim, http = pd
    http.post("/_sim/rate_limit", json={"limit": 3, "window_seconds": 30})
    auth = {"Authorization": f"Token token={KEY}"}
    assert [http.get("/priorities", headers=auth).status_code for _ in range(3)] == [200, 200, 200]
    limited = http.get("/priorities", headers=auth)
    assert limited.status_code == 429 and limited.json()["error"]["code"] == 2020
    assert 1 <= int(limited.headers["ratelimit-reset"]) <= 30 and limited.headers["ratelimit-remaining"] == "0"
    assert sim.rate_limited == 1
