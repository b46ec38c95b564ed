"""The incident's channel on the incident: once the bridge creates it, PagerDuty's conference link for the
incident opens it (as the person who clicked Create channel); a refusal is told once and changes nothing else."""

from __future__ import annotations

from ops.sandbox import Sandbox
from settings import Channels
from tests.e2e.conftest import SandboxFactory, first_root, reply_texts, until
from tests.e2e.test_dedicated_channels import CHANNEL, _click, _created, _incident


def _link_writes(sb: Sandbox, incident: str) -> list[tuple[dict[str, object], str | None]]:
    puts = [r for r in sb.pd.writes() if r.method == "PUT" and r.path == f"/incidents/{incident}" and r.status == 200]
    changes = [((r.json or {}).get("incident") or {}, r.headers.get("from")) for r in puts]
    return [(change["conference_bridge"], sender) for change, sender in changes if "conference_bridge" in change]


async def test_the_channel_becomes_the_incidents_conference_link_as_the_clicker(sandbox: Sandbox) -> None:
    incident, message = await _incident(sandbox)
    await _click(sandbox, CHANNEL, message, "pd_create_channel", "U0ALICE")
    channel, _ = await _created(sandbox)
    url = f"https://{sandbox.slack.team_domain}.slack.com/archives/{channel.id}"
    await until(lambda: sandbox.pd.conference_bridge(incident), what="the conference link in PagerDuty")
    assert sandbox.pd.conference_bridge(incident) == {"conference_url": url}
    assert _link_writes(sandbox, incident) == [({"conference_url": url}, "alice@example.com")]


async def test_a_refused_conference_link_is_told_once_and_the_channel_works(sandbox: Sandbox) -> None:
    incident, message = await _incident(sandbox)
    sandbox.pd.fail(f"/incidents/{incident}", 400, method="PUT", body={
        "error": {"message": "Invalid Input Provided", "code": 2001, "errors": ["conference_url is not allowed"]}})
    await _click(sandbox, CHANNEL, message, "pd_create_channel", "U0ALICE")
    channel, dedicated = await _created(sandbox)
    warning = await until(lambda: [t for t in reply_texts(dedicated) if "conference link" in t], what="warning")
    assert len(warning) == 1 and "conference_url is not allowed" in warning[0]
    sandbox.pd.clear_faults()
    await _click(sandbox, channel.id, dedicated, "pd_acknowledge", "U0ALICE")
    await until(lambda: any("Acknowledged by <@U0ALICE>" in t for t in reply_texts(dedicated)), what="ack")
    assert sandbox.pd.conference_bridge(incident) is None
    assert [t for t in reply_texts(dedicated) if "conference link" in t] == warning
    assert first_root(sandbox, channel.id) is dedicated


async def test_a_channel_the_policy_made_gets_its_link_as_the_first_person_who_acts(
        make_sandbox: SandboxFactory) -> None:
    # PagerDuty changes an incident only as a person (From), and nobody asked for this channel: no warning in
    # its thread, and nobody is named who did not act; the link is set as the first person who acts from Slack.
    async with make_sandbox(channels=Channels(dedicated="always")) as sb:
        incident, _ = await _incident(sb)
        channel, dedicated = await _created(sb)
        await _click(sb, channel.id, dedicated, "pd_acknowledge", "U0ALICE")
        url = f"https://{sb.slack.team_domain}.slack.com/archives/{channel.id}"
        await until(lambda: sb.pd.conference_bridge(incident), what="the conference link in PagerDuty")
        assert _link_writes(sb, incident) == [({"conference_url": url}, "alice@example.com")]
        assert not [t for t in reply_texts(dedicated) if "conference link" in t]

