"""The reducer where what PagerDuty did is in doubt for a moment: a write's answer it cannot order, a tie it
cannot read, a resend it refused. Each rule here is one of `workflows/rules.py`'s, shown with and without it."""

from __future__ import annotations

from datetime import timedelta

from tests.factories import BOB, at, new_state, pd_event, resolved_actor, snapshot
from tests.factories import action as click
from workflows.models import (
    ActionKind,
    IncidentRead,
    IncidentState,
    ReadIncident,
    Status,
    TellUser,
    Tick,
    WriteOutcome,
    WriteToPagerDuty,
)
from workflows.rules import Rules
from workflows.state import reduce


def _acknowledged_unshown(trigger_at: float = 0.2) -> IncidentState:
    """Bob's Acknowledge is done, but PagerDuty's answer is timed in the trigger's second: the bridge cannot
    order it and reads the incident (the message still shows Triggered)."""
    state, _ = reduce(new_state(), pd_event("incident.triggered", trigger_at), at(trigger_at))
    state, _ = reduce(state, click(ActionKind.ACKNOWLEDGE, user="U0BOB"), at(0.5))
    state, _ = reduce(state, resolved_actor("c1", actor=BOB), at(0.5))
    answer = WriteOutcome(command_id="c1", result="applied", snapshot=snapshot(Status.ACKNOWLEDGED),
                          status_changed_at=at(0))
    state, effects = reduce(state, answer, at(0.6))
    assert state.status is Status.TRIGGERED and any(isinstance(e, ReadIncident) for e in effects)
    return state


def test_an_acknowledge_clicked_again_before_the_message_shows_the_first_is_answered_at_once() -> None:
    state = _acknowledged_unshown()
    after, effects = reduce(state, click(ActionKind.ACKNOWLEDGE, user="U0ALICE"), at(0.7))
    [told] = [e for e in effects if isinstance(e, TellUser)]
    assert told.text == ("<@U0ALICE>, <@U0BOB> acknowledged this incident from Slack a moment ago; the message "
                         "shows it soon. Nothing was sent.")
    assert len(after.commands) == 1
    _, old = reduce(state, click(ActionKind.ACKNOWLEDGE, user="U0ALICE"), at(0.7), Rules(applied_told=False))
    assert not any(isinstance(e, TellUser) for e in old)  # runs started before replay as recorded


def test_an_acknowledge_clicked_after_the_incident_was_triggered_again_since_goes_to_pagerduty() -> None:
    # Someone reassigned it in PagerDuty after Bob's click (triggered again): PagerDuty weighs the new click.
    state = _acknowledged_unshown()
    state, _ = reduce(state, pd_event("incident.reassigned", 60, assignees=[]), at(60.1))
    assert state.status is Status.TRIGGERED
    _, effects = reduce(state, click(ActionKind.ACKNOWLEDGE, user="U0ALICE"), at(61))
    assert not any(isinstance(e, TellUser) for e in effects)


def _resolved_with_a_tie() -> IncidentState:
    """Resolved and reopened in one millisecond: which came last is PagerDuty's to say, and the read fails."""
    state, _ = reduce(new_state(), pd_event("incident.triggered", 0), at(0))
    state, _ = reduce(state, pd_event("incident.resolved", 5), at(5))
    state, effects = reduce(state, pd_event("incident.reopened", 5, status=Status.TRIGGERED), at(5))
    [read] = [e for e in effects if isinstance(e, ReadIncident)]
    state, _ = reduce(state, IncidentRead(error="PagerDuty unavailable", read_no=read.read_no), at(6))
    assert state.status is Status.RESOLVED and state.tied is not None
    return state


def test_a_resolved_incident_in_doubt_lingers_then_reads_and_follows_pagerduty() -> None:
    state = _resolved_with_a_tie()
    linger = timedelta(seconds=state.timing.linger_after_resolve_seconds)
    after, effects = reduce(state, Tick(), at(6) + linger)
    assert not after.finished
    [read] = [e for e in effects if isinstance(e, ReadIncident)]  # and PagerDuty is asked again
    answer = IncidentRead(snapshot=snapshot(Status.TRIGGERED), status_changed_at=at(5), read_no=read.read_no)
    after, _ = reduce(after, answer, at(7) + linger)
    assert after.status is Status.TRIGGERED
    old, _ = reduce(state, Tick(), at(6) + linger, Rules(doubt_lingers=False))
    assert old.finished  # runs started before replay as recorded


def test_a_resolved_incident_whose_reads_keep_failing_finishes_in_the_end() -> None:
    state = _resolved_with_a_tie()
    linger = timedelta(seconds=state.timing.linger_after_resolve_seconds)
    now = at(6)
    for _ in range(12):
        now += timedelta(hours=1)
        state, effects = reduce(state, Tick(), now)
        for read in (e for e in effects if isinstance(e, ReadIncident)):
            state, _ = reduce(state, IncidentRead(error="404 Not Found", read_no=read.read_no), now)
    state, _ = reduce(state, Tick(), now + linger)
    assert state.finished
    assert "could not be read" in state.audit[-1].note


def _priority_resend_refused(judged_from_now: bool) -> tuple[IncidentState, list[object]]:
    """Bob set P1; the answer was lost; Bob's webhook (P1, by Bob) came while the resend was out; PagerDuty
    refused the resend."""
    state, _ = reduce(new_state(), pd_event("incident.triggered", 0), at(0))
    state, _ = reduce(state, click(ActionKind.PRIORITY, user="U0BOB", choice="PP1", choice_label="P1"), at(1))
    state, effects = reduce(state, resolved_actor("c1", actor=BOB), at(1))
    assert any(isinstance(e, WriteToPagerDuty) for e in effects)
    state, _ = reduce(state, WriteOutcome(command_id="c1", result="retrying", detail="timed out; retrying"), at(2))
    state, _ = reduce(state, pd_event("incident.priority_updated", 1.5, agent=BOB, priority="P1",
                                      priority_id="PP1"), at(3))
    refused = WriteOutcome(command_id="c1", result="failed", detail="PagerDuty refused: Arguments Caused Error",
                           judged_from_now=judged_from_now)
    after, effects = reduce(state, refused, at(4))
    return after, list(effects)


def test_a_refused_priority_resend_judged_only_from_how_the_incident_looks_now_is_in_doubt() -> None:
    after, effects = _priority_resend_refused(judged_from_now=True)
    assert after.replies[-1].text.startswith(":label: Priority set to")
    assert "from Slack or in PagerDuty" in after.replies[-1].text
    assert any(isinstance(e, ReadIncident) for e in effects)  # the message follows PagerDuty's priority now


def test_a_refused_first_priority_write_with_the_clickers_own_change_is_a_failure() -> None:
    # A refusal that proves nothing landed (a token without the scope, say) is told; Bob's webhook is his.
    after, effects = _priority_resend_refused(judged_from_now=False)
    assert any(isinstance(e, TellUser) and e.outcome == "failed" for e in effects)
    assert not any("from Slack or in PagerDuty" in r.text for r in after.replies)
