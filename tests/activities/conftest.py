"""The PagerDuty and Slack simulators served on loopback, with the bridge's clients pointed at them."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx
import pytest_asyncio
from slack_sdk.web.async_client import AsyncWebClient

from activities.identity import Directory
from activities.pagerduty import PagerDutyActivities
from activities.pagerduty_api import PagerDutyApi
from settings import BridgeConfig, Routing
from simulators.pagerduty import PagerDutySimulator
from simulators.server import ServedApp
from simulators.slack import SlackSimulator


@dataclass
class Live:
    pd: PagerDutySimulator
    slack: SlackSimulator
    api: PagerDutyApi
    client: AsyncWebClient
    config: BridgeConfig
    now: list[float]

    @property
    def activities(self) -> PagerDutyActivities:
        return PagerDutyActivities(self.api)

    def directory(self, ttl: float = 300.0) -> Directory:
        return Directory(self.api, self.client, self.config, ttl=ttl, clock=lambda: self.now[0])


@pytest_asyncio.fixture
async def live() -> AsyncIterator[Live]:
    pd = PagerDutySimulator(token="t")
    slack = SlackSimulator(signing_secret="s", bot_token="xoxb-t")
    pd.seed_demo()
    slack.seed_demo()
    with ServedApp(pd.app) as pd_server, ServedApp(slack.app) as slack_server:
        # A short timeout lets a test lose a response the simulator holds back (respond_late).
        async with httpx.AsyncClient(base_url=pd_server.url, timeout=1.0) as http:
            client = AsyncWebClient(token="xoxb-t", base_url=f"{slack_server.url}/api/")
            config = BridgeConfig(routing=Routing(default_channel="C0DEFAULT"))
            yield Live(pd, slack, PagerDutyApi(http, "t"), client, config, [0.0])
    pd.close()
