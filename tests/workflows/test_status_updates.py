"""The reducer on status updates: a click becomes a status update as the person, its echo (by id or text, in
any order, however late) is a confirmation, one made in PagerDuty is shown once, and runs that met a status
update webhook before the bridge showed them keep it unshown."""

from __future__ import annotations

from typing import Any

from tests.factories import ALICE, BOB, at, new_state, pd_event, resolved_actor, thread
from tests.factories import action as click
from workflows.models import (
    ActionKind,
    CommandPhase,
    IncidentState,
    PdEvent,
    Status,
    TellUser,
    WriteOutcome,
    WriteToPagerDuty,
)
from workflows.rules import Rules
from workflows.state import reduce

TEXT = "Mitigated <!here> & watching"



def started() -> IncidentState:
    state, _ = reduce(new_state(), pd_event("incident.triggered", 0), at(0))
    return state


def posted(state: IncidentState, text: str = TEXT, now: float = 10) -> tuple[IncidentState, WriteToPagerDuty]:
    state, _ = reduce(state, click(ActionKind.STATUS_UPDATE, note=text), at(now))
    state, effects = reduce(state, resolved_actor(state.commands[-1].id), at(now + 1))
    [write] = [e for e in effects if isinstance(e, WriteToPagerDuty)]
    return state, write


def echo(seconds: float, update_id: str = "PSU1", message: str = TEXT, **extra: Any) -> PdEvent:
    return pd_event("incident.status_update_published", seconds, status_update_id=update_id, message=message,
                    **extra)


def test_a_click_writes_as_the_person_and_its_answer_is_one_line_shown_literally() -> None:
    state, write = posted(started())
    assert (write.action, write.actor_email, write.note) == (ActionKind.STATUS_UPDATE, ALICE.email, TEXT)
    state, _ = reduce(state, WriteOutcome(command_id=write.command_id, result="applied", status_update_id="PSU1"),
                      at(12))
    state, _ = reduce(state, echo(13), at(13))
    assert thread(state) == [":mega: Status update by <@U0ALICE> from Slack: Mitigated &lt;!here&gt; &amp; watching"]
    assert state.commands[-1].echo_seen and state.commands[-1].phase is CommandPhase.APPLIED


def test_an_echo_before_the_answer_settles_it_and_the_answer_adds_nothing() -> None:
    state, write = posted(started())
    state, _ = reduce(state, echo(11.5), at(11.5))
    state, _ = reduce(state, echo(11.5, event_id="again"), at(11.6))
    state, _ = reduce(state, WriteOutcome(command_id=write.command_id, result="applied", status_update_id="PSU1"),
                      at(12))
    assert len(thread(state)) == 1 and "from Slack" in thread(state)[0]


def test_a_trimmed_echo_before_the_answer_is_matched_by_its_beginning() -> None:
    long = "x" * 1200
    state, _ = posted(started(), text=long)
    state, _ = reduce(state, echo(11.5, message=long[:1000], trimmed=True), at(11.5))
    assert thread(state) == [f":mega: Status update by <@U0ALICE> from Slack: {long}"]


def test_a_late_echo_after_a_failure_is_a_late_confirmation_never_a_second_update() -> None:
    state, write = posted(started())
    detail = "PagerDuty did not answer whether the status update was published"
    state, _ = reduce(state, WriteOutcome(command_id=write.command_id, result="failed", detail=detail), at(40))
    state, _ = reduce(state, echo(14), at(600))
    assert len(thread(state)) == 2
    assert thread(state)[1].endswith("(PagerDuty confirmed it after the bridge had reported a failure)")


def test_one_made_in_pagerduty_is_credited_there_once_in_any_order() -> None:
    state = started()
    state, _ = reduce(state, echo(20, update_id="PSU9", message="From the web", agent=BOB), at(20))
    state, _ = reduce(state, echo(20, update_id="PSU9", message="From the web", agent=BOB), at(21))
    assert thread(state) == [":mega: Status update by Bob Brown in PagerDuty: From the web"]


def test_empty_is_refused_and_a_resolved_incident_still_takes_one() -> None:
    _, effects = reduce(started(), click(ActionKind.STATUS_UPDATE, note="  "), at(5))
    assert [type(e) for e in effects] == [TellUser] and "empty" in effects[0].text  # type: ignore[union-attr]
    resolved, _ = reduce(started(), pd_event("incident.resolved", 3), at(3))
    assert resolved.status is Status.RESOLVED
    _, write = posted(resolved)
    assert write.action is ActionKind.STATUS_UPDATE


def test_runs_that_met_one_before_status_updates_keep_it_unshown_and_say_so_on_a_click() -> None:
    state = started()
    after, effects = reduce(state, echo(20, agent=BOB), at(20), Rules(status_updates=False))
    assert thread(after) == [] and effects == []
    after, effects = reduce(after, click(ActionKind.STATUS_UPDATE, note="hi"), at(30), Rules(status_updates=False))
    assert after.commands == [] and "post it in PagerDuty" in effects[0].text  # type: ignore[union-attr]
