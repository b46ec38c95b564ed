"""Identity mapping against the simulators over HTTP: explicit table, exact email match, misses, cache."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx
import pytest
import pytest_asyncio
from slack_sdk.web.async_client import AsyncWebClient

from activities.identity import Directory, IdentityMiss
from activities.pagerduty_api import PagerDutyApi
from settings import BridgeConfig, Identity, Routing
from simulators.pagerduty import PagerDutySimulator
from simulators.server import ServedApp
from simulators.slack import SlackSimulator


@dataclass
class World:
    pd: PagerDutySimulator
    slack: SlackSimulator
    api: PagerDutyApi
    client: AsyncWebClient
    now: list[float]

    def directory(self, table: dict[str, str] | None = None, ttl: float = 300.0) -> Directory:
        config = BridgeConfig(routing=Routing(default_channel="C0DEFAULT"),
                              identity=Identity(slack_to_pagerduty=table or {}))
        return Directory(self.api, self.client, config, ttl=ttl, clock=lambda: self.now[0])

    def pd_user_reads(self) -> int:
        return sum(1 for r in self.pd.requests if r.path.startswith("/users"))


@pytest_asyncio.fixture
async def world() -> AsyncIterator[World]:
    pd = PagerDutySimulator(token="t")
    slack = SlackSimulator(signing_secret="s", bot_token="xoxb-t")
    pd.seed_demo()
    slack.seed_demo()
    pd.add_user("PUMALIC", "Mal Ice", "malice@example.com")  # "alice@example.com" is a substring of this email
    slack.add_user("U0UPPER", "upper", "Carol@Example.COM")
    with ServedApp(pd.app) as pd_server, ServedApp(slack.app) as slack_server:
        async with httpx.AsyncClient(base_url=pd_server.url) as http:
            client = AsyncWebClient(token="xoxb-t", base_url=f"{slack_server.url}/api/")
            yield World(pd, slack, PagerDutyApi(http, "t"), client, [0.0])
    pd.close()


async def test_email_match_is_exact_not_substring(world: World) -> None:
    person, teams = await world.directory().person("U0ALICE")
    assert (person.pd_id, person.email, teams) == ("PUALICE", "alice@example.com", ["PTPAY01"])


async def test_email_match_ignores_case(world: World) -> None:
    person, _ = await world.directory().person("U0UPPER")
    assert person.pd_id == "PUCAROL"


async def test_explicit_table_wins_over_email(world: World) -> None:
    person, _ = await world.directory({"U0ALICE": "PUBOB01"}).person("U0ALICE")
    assert person.pd_id == "PUBOB01" and person.email == "bob@example.com"


async def test_miss_says_which_email_to_the_person_and_where_to_map_in_the_log(
        world: World, caplog: pytest.LogCaptureFixture) -> None:
    with pytest.raises(IdentityMiss) as miss:
        await world.directory().person("U0EVE")
    assert "eve@example.com" in str(miss.value) and "[identity" not in str(miss.value)
    assert "[identity.slack_to_pagerduty]" in caplog.text


async def test_explicit_entry_naming_no_pagerduty_user_is_a_clear_miss(world: World) -> None:
    with pytest.raises(IdentityMiss) as miss:
        await world.directory({"U0ALICE": "PNOSUCH"}).person("U0ALICE")
    assert "no longer has" in str(miss.value) and "PNOSUCH" not in str(miss.value)


async def test_lookups_are_cached_for_the_ttl(world: World) -> None:
    directory = world.directory(ttl=60)
    await directory.person("U0ALICE")
    reads = world.pd_user_reads()
    await directory.person("U0ALICE")
    assert world.pd_user_reads() == reads
    world.now[0] += 61
    await directory.person("U0ALICE")
    assert world.pd_user_reads() == reads + 1


async def test_reverse_mapping_for_mentions(world: World) -> None:
    directory = world.directory({"U0LEAD": "PUDAVE1"})
    assert await directory.slack_user_for("PUALICE") == "U0ALICE"
    assert await directory.slack_user_for("PUDAVE1") == "U0LEAD"  # the explicit table, reversed
    assert await directory.slack_user_for("PUMALIC") is None  # no Slack account: the name is shown


async def test_incident_teams_include_service_and_policy_teams(world: World) -> None:
    incident = world.pd.trigger("PSVC002", "db slow")
    world.pd.incidents[incident].team_ids = []
    assert await world.directory().incident_teams(incident) == ["PTPLAT1"]
