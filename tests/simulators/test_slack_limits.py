"""The simulated Slack enforces Slack's documented rate limits when asked to, and counts every call."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from activities.errors import SlackRateLimited, slack_error
from simulators.server import ServedApp
from simulators.slack import SlackSimulator

BOT_TOKEN = "xoxb-sim-bot"


class FakeClock:
    """Seconds that move only when the test says so."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def sim(clock: FakeClock) -> SlackSimulator:
    slack = SlackSimulator("signing-secret", BOT_TOKEN, rate_limits=True, clock=clock)
    slack.seed_demo()
    return slack


def post(sim: SlackSimulator, channel: str = "C0PAYMENTS") -> tuple[int, dict[str, Any], dict[str, str]]:
    return sim.call("chat.postMessage", {"channel": channel, "text": "[TRIGGERED] disk full"}, BOT_TOKEN)


def update(sim: SlackSimulator, ts: str) -> tuple[int, dict[str, Any], dict[str, str]]:
    return sim.call("chat.update", {"channel": "C0PAYMENTS", "ts": ts, "text": "[ACKNOWLEDGED] disk full"}, BOT_TOKEN)


def test_a_channel_takes_a_short_burst_then_one_message_a_second(sim: SlackSimulator, clock: FakeClock) -> None:
    burst = [post(sim)[0] for _ in range(5)]
    assert burst == [200, 200, 200, 200, 429]
    assert len(sim.messages("C0PAYMENTS")) == 4  # the refused post left nothing in the channel
    clock.advance(1.0)
    assert [post(sim)[0] for _ in range(2)] == [200, 429]
    clock.advance(0.5)
    assert post(sim)[0] == 429
    clock.advance(0.5)
    assert post(sim)[0] == 200
    clock.advance(60.0)  # a quiet minute refills the burst, and no more than the burst
    assert [post(sim)[0] for _ in range(5)] == [200, 200, 200, 200, 429]


def test_channels_are_limited_independently(sim: SlackSimulator) -> None:
    assert [post(sim, "C0PAYMENTS")[0] for _ in range(5)][-1] == 429
    assert [post(sim, "C0PLATFORM")[0] for _ in range(4)] == [200] * 4
    assert post(sim, "#incidents")[0] == 200  # channels named instead of by id share the id's bucket
    assert post(sim, "C0DEFAULT")[0] == 200


def test_429_carries_whole_seconds_of_retry_after_and_ratelimited(sim: SlackSimulator, clock: FakeClock) -> None:
    for _ in range(4):
        post(sim)
    status, body, headers = post(sim)
    assert (status, body) == (429, {"ok": False, "error": "ratelimited"})
    assert headers["Retry-After"] == "1"
    clock.advance(0.9)
    assert post(sim)[2]["Retry-After"] == "1"  # never 0, so a client honouring it waits
    assert sim.calls_to("chat.postMessage")[-1].error == "ratelimited"


def test_updates_are_limited_per_workspace_at_tier_3(sim: SlackSimulator, clock: FakeClock) -> None:
    roots = []
    for channel in ("C0PAYMENTS", "C0PLATFORM"):
        roots.append((channel, post(sim, channel)[1]["ts"]))
    statuses = [
        sim.call("chat.update", {"channel": channel, "ts": ts, "text": "[RESOLVED]"}, BOT_TOKEN)[0]
        for _ in range(3)
        for channel, ts in roots
    ]
    assert statuses == [200] * 5 + [429]  # both channels draw on one workspace budget
    status, _, headers = update(sim, roots[0][1])
    assert status == 429 and headers["Retry-After"] == "2"  # 50 a minute: one every 1.2 s
    clock.advance(60.0)
    accepted = sum(update(sim, roots[0][1])[0] == 200 for _ in range(60))
    assert accepted == 5  # a minute's rest restores the burst only
    clock.advance(60.0)
    accepted = 0
    for _ in range(240):  # two minutes of one attempt every half second
        clock.advance(0.5)
        accepted += update(sim, roots[0][1])[0] == 200
    assert 100 <= accepted <= 106  # about 50 a minute, plus the burst
    assert post(sim)[0] == 200  # posting is limited separately from updating


def test_counts_per_method_and_channel(sim: SlackSimulator) -> None:
    for _ in range(6):
        post(sim, "C0PAYMENTS")
    post(sim, "C0PLATFORM")
    sim.call("users.lookupByEmail", {"email": "alice@example.com"}, BOT_TOKEN)
    counts = {(c.method, c.channel): (c.calls, c.ratelimited) for c in sim.call_counts()}
    assert counts == {
        ("chat.postMessage", "C0PAYMENTS"): (6, 2),
        ("chat.postMessage", "C0PLATFORM"): (1, 0),
        ("users.lookupByEmail", ""): (1, 0),
    }


def test_limits_are_off_unless_switched_on(clock: FakeClock) -> None:
    sim = SlackSimulator("signing-secret", BOT_TOKEN, clock=clock)
    sim.seed_demo()
    assert all(post(sim)[0] == 200 for _ in range(20))
    assert [(c.method, c.calls, c.ratelimited) for c in sim.call_counts()] == [("chat.postMessage", 20, 0)]
    sim.enforce_rate_limits()
    assert [post(sim)[0] for _ in range(5)][-1] == 429


@pytest.fixture
def served(sim: SlackSimulator) -> Iterator[str]:
    with ServedApp(sim.app) as app:
        yield app.url


async def test_slack_sdk_sees_the_429_with_its_retry_after(sim: SlackSimulator, served: str) -> None:
    client = AsyncWebClient(token=BOT_TOKEN, base_url=served + "/api/")
    for _ in range(4):
        await client.chat_postMessage(channel="C0PAYMENTS", text="[TRIGGERED] disk full")
    with pytest.raises(SlackApiError) as raised:
        await client.chat_postMessage(channel="C0PAYMENTS", text="[TRIGGERED] disk full")
    response = raised.value.response
    assert response.status_code == 429 and response["error"] == "ratelimited"
    assert response.headers["Retry-After"] == "1"
    # What the bridge makes of it: a retryable error that waits exactly Retry-After.
    error = slack_error(response.status_code, response["error"], response.headers["Retry-After"], "post")
    assert isinstance(error, SlackRateLimited) and error.retryable
    assert error.next_retry_delay is not None and error.next_retry_delay.total_seconds() == 1.0


async def test_control_endpoint_reports_counts_and_switches_limits(sim: SlackSimulator, served: str) -> None:
    async with httpx.AsyncClient(base_url=served) as http:
        assert (await http.post("/_sim/limits", json={"enabled": False})).json() == {"enabled": False}
        for _ in range(6):
            post(sim)
        report = (await http.get("/_sim/limits")).json()
        assert report == {
            "enabled": False,
            "counts": [{"method": "chat.postMessage", "channel": "C0PAYMENTS", "calls": 6, "ratelimited": 0}],
        }
        await http.post("/_sim/limits", json={"enabled": True, "reset": True})
        statuses = [post(sim)[0] for _ in range(5)]
        assert statuses[-1] == 429
        (count,) = (await http.get("/_sim/limits")).json()["counts"]
        assert (count["calls"], count["ratelimited"]) == (5, 1)
