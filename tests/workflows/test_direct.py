"""The reducer's direct messages to assignees: who is asked for one, and how many."""

from __future__ import annotations

from tests.factories import action as click
from tests.factories import at, pd_event
from workflows.dm_models import DirectMessageOpened, OpenDirectMessage
from workflows.models import ActionKind, Effect, IncidentState, Ref, Timing
from workflows.rules import Rules
from workflows.state import reduce

PEOPLE = [Ref(id=f"PU{i}", summary=f"Person {i}") for i in range(8)]


def _asked(effects: list[Effect]) -> list[str]:
    return [e.pd_user for e in effects if isinstance(e, OpenDirectMessage)]


def _assigned(state: IncidentState, seconds: float, *who: int) -> tuple[IncidentState, list[str]]:
    kind = "incident.triggered" if not state.known else "incident.reassigned"
    state, effects = reduce(state, pd_event(kind, seconds, assignees=[PEOPLE[i] for i in who]), at(seconds),
                            Rules(direct_messages=True))
    return state, _asked(effects)


def _answered(state: IncidentState, who: int, channel: str | None) -> IncidentState:
    opened = DirectMessageOpened(pd_user=PEOPLE[who].id, channel=channel, slack_user=f"U{who}" if channel else None,
                                 reason="" if channel else "has not turned direct messages on")
    return reduce(state, opened, at(0), Rules(direct_messages=True))[0]


def test_people_who_get_no_direct_message_do_not_use_up_the_five() -> None:
    # Five assignees in a row who never opted in; then the incident goes to someone who did: they get one.
    state = IncidentState(incident_id="PINC001", timing=Timing())
    for i in range(5):
        state, asked = _assigned(state, i, i)
        assert asked == [PEOPLE[i].id]
        state = _answered(state, i, None)
    state, asked = _assigned(state, 10, 5)
    assert asked == [PEOPLE[5].id]


def test_at_most_five_people_get_a_direct_message_per_incident() -> None:
    state = IncidentState(incident_id="PINC001", timing=Timing())
    state, asked = _assigned(state, 0, 0, 1, 2, 3, 4, 5, 6)  # an escalation level of seven people
    assert asked == [p.id for p in PEOPLE[:5]]


def test_someone_assigned_again_is_asked_again() -> None:
    # Bob had not opted in when first assigned; he turns direct messages on, and the incident comes back to him.
    state = IncidentState(incident_id="PINC001", timing=Timing())
    state, _ = _assigned(state, 0, 1)
    state = _answered(state, 1, None)
    state, asked = _assigned(state, 1, 2)
    assert asked == [PEOPLE[2].id]
    state, asked = _assigned(state, 2, 1)
    assert asked == [PEOPLE[1].id]
    state = _answered(state, 1, "D0BOB")
    state, asked = _assigned(state, 3, 1, 2)  # still assigned: not asked twice
    assert PEOPLE[1].id not in asked


def test_a_click_on_a_forgotten_direct_message_never_becomes_the_channels_message() -> None:
    # A run that knows no message yet (an earlier run's memory was lost) gets a click from Alice's old DM.
    state = IncidentState(incident_id="PINC001", timing=Timing())
    state, _ = reduce(state, pd_event("incident.triggered", 0, assignees=[PEOPLE[0]]), at(0))
    dm_click = click(ActionKind.ACKNOWLEDGE).model_copy(update={"channel": "D0ALICE", "message_ts": "1700.000001"})
    state, _ = reduce(state, dm_click, at(1))
    assert state.channel is None and state.ts is None
    channel_click = click(ActionKind.ACKNOWLEDGE).model_copy(update={"message_ts": "1700.000002"})
    state, _ = reduce(state, channel_click, at(2))
    assert (state.channel, state.ts) == ("C0PAYMENTS", "1700.000002")
