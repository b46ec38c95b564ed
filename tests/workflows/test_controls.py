"""The reducer for the further controls (snooze, priority, add responder) and the Slack trigger's line."""

from __future__ import annotations

from typing import Any

import pytest

from tests.factories import ALICE, BOB, at, new_state, pd_event, resolved_actor, snapshot
from tests.factories import action as click
from workflows.models import (
    ActionKind,
    CommandPhase,
    Event,
    IncidentState,
    ReadIncident,
    Ref,
    ResolveActor,
    Status,
    TellUser,
    Tick,
    WriteOutcome,
    WriteToPagerDuty,
)
from workflows.state import next_deadline, reduce
from workflows.view import message_view

P1 = {"choice": "PPRIO01", "choice_label": "P1"}


def started(status: Status = Status.TRIGGERED) -> IncidentState:
    state, _ = reduce(new_state(), pd_event("incident.triggered", 0, agent=None), at(0))
    if status is Status.ACKNOWLEDGED:
        state, _ = reduce(state, pd_event("incident.acknowledged", 5), at(5))
    return state


def thread(state: IncidentState) -> list[str]:
    return [r.text for r in state.replies]


def sent(state: IncidentState, kind: ActionKind, now: float, **extra: Any) -> tuple[IncidentState, WriteToPagerDuty]:
    """Clicked by Alice, identity and authorization passed: the write PagerDuty is asked for."""
    state, effects = reduce(state, click(kind, **extra), at(now))
    assert [type(e) for e in effects] == [ResolveActor], effects
    target = BOB if extra.get("target_slack_user") else None
    state, effects = reduce(state, resolved_actor(f"c{state.next_command_no - 1}", target=target), at(now + 1))
    write = effects[0]
    assert isinstance(write, WriteToPagerDuty) and write.actor_email == ALICE.email
    return state, write


def priority_echo(seconds: float, agent: Any = ALICE, priority_id: str = "PPRIO01") -> Event:
    return pd_event("incident.priority_updated", seconds, agent=agent, priority="P1", priority_id=priority_id)


def responder_echo(seconds: float, agent: Any = ALICE, responder: Ref | None = None) -> Event:
    event = pd_event("incident.responder.added", seconds, agent=agent)
    return event.model_copy(update={"responder": responder or Ref(id=BOB.pd_id, summary=BOB.name),
                                    "responder_message": "Please help with #42"})


# ---- priority ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("echo_first", [False, True])
def test_priority_echo_confirms_and_is_not_shown_as_made_in_pagerduty(echo_first: bool) -> None:
    state, write = sent(started(), ActionKind.PRIORITY, 10, **P1)
    assert write.action is ActionKind.PRIORITY and write.choice == "PPRIO01"
    outcome = WriteOutcome(command_id="c1", result="applied", snapshot=snapshot(priority="P1", priority_id="PPRIO01"))
    events: list[Event] = [priority_echo(12), outcome] if echo_first else [outcome, priority_echo(12)]
    for event in events:
        state, _ = reduce(state, event, at(13))
    assert thread(state) == [":label: Priority set to {t0} by <@U0ALICE> from Slack"]
    assert state.replies[-1].texts == ["P1"]
    assert state.commands[0].phase is CommandPhase.APPLIED and state.commands[0].echo_seen


def test_same_priority_change_by_someone_else_is_external() -> None:
    state, _ = sent(started(), ActionKind.PRIORITY, 10, **P1)
    state, _ = reduce(state, priority_echo(11, agent=BOB), at(11))
    assert thread(state) == [":label: Priority changed to {t0} by {p0} in PagerDuty"]
    assert state.commands[0].phase is CommandPhase.SENDING


def test_other_priority_by_the_clicker_is_not_this_commands_echo() -> None:
    state, _ = sent(started(), ActionKind.PRIORITY, 10, **P1)
    state, _ = reduce(state, WriteOutcome(command_id="c1", result="applied"), at(11))
    state, _ = reduce(state, priority_echo(12, priority_id="PPRIO05"), at(12))
    assert thread(state)[-1].endswith("in PagerDuty")


def test_late_priority_echo_after_the_deadline_stays_ours() -> None:
    state, _ = sent(started(), ActionKind.PRIORITY, 10, **P1)
    state, _ = reduce(state, WriteOutcome(command_id="c1", result="applied"), at(12))
    deadline = next_deadline(state)
    assert deadline == at(12 + state.timing.confirmation_deadline_seconds)
    state, effects = reduce(state, Tick(), deadline)
    assert any(isinstance(e, ReadIncident) for e in effects)
    state, _ = reduce(state, priority_echo(11), at(3600))
    assert thread(state) == [":label: Priority set to {t0} by <@U0ALICE> from Slack"]


def test_choosing_the_priority_the_incident_has_sends_nothing() -> None:
    state, _ = reduce(started(), priority_echo(3, agent=BOB), at(3))
    state, effects = reduce(state, click(ActionKind.PRIORITY, **P1), at(10))
    assert [type(e) for e in effects] == [TellUser] and state.commands == []


# ---- add responder --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("echo_first", [False, True])
def test_responder_echo_confirms_with_the_default_message(echo_first: bool) -> None:
    state, write = sent(started(), ActionKind.ADD_RESPONDER, 10, target_slack_user="U0BOB")
    assert write.target_pd_id == BOB.pd_id and write.actor_pd_id == ALICE.pd_id
    assert write.note == "Please help with #42"
    outcome = WriteOutcome(command_id="c1", result="applied")
    events: list[Event] = [responder_echo(12), outcome] if echo_first else [outcome, responder_echo(12)]
    for event in events:
        state, _ = reduce(state, event, at(13))
    assert thread(state) == [":sos: <@U0ALICE> asked <@U0BOB> to respond, from Slack: {t0}"]
    assert state.commands[0].echo_seen


def test_responder_request_by_someone_else_is_external() -> None:
    state, _ = sent(started(), ActionKind.ADD_RESPONDER, 10, target_slack_user="U0BOB")
    state, _ = reduce(state, responder_echo(11, agent=BOB), at(11))
    assert thread(state) == [":sos: {p0} asked {p1} to respond in PagerDuty: {t0}"]
    assert state.commands[0].phase is CommandPhase.SENDING


def test_late_responder_echo_stays_ours() -> None:
    state, _ = sent(started(), ActionKind.ADD_RESPONDER, 10, target_slack_user="U0BOB")
    state, _ = reduce(state, WriteOutcome(command_id="c1", result="applied"), at(12))
    deadline = next_deadline(state)
    assert deadline is not None
    state, _ = reduce(state, Tick(), deadline)
    state, _ = reduce(state, responder_echo(11), at(7200))
    assert len(thread(state)) == 1 and "from Slack" in thread(state)[0]


def test_responder_without_pagerduty_user_is_refused() -> None:
    state, _ = reduce(started(), click(ActionKind.ADD_RESPONDER, target_slack_user="U0EVE"), at(10))
    state, effects = reduce(state, resolved_actor("c1", target=None), at(11))
    assert [type(e) for e in effects] == [TellUser]
    assert isinstance(effects[0], TellUser) and "ask for help has no PagerDuty user" in effects[0].text


# ---- snooze ---------------------------------------------------------------------------------------------------


def test_snooze_of_a_triggered_incident_is_refused_without_a_write() -> None:
    state, effects = reduce(started(), click(ActionKind.SNOOZE, choice="3600"), at(10))
    assert [type(e) for e in effects] == [TellUser] and state.commands == []
    assert isinstance(effects[0], TellUser) and "only an acknowledged incident can be snoozed" in effects[0].text


def test_snooze_length_outside_the_offered_ones_is_refused() -> None:
    _, effects = reduce(started(Status.ACKNOWLEDGED), click(ActionKind.SNOOZE, choice="999999"), at(10))
    assert [type(e) for e in effects] == [TellUser]


def _snoozed() -> IncidentState:
    state, write = sent(started(Status.ACKNOWLEDGED), ActionKind.SNOOZE, 10, choice="3600")
    assert write.choice == "3600"
    state, _ = reduce(state, WriteOutcome(command_id="c1", result="applied",
                                          snapshot=snapshot(Status.ACKNOWLEDGED)), at(12))
    return state


def test_snooze_is_confirmed_by_the_writes_answer_without_waiting_for_a_webhook() -> None:
    state = _snoozed()
    assert thread(state)[1:] == [":zzz: Snoozed for 1 h by <@U0ALICE> from Slack; PagerDuty triggers it again when "
                             "the snooze ends"]
    assert state.commands[0].confirmed
    # No echo will come: the confirmation deadline must not ask PagerDuty for a read.
    assert next_deadline(state) != at(12 + state.timing.confirmation_deadline_seconds)
    view = message_view(state)
    assert view is not None and view.outcome == ":heavy_check_mark: Snoozed by <@U0ALICE> from Slack"


def test_the_snooze_ending_is_told_as_the_snooze_not_as_an_unexplained_change() -> None:
    state, _ = reduce(_snoozed(), pd_event("incident.unacknowledged", 12 + 3600, agent=None), at(3613))
    assert state.status is Status.TRIGGERED
    assert thread(state)[-1] == ":alarm_clock: The snooze <@U0ALICE> set from Slack ended: PagerDuty triggered " \
                                "the incident again"
    # Once over, a later timeout is a timeout again.
    state, _ = reduce(state, pd_event("incident.acknowledged", 3620, agent=BOB), at(3620))
    state, _ = reduce(state, pd_event("incident.unacknowledged", 3900, agent=None), at(3900))
    assert "acknowledgement timed out" in thread(state)[-1]


def test_an_unacknowledge_long_after_the_snooze_should_have_ended_is_not_its_end() -> None:
    state, _ = reduce(_snoozed(), pd_event("incident.unacknowledged", 3 * 3600, agent=None), at(3 * 3600))
    assert "acknowledgement timed out" in thread(state)[-1]


def test_an_unacknowledge_by_a_person_during_the_snooze_is_theirs() -> None:
    state, _ = reduce(_snoozed(), pd_event("incident.unacknowledged", 600, agent=BOB), at(600))
    assert "snooze" not in thread(state)[-1]


# ---- authorization, for every further control ----------------------------------------------------------------


CLICKS: list[tuple[ActionKind, dict[str, str], Status]] = [
    (ActionKind.SNOOZE, {"choice": "14400"}, Status.ACKNOWLEDGED),
    (ActionKind.PRIORITY, P1, Status.TRIGGERED),
    (ActionKind.ADD_RESPONDER, {"target_slack_user": "U0BOB"}, Status.TRIGGERED),
]


@pytest.mark.parametrize(("kind", "extra", "status"), CLICKS, ids=[c[0].value for c in CLICKS])
def test_other_team_is_refused_and_admin_allowed(kind: ActionKind, extra: dict[str, str], status: Status) -> None:
    state, _ = reduce(started(status), click(kind, user="U0CAROL", **extra), at(20))
    refused, effects = reduce(state, resolved_actor("c1", target=BOB, actor_team_ids=["PTPLAT1"]), at(21))
    assert [type(e) for e in effects] == [TellUser] and refused.commands[0].phase is CommandPhase.REFUSED
    _, effects = reduce(state, resolved_actor("c1", target=BOB, actor_team_ids=[], is_admin=True), at(21))
    assert [type(e) for e in effects] == [WriteToPagerDuty]


@pytest.mark.parametrize(("kind", "extra", "status"), CLICKS, ids=[c[0].value for c in CLICKS])
def test_failed_write_is_told_and_shown(kind: ActionKind, extra: dict[str, str], status: Status) -> None:
    state, _ = sent(started(status), kind, 20, **extra)
    state, effects = reduce(state, WriteOutcome(command_id="c1", result="failed", detail="PagerDuty refused it"),
                            at(30))
    assert {type(e) for e in effects} == {TellUser, ReadIncident}
    assert thread(state)[-1].startswith(":warning: ") and "failed" in thread(state)[-1]
    view = message_view(state)
    assert view is not None and view.outcome is not None and "failed" in view.outcome


# ---- a trigger from Slack ------------------------------------------------------------------------------------


@pytest.mark.parametrize(("agent", "key", "shown"), [
    (ALICE, "slack-0123abcd", True),  # `/pd trigger`: the person, a slack- key
    (None, "slack-0123abcd", False),  # a service or integration: no person to credit
    (ALICE, "a1b2c3", False),  # a person in PagerDuty's web UI: PagerDuty's own business
])
def test_trigger_from_slack_says_who(agent: Any, key: str, shown: bool) -> None:
    trigger = pd_event("incident.triggered", 0, agent=agent).model_copy(update={"incident_key": key})
    state, _ = reduce(new_state(), trigger, at(0))
    if shown:
        assert thread(state) == [":rotating_light: Triggered by {p0} from Slack"]
        assert state.replies[0].people[0].id == ALICE.pd_id
    else:
        assert thread(state) == []
