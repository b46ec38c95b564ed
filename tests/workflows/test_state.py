"""The reducer alone: every status x event pair, ordering, duplicates, echo suppression, deadlines."""

from __future__ import annotations

from datetime import timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.factories import ALICE, BOB, at, new_state, pd_event, resolved_actor, snapshot
from tests.factories import action as click
from workflows.models import (
    ActionKind,
    Command,
    CommandPhase,
    EscalationPlanned,
    Event,
    IncidentRead,
    IncidentState,
    Person,
    ReadIncident,
    Ref,
    ResolveActor,
    Status,
    TellUser,
    Tick,
    WriteOutcome,
    WriteToPagerDuty,
)
from workflows.rules import Rules
from workflows.state import EVENT_STATUS, next_deadline, reduce
from workflows.view import message_view

STATUS_EVENTS = list(EVENT_STATUS)
ADDITIVE_EVENTS = ["incident.escalated", "incident.reassigned", "incident.delegated", "incident.priority_updated",
                   "incident.annotated", "incident.responder.added"]


def started(status: Status = Status.TRIGGERED, at_seconds: float = 10) -> IncidentState:
    """An incident the bridge knows, whose last status change happened at `at_seconds`."""
    state, _ = reduce(new_state(), pd_event("incident.triggered", 0), at(0))
    if status is not Status.TRIGGERED:
        kind = "incident.acknowledged" if status is Status.ACKNOWLEDGED else "incident.resolved"
        state, _ = reduce(state, pd_event(kind, at_seconds), at(at_seconds))
    return state


def replies(state: IncidentState) -> list[str]:
    return [r.text for r in state.replies]


@pytest.mark.parametrize("current", list(Status))
@pytest.mark.parametrize("event_type", STATUS_EVENTS)
def test_newer_status_event_sets_its_status(current: Status, event_type: str) -> None:
    state = started(current)
    after, _ = reduce(state, pd_event(event_type, 100), at(100))
    assert after.status is EVENT_STATUS[event_type]
    assert after.status_changed_at == at(100)


@pytest.mark.parametrize("current", [Status.ACKNOWLEDGED, Status.RESOLVED])
@pytest.mark.parametrize("event_type", STATUS_EVENTS)
def test_older_status_event_is_stale_and_only_audited(current: Status, event_type: str) -> None:
    state = started(current, at_seconds=50)
    after, effects = reduce(state, pd_event(event_type, 20), at(60))
    assert after.status is current
    assert replies(after) == replies(state)
    assert "stale" in after.audit[-1].note
    assert effects == []


@pytest.mark.parametrize("current", list(Status))
@pytest.mark.parametrize("event_type", ADDITIVE_EVENTS)
def test_additive_events_never_change_status_and_add_one_reply(current: Status, event_type: str) -> None:
    state = started(current)
    event = pd_event(event_type, 5, status=current, assignees=[])
    after, _ = reduce(state, event, at(60))
    assert after.status is current
    assert len(after.replies) == len(state.replies) + 1
    assert "in PagerDuty" in after.replies[-1].text


def test_external_acknowledge_names_the_person_and_pagerduty() -> None:
    after, _ = reduce(started(), pd_event("incident.acknowledged", 30, agent=BOB), at(30))
    reply = after.replies[-1]
    assert reply.text == ":eyes: Acknowledged by {p0} in PagerDuty"
    assert reply.people[0].id == BOB.pd_id


def test_duplicate_event_id_changes_nothing() -> None:
    state = started()
    ack = pd_event("incident.acknowledged", 30)
    once, _ = reduce(state, ack, at(30))
    twice, effects = reduce(once, ack, at(31))
    assert twice.replies == once.replies and twice.status is Status.ACKNOWLEDGED
    assert effects == [] and "duplicate" in twice.audit[-1].note


def test_first_event_other_than_trigger_reads_from_pagerduty_once() -> None:
    state, effects = reduce(new_state(), pd_event("incident.annotated", 5), at(5))
    assert [type(e) for e in effects] == [ReadIncident]
    state, effects = reduce(state, pd_event("incident.acknowledged", 6), at(6))
    assert effects == []  # a read is already on its way
    state, _ = reduce(state, IncidentRead(snapshot=snapshot(Status.ACKNOWLEDGED), status_changed_at=at(6)), at(7))
    assert state.known and state.status is Status.ACKNOWLEDGED and not state.read_in_flight


def test_conflicting_changes_with_the_same_timestamp_ask_pagerduty() -> None:
    state = started(Status.RESOLVED, at_seconds=30)
    after, effects = reduce(state, pd_event("incident.acknowledged", 30), at(31))
    assert after.status is Status.RESOLVED
    assert [type(e) for e in effects] == [ReadIncident]


def test_forward_change_with_the_same_timestamp_asks_pagerduty_too() -> None:
    # Acknowledged and unacknowledged in one millisecond, delivered in either order: only PagerDuty knows
    # which came last, so neither order may be guessed (the simulation found "forward wins" wrong).
    state = started(Status.TRIGGERED)
    state, _ = reduce(state, pd_event("incident.unacknowledged", 30), at(31))
    after, effects = reduce(state, pd_event("incident.acknowledged", 30), at(31))
    assert after.status is Status.TRIGGERED
    assert [type(e) for e in effects] == [ReadIncident]


def test_a_status_change_timed_like_a_snapshot_that_showed_another_status_asks_pagerduty() -> None:
    # Alice acknowledged and reassigned to herself in one millisecond (the reassign triggers again). The
    # reassign's webhook, whose snapshot says triggered, came first; the acknowledge's, from that same
    # millisecond, may be the older change: PagerDuty is asked, and the message does not guess.
    state = started(Status.TRIGGERED)
    state, _ = reduce(state, pd_event("incident.reassigned", 30, status=Status.TRIGGERED), at(31))
    after, effects = reduce(state, pd_event("incident.acknowledged", 30), at(31))
    assert after.status is Status.TRIGGERED
    assert [type(e) for e in effects] == [ReadIncident]
    read = next(e for e in effects if isinstance(e, ReadIncident))
    answered, _ = reduce(after, IncidentRead(snapshot=snapshot(Status.TRIGGERED), status_changed_at=at(30),
                                             read_no=read.read_no), at(32))
    assert answered.status is Status.TRIGGERED
    # Runs started before this rule replay as they were recorded: the acknowledge is taken.
    old, _ = reduce(state, pd_event("incident.acknowledged", 30), at(31), Rules(snapshot_ties=False))
    assert old.status is Status.ACKNOWLEDGED


def test_a_status_change_older_than_a_snapshot_that_showed_another_status_asks_pagerduty() -> None:
    # The acknowledge (12:00:30.000) came after the reassign that triggered the incident again (12:00:30.001):
    # the reassign's snapshot, newer, says triggered; the older acknowledge is not taken without asking.
    state = started(Status.TRIGGERED)
    state, _ = reduce(state, pd_event("incident.reassigned", 30.001, status=Status.TRIGGERED), at(31))
    after, effects = reduce(state, pd_event("incident.acknowledged", 30), at(31))
    assert after.status is Status.TRIGGERED
    assert [type(e) for e in effects] == [ReadIncident]


def test_a_webhook_credited_for_a_change_a_read_showed_first_keeps_its_time() -> None:
    # Alice reassigned (the incident triggered again) and acknowledged in one millisecond. The reassign's
    # webhook came, a read showed "acknowledged" (timed to the second), the acknowledge's webhook named her.
    # The reassign's, delivered again after a storm, is then timed like the last status change: PagerDuty is
    # asked, and the message never goes back to "triggered".
    state = started(Status.TRIGGERED)
    state, _ = reduce(state, pd_event("incident.reassigned", 30.001, status=Status.TRIGGERED), at(31))
    state, _ = reduce(state, IncidentRead(snapshot=snapshot(Status.ACKNOWLEDGED), status_changed_at=at(30)), at(31))
    state, _ = reduce(state, pd_event("incident.acknowledged", 30.001), at(31))
    assert state.status is Status.ACKNOWLEDGED and state.status_changed_at == at(30.001)
    again, effects = reduce(state, pd_event("incident.reassigned", 30.001, status=Status.TRIGGERED), at(32))
    assert again.status is Status.ACKNOWLEDGED
    assert any(isinstance(e, ReadIncident) for e in effects)


@pytest.mark.parametrize("floor_held", [True, False], ids=["now", "runs started before"])
def test_a_forgotten_change_delivered_again_while_a_click_waits_is_not_told_twice(floor_held: bool) -> None:
    # Alice acknowledged in PagerDuty (told in the thread), then clicked Acknowledge; a storm made the bridge
    # forget her webhook's id, and PagerDuty delivered it again while the click's write was out. The write
    # answers "already acknowledged" by her: her change is not told a second time.
    state = started(Status.TRIGGERED)
    state, _ = reduce(state, click(ActionKind.ACKNOWLEDGE), at(20))
    state, _ = reduce(state, pd_event("incident.acknowledged", 20), at(20))
    told = len(state.replies)
    state = state.model_copy(update={"event_floor": at(25), "seen_event_ids": [], "seen_event_at": []})
    state, _ = reduce(state, resolved_actor("c1"), at(30))
    state, _ = reduce(state, pd_event("incident.acknowledged", 20), at(31), Rules(floor_held=floor_held))
    answer = WriteOutcome(command_id="c1", result="already", detail="Incident Already Acknowledged",
                          already_by=Ref(id=ALICE.pd_id, summary=ALICE.name))
    after, _ = reduce(state, answer, at(32), Rules(floor_held=floor_held))
    again = [line for line in replies(after)[told:] if "Acknowledged by" in line and "in PagerDuty" in line]
    assert len(again) == (0 if floor_held else 1)


def test_a_change_joining_a_tie_being_asked_about_asks_again() -> None:
    # Resolved and reopened in the trigger's millisecond. The resolve's tie sends a read; the reopen
    # comes while it is out, and that read may show PagerDuty from before the reopen: it is asked again after.
    state = started(Status.TRIGGERED)
    state, effects = reduce(state, pd_event("incident.resolved", 0), at(11))
    first = next(e for e in effects if isinstance(e, ReadIncident))
    state, _ = reduce(state, pd_event("incident.reopened", 0, status=Status.TRIGGERED), at(11))
    stale = IncidentRead(snapshot=snapshot(Status.RESOLVED), status_changed_at=at(0), read_no=first.read_no)
    _, effects = reduce(state, stale, at(12))
    assert any(isinstance(e, ReadIncident) for e in effects)
    before = Rules(tie_joined=False, agree_marks=False)
    _, old = reduce(reduce(reduce(started(Status.TRIGGERED), pd_event("incident.resolved", 0), at(11), before)[0],
                           pd_event("incident.reopened", 0, status=Status.TRIGGERED), at(11), before)[0],
                    stale, at(12), before)
    assert not any(isinstance(e, ReadIncident) for e in old)  # runs started before replay as recorded


def test_a_status_change_after_a_snapshot_from_an_earlier_millisecond_is_taken() -> None:
    state = started(Status.TRIGGERED)
    state, _ = reduce(state, pd_event("incident.reassigned", 30, status=Status.TRIGGERED), at(31))
    after, effects = reduce(state, pd_event("incident.acknowledged", 30.001), at(31))
    assert after.status is Status.ACKNOWLEDGED
    assert not any(isinstance(e, ReadIncident) for e in effects)


def test_status_jump_in_a_non_status_event_asks_for_a_read() -> None:
    state = started(Status.ACKNOWLEDGED, at_seconds=10)
    _, effects = reduce(state, pd_event("incident.escalated", 20, status=Status.RESOLVED), at(20))
    assert any(isinstance(e, ReadIncident) for e in effects)


# ---- Slack actions and echo suppression -------------------------------------------------------------------


def _acked_through_slack(echo_first: bool) -> tuple[IncidentState, list[str]]:
    state = started()
    state, effects = reduce(state, click(ActionKind.ACKNOWLEDGE), at(20))
    assert isinstance(effects[0], ResolveActor)
    state, effects = reduce(state, resolved_actor("c1"), at(21))
    write = effects[0]
    assert isinstance(write, WriteToPagerDuty) and write.actor_email == ALICE.email
    echo = pd_event("incident.acknowledged", 22, agent=ALICE)
    outcome = WriteOutcome(command_id="c1", result="applied", snapshot=snapshot(Status.ACKNOWLEDGED),
                           status_changed_at=at(22))
    events: list[Event] = [echo, outcome] if echo_first else [outcome, echo]
    for event in events:
        state, _ = reduce(state, event, at(23))
    state, _ = reduce(state, echo, at(24))  # PagerDuty delivers it a second time
    return state, replies(state)


@pytest.mark.parametrize("echo_first", [False, True])
def test_echo_confirms_the_command_and_is_never_shown_as_external(echo_first: bool) -> None:
    state, lines = _acked_through_slack(echo_first)
    assert lines == [":heavy_check_mark: Acknowledged by <@U0ALICE> from Slack"]
    assert state.status is Status.ACKNOWLEDGED
    command = state.commands[0]
    assert command.phase is CommandPhase.APPLIED and command.echo_seen


def test_same_change_by_someone_else_is_external() -> None:
    state = started()
    state, _ = reduce(state, click(ActionKind.ACKNOWLEDGE), at(20))
    state, _ = reduce(state, resolved_actor("c1"), at(21))
    state, _ = reduce(state, pd_event("incident.acknowledged", 22, agent=BOB), at(22))
    assert replies(state)[-1] == ":eyes: Acknowledged by {p0} in PagerDuty"
    assert state.commands[0].phase is CommandPhase.SENDING


def test_unconfirmed_command_is_repaired_by_a_read_after_the_deadline() -> None:
    state = started()
    state, _ = reduce(state, click(ActionKind.RESOLVE), at(20))
    state, _ = reduce(state, resolved_actor("c1"), at(21))
    state, _ = reduce(state, WriteOutcome(command_id="c1", result="applied"), at(22))
    assert next_deadline(state) == at(22 + state.timing.confirmation_deadline_seconds)
    state, effects = reduce(state, Tick(), at(22 + state.timing.confirmation_deadline_seconds))
    assert [e.reason for e in effects if isinstance(e, ReadIncident)] == ["no webhook confirmed resolve by U0ALICE"]


def test_double_click_sends_one_command() -> None:
    state = started()
    state, first = reduce(state, click(ActionKind.ACKNOWLEDGE, key="same"), at(20))
    state, repeat = reduce(state, click(ActionKind.ACKNOWLEDGE, key="same"), at(20))
    state, second = reduce(state, click(ActionKind.ACKNOWLEDGE, key="other"), at(21))
    assert len(first) == 1 and repeat == []
    assert isinstance(second[0], TellUser) and len(second) == 1 and "already under way" in second[0].text
    assert len(state.commands) == 1


@pytest.mark.parametrize(("status", "kind"), [(Status.ACKNOWLEDGED, ActionKind.ACKNOWLEDGE),
                                              (Status.RESOLVED, ActionKind.RESOLVE),
                                              (Status.RESOLVED, ActionKind.ESCALATE)])
def test_action_that_is_already_done_sends_nothing_to_pagerduty(status: Status, kind: ActionKind) -> None:
    state, effects = reduce(started(status), click(kind), at(60))
    assert [type(e) for e in effects] == [TellUser]
    assert isinstance(effects[0], TellUser) and "already" in effects[0].text
    assert state.commands == []


def test_person_of_another_team_is_refused_and_nothing_is_written() -> None:
    state, _ = reduce(started(), click(ActionKind.RESOLVE, user="U0CAROL"), at(20))
    state, effects = reduce(state, resolved_actor("c1", actor_team_ids=["PTPLAT1"]), at(21))
    assert [type(e) for e in effects] == [TellUser]
    assert isinstance(effects[0], TellUser)
    assert "only people on the PagerDuty teams that own it can act on this incident" in effects[0].text
    assert state.commands[0].phase is CommandPhase.REFUSED


def test_admin_may_act_on_any_incident() -> None:
    state, _ = reduce(started(), click(ActionKind.RESOLVE, user="U0LEAD"), at(20))
    _, effects = reduce(state, resolved_actor("c1", actor_team_ids=[], is_admin=True), at(21))
    assert [type(e) for e in effects] == [WriteToPagerDuty]


@pytest.mark.parametrize(("allow", "allowed"), [(True, True), (False, False)])
def test_incident_without_team_follows_the_config(allow: bool, allowed: bool) -> None:
    state, _ = reduce(started(), click(ActionKind.ACKNOWLEDGE), at(20))
    _, effects = reduce(state, resolved_actor("c1", incident_team_ids=[], allow_without_team=allow), at(21))
    assert isinstance(effects[0], WriteToPagerDuty) is allowed


def test_identity_miss_is_told_to_the_person() -> None:
    state, _ = reduce(started(), click(ActionKind.ACKNOWLEDGE, user="U0EVE"), at(20))
    state, effects = reduce(state, resolved_actor("c1", actor=None, error="No PagerDuty user has …"), at(21))
    assert [type(e) for e in effects] == [TellUser]
    assert state.commands[0].phase is CommandPhase.REFUSED


def test_failed_write_tells_person_and_thread_with_pagerduty_state() -> None:
    state, _ = reduce(started(), click(ActionKind.ACKNOWLEDGE), at(20))
    state, _ = reduce(state, resolved_actor("c1"), at(21))
    state, _ = reduce(state, WriteOutcome(command_id="c1", result="retrying", detail="PagerDuty API unavailable"),
                      at(22))
    assert state.commands[0].phase is CommandPhase.RETRYING
    state, effects = reduce(state, WriteOutcome(command_id="c1", result="failed", detail="gave up"), at(200))
    assert "PagerDuty last showed the incident as *triggered*" in replies(state)[-1]
    assert {type(e) for e in effects} == {TellUser, ReadIncident}


# ---- lifetime ------------------------------------------------------------------------------------------------


def test_resolved_incident_lingers_then_finishes() -> None:
    state, _ = reduce(started(), pd_event("incident.resolved", 30), at(30))
    linger = state.timing.linger_after_resolve_seconds
    assert next_deadline(state) == at(30 + linger)
    early, _ = reduce(state, Tick(), at(30 + linger - 1))
    assert not early.finished
    late, _ = reduce(state, Tick(), at(30 + linger))
    assert late.finished


def test_reopen_during_linger_keeps_the_workflow() -> None:
    state, _ = reduce(started(), pd_event("incident.resolved", 30), at(30))
    state, _ = reduce(state, pd_event("incident.reopened", 40), at(40))
    state, _ = reduce(state, Tick(), at(40 + state.timing.linger_after_resolve_seconds))
    assert not state.finished and state.status is Status.TRIGGERED


def test_open_incident_is_reread_every_reconcile_interval() -> None:
    state = started()
    interval = state.timing.reconcile_interval_seconds
    _, effects = reduce(state, Tick(), at(interval))
    assert [e.reason for e in effects if isinstance(e, ReadIncident)] == ["periodic re-read from PagerDuty"]


def test_missed_change_found_by_a_read_is_told_in_the_thread() -> None:
    state = started()
    read = IncidentRead(snapshot=snapshot(Status.RESOLVED), status_changed_at=at(50))
    state, _ = reduce(state, read, at(60))
    assert state.status is Status.RESOLVED
    assert "Synced from PagerDuty" in replies(state)[-1]


# ---- ordering property ---------------------------------------------------------------------------------------

LIFECYCLE = ["incident.triggered", "incident.acknowledged", "incident.unacknowledged", "incident.acknowledged",
             "incident.resolved", "incident.reopened", "incident.resolved"]


@settings(max_examples=300, deadline=timedelta(seconds=2))
@given(order=st.permutations(list(range(len(LIFECYCLE)))), dupes=st.lists(st.integers(0, len(LIFECYCLE) - 1)))
def test_any_delivery_order_with_duplicates_ends_in_the_latest_state(order: list[int], dupes: list[int]) -> None:
    events = [pd_event(kind, 10 * (i + 1), event_id=f"E{i}") for i, kind in enumerate(LIFECYCLE)]
    state = new_state()
    for i in [*order, *dupes]:
        state, _ = reduce(state, events[i], at(100))
    latest = max(events, key=lambda e: e.occurred_at)
    assert state.status is EVENT_STATUS[latest.event_type]
    assert len(state.seen_event_ids) == len(LIFECYCLE)


def test_replies_waiting_for_an_unpostable_message_stay_bounded() -> None:
    state = started()
    for i in range(300):
        state, _ = reduce(state, pd_event("incident.annotated", 20 + i, note=f"n{i}"), at(20 + i))
    assert len(state.replies) == 100
    assert state.replies_dropped == 200
    assert state.replies[-1].texts == ["n299"]


def test_escalation_in_pagerduty_explains_its_retrigger_without_a_read() -> None:
    state = started(Status.ACKNOWLEDGED, at_seconds=10)
    after, effects = reduce(state, pd_event("incident.escalated", 20, agent=BOB, status=Status.TRIGGERED), at(20))
    assert after.status is Status.TRIGGERED and effects == []
    assert after.replies[-1].text.startswith(":arrow_double_up: Escalated by {p0} in PagerDuty")


def _any_event(data: st.DataObject, i: int) -> Event:
    draw = data.draw
    kind = draw(st.sampled_from(["webhook", "click", "actor", "outcome", "read", "tick"]))
    if kind == "webhook":
        return pd_event(draw(st.sampled_from([*STATUS_EVENTS, *ADDITIVE_EVENTS])), draw(st.integers(0, 500)))
    if kind == "click":
        return click(draw(st.sampled_from(list(ActionKind))), note="n", target_slack_user="U0BOB")
    if kind == "actor":
        return resolved_actor(f"c{draw(st.integers(1, 5))}")
    if kind == "outcome":
        return WriteOutcome(command_id=f"c{draw(st.integers(1, 5))}", snapshot=snapshot(),
                            result=draw(st.sampled_from(["applied", "already", "retrying", "failed"])))
    if kind == "read":
        return IncidentRead(snapshot=snapshot(draw(st.sampled_from(list(Status)))), status_changed_at=at(i))
    return Tick()


@settings(max_examples=100, deadline=timedelta(seconds=2))
@given(data=st.data())
def test_reduce_never_changes_the_state_it_was_given(data: st.DataObject) -> None:
    state = started()
    for i in range(data.draw(st.integers(1, 40))):
        before = state.model_dump_json()
        after, _ = reduce(state, _any_event(data, i), at(600 + i))
        assert state.model_dump_json() == before
        state = after


def test_incident_first_seen_already_resolved_gets_no_message() -> None:
    state, _ = reduce(new_state(), pd_event("incident.annotated", 500, note="late"), at(500))
    state, _ = reduce(state, IncidentRead(snapshot=snapshot(Status.RESOLVED), status_changed_at=at(400)), at(501))
    assert message_view(state) is None
    assert "no incident message" in state.audit[-1].note


def test_trigger_and_resolve_in_one_burst_still_get_their_message() -> None:
    state, _ = reduce(new_state(), pd_event("incident.triggered", 0), at(0))
    state, _ = reduce(state, pd_event("incident.resolved", 1), at(1))
    view = message_view(state)
    assert view is not None and view.status is Status.RESOLVED


@pytest.mark.parametrize(("assignee", "confirmed"), [(BOB, True), (ALICE, False)])
def test_escalation_echo_must_name_who_is_on_call_at_the_planned_level(assignee: Person, confirmed: bool) -> None:
    state, _ = reduce(started(), click(ActionKind.ESCALATE), at(20))
    state, _ = reduce(state, resolved_actor("c1"), at(21))
    state, _ = reduce(state, EscalationPlanned(command_id="c1", level=2, user_ids=[BOB.pd_id]), at(21))
    echo = pd_event("incident.escalated", 22, agent=ALICE, assignees=[Ref(id=assignee.pd_id, summary=assignee.name)])
    state, _ = reduce(state, echo, at(22))
    assert state.commands[0].echo_seen is confirmed
    # An echo that comes before the write's answer is held until PagerDuty answers.
    state, _ = reduce(state, WriteOutcome(command_id="c1", result="applied"), at(23))
    assert ("from Slack" in replies(state)[-1])
    assert any("Escalated by {p0} in PagerDuty" in line for line in replies(state)) is not confirmed


def test_rest_times_in_whole_seconds_are_not_stale_within_the_same_second() -> None:
    # The trigger webhook says 12:00:10.400; PagerDuty's REST answer, read just after, says 12:00:10.
    state, _ = reduce(new_state(), pd_event("incident.triggered", 10.4), at(11))
    read = IncidentRead(snapshot=snapshot(Status.ACKNOWLEDGED), status_changed_at=at(10), read_no=1)
    state, _ = reduce(state, read, at(11))
    assert state.status is Status.ACKNOWLEDGED
    assert state.status_changed_at == at(10.4)  # never moved backwards
    older, _ = reduce(state, pd_event("incident.unacknowledged", 10.2), at(12))
    assert older.status is Status.ACKNOWLEDGED
    earlier_second = IncidentRead(snapshot=snapshot(Status.TRIGGERED), status_changed_at=at(9))
    assert reduce(state, earlier_second, at(12))[0].status is Status.ACKNOWLEDGED


def test_a_change_first_learnt_from_a_read_is_credited_when_its_webhook_comes() -> None:
    # Alice acknowledges and Bob resolves in the same millisecond (PagerDuty's webhooks say 12:00:20.727
    # for both). A read answers "resolved at 12:00:20" before Bob's webhook is handled: the thread says
    # "Synced", and the resolve's webhook, timed exactly like the last change, still says who resolved.
    state, _ = reduce(new_state(), pd_event("incident.triggered", 1), at(1))
    state, _ = reduce(state, pd_event("incident.acknowledged", 20.727, agent=ALICE), at(21))
    state, _ = reduce(state, IncidentRead(snapshot=snapshot(Status.RESOLVED), status_changed_at=at(20),
                                          read_no=1), at(21))
    assert state.status is Status.RESOLVED
    assert "Synced from PagerDuty" in replies(state)[-1]
    resolve = pd_event("incident.resolved", 20.727, agent=BOB)
    after, _ = reduce(state, resolve, at(22))
    assert replies(after)[-1].startswith(":white_check_mark: Resolved by")
    assert after.acted_by is not None and after.acted_by.id == BOB.pd_id
    # A redelivery of it (another event id, the same change) is not told twice.
    again, _ = reduce(after, pd_event("incident.resolved", 20.727, agent=BOB), at(23))
    assert replies(again) == replies(after)
    # Runs started before this rule keep their old behaviour on replay.
    old, _ = reduce(state, resolve, at(22), Rules(name_synced=False))
    assert replies(old) == replies(state)


def test_rest_answer_in_the_same_second_that_disagrees_asks_pagerduty_again() -> None:
    # A resolve webhook at 12:00:30.800 was applied; a PUT answer (or a read sent before that webhook was
    # handled) says "acknowledged at 12:00:30". Which came last cannot be told from the seconds: ask.
    state, _ = reduce(new_state(), pd_event("incident.triggered", 1), at(1))
    state, _ = reduce(state, pd_event("incident.resolved", 30.8), at(31))
    answer = WriteOutcome(command_id="c1", result="applied", snapshot=snapshot(Status.ACKNOWLEDGED),
                          status_changed_at=at(30))
    state.commands.append(Command(id="c1", action=ActionKind.ACKNOWLEDGE, slack_user="U0ALICE", issued_at=at(29),
                                  phase=CommandPhase.SENDING, actor=ALICE))
    after, effects = reduce(state, answer, at(32))
    assert after.status is Status.RESOLVED
    reads = [e for e in effects if isinstance(e, ReadIncident)]
    assert len(reads) == 1
    # The read sent now is PagerDuty's present: it settles the question whatever its second says.
    settled, _ = reduce(after, IncidentRead(snapshot=snapshot(Status.RESOLVED), status_changed_at=at(30),
                                            read_no=reads[0].read_no), at(33))
    assert settled.status is Status.RESOLVED and not settled.read_in_flight
