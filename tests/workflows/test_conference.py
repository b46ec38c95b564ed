"""The reducer on the incident's conference link: asked once the channel exists (only by runs with the
"conference-link" patch), as who clicked Create channel, asked again by a new run, a failure told once."""

from __future__ import annotations

from typing import Any

from tests.factories import action as click
from tests.factories import at, pd_event, resolved_actor
from workflows import conference
from workflows.channel_models import ChannelCreated, ChannelPolicy, ConferenceLinkSet, SetConferenceLink
from workflows.dedicated import holds_open
from workflows.models import ActionKind, Effect, IncidentState, MessagePosted, Resumed, Timing
from workflows.state import reduce


def created(set_conference: bool = True, **policy: Any) -> tuple[IncidentState, list[Effect]]:
    state = IncidentState(incident_id="PINC001", timing=Timing(), channels=ChannelPolicy(**policy))
    state, _ = reduce(state, pd_event("incident.triggered", 0, agent=None), at(0))
    state, _ = reduce(state, MessagePosted(channel="C0PAYMENTS", ts="1.1"), at(1))
    if policy.get("dedicated") != "always":
        state, _ = reduce(state, click(ActionKind.CREATE_CHANNEL), at(2))
        state, _ = reduce(state, resolved_actor(state.commands[-1].id), at(3))
    return reduce(state, ChannelCreated(channel="C0INC", name="inc-42", set_conference=set_conference), at(4))


def links(effects: list[Effect]) -> list[SetConferenceLink]:
    return [e for e in effects if isinstance(e, SetConferenceLink)]


def test_the_link_is_asked_for_as_the_clicker_once_the_channel_exists() -> None:
    state, effects = created()
    assert links(effects) == [SetConferenceLink(incident_id="PINC001", channel="C0INC",
                                                actor_email="alice@example.com")]
    assert holds_open(state)
    state, effects = reduce(state, ConferenceLinkSet(url="https://w.slack.com/archives/C0INC"), at(5))
    assert state.dedicated.conference_link == "done" and not links(effects) and not conference.busy(state)


def test_a_channel_made_by_policy_asks_for_it_as_nobody() -> None:
    _, effects = created(dedicated="always")
    assert [link.actor_email for link in links(effects)] == [None]


def test_runs_before_the_patch_never_ask() -> None:
    state, effects = created(set_conference=False)
    assert not links(effects) and state.dedicated.conference_link == ""


def test_a_new_run_asks_again_and_a_failure_is_told_once() -> None:
    state, _ = created()
    state, effects = reduce(state, Resumed(), at(5))
    assert len(links(effects)) == 1
    before = len(state.replies)
    state, _ = reduce(state, ConferenceLinkSet(error="PagerDuty refused it"), at(6))
    state, _ = reduce(state, ConferenceLinkSet(error="PagerDuty refused it"), at(7))
    assert len(state.replies) == before + 1 and "PagerDuty refused it" in state.replies[-1].texts[0]
    assert state.dedicated.phase == "ready" and state.dedicated.conference_link == "failed"
