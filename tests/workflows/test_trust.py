"""Regression tests for trust under adversarial delivery (late echoes, reordering, hostile text, odd input).

Each test tells a story a person in the channel would notice going wrong; all run the real reducer, view,
timeline and Slack rendering.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from activities.blocks import render_incident
from tests.factories import ALICE, BOB, at, new_state, pd_event, resolved_actor, snapshot, thread
from tests.factories import action as click
from workflows.models import (
    ActionKind,
    CommandPhase,
    IncidentRead,
    IncidentState,
    PdEvent,
    ReadIncident,
    Ref,
    Status,
    Tick,
    WriteOutcome,
    WriteToPagerDuty,
)
from workflows.state import next_deadline, reduce
from workflows.view import message_view

HOSTILE = "<!channel> please look <@U0ALICE> see <https://evil.example|runbook> cc {p0} & {t0}"



def started() -> IncidentState:
    state, _ = reduce(new_state(), pd_event("incident.triggered", 0), at(0))
    return state


def clicked(state: IncidentState, kind: ActionKind, now: float, **extra: str) -> IncidentState:
    state, _ = reduce(state, click(kind, **extra), at(now))
    command_id = state.commands[-1].id
    state, _ = reduce(state, resolved_actor(command_id), at(now + 1))
    return state


def assert_literal(text: str) -> None:
    for markup in ("<!channel>", "look <@U0ALICE>", "<https://evil.example|runbook>"):
        assert markup not in text
    assert "&lt;!channel&gt;" in text


# ---- 1. typed text is shown literally ------------------------------------------------------------------


def test_hostile_pagerduty_note_cannot_ping_mention_or_link() -> None:
    state, _ = reduce(started(), pd_event("incident.annotated", 5, agent=BOB, note=HOSTILE), at(5))
    [line] = thread(state)
    assert_literal(line)
    assert line.startswith(":memo: Note by Bob Brown in PagerDuty: ")
    assert "cc {p0} &amp; {t0}" in line  # placeholders inside typed text stay text


def test_hostile_slack_note_is_shown_literally() -> None:
    state = clicked(started(), ActionKind.NOTE, 10, note=HOSTILE)
    state, _ = reduce(state, WriteOutcome(command_id="c1", result="applied", note_id="PN1"), at(12))
    [line] = thread(state)
    assert_literal(line)
    assert line.startswith(":memo: Note by <@U0ALICE> from Slack: ")


def test_hostile_title_and_service_are_escaped_in_the_message() -> None:
    event = pd_event("incident.triggered", 0, title=HOSTILE, service=Ref(id="PSVC001", summary="<!here> api"))
    state, _ = reduce(new_state(), event, at(0))
    view = message_view(state)
    assert view is not None
    text, blocks = render_incident(view, lambda ref: ref.summary)
    assert_literal(text)
    assert "<!here>" not in str(blocks)


def test_responder_message_is_escaped() -> None:
    event = pd_event("incident.responder.added", 5, agent=BOB).model_copy(update={
        "responder": Ref(id=ALICE.pd_id, summary=ALICE.name), "responder_message": HOSTILE})
    state, _ = reduce(started(), event, at(5))
    assert_literal(thread(state)[-1])


# ---- 2. a late echo stays the bridge's own ---------------------------------------------------------------


def _note_applied(note: str = "cache is cold") -> IncidentState:
    state = clicked(started(), ActionKind.NOTE, 10, note=note)
    state, _ = reduce(state, WriteOutcome(command_id="c1", result="applied", note_id="PNOTE9"), at(12))
    return state


def _past_deadline(state: IncidentState) -> IncidentState:
    deadline = next_deadline(state)
    assert deadline is not None
    state, effects = reduce(state, Tick(), deadline)
    assert any(isinstance(e, ReadIncident) for e in effects)
    return state


@pytest.mark.parametrize("how", ["after the deadline", "after a read"])
def test_late_note_echo_is_not_shown_as_made_in_pagerduty(how: str) -> None:
    state = _note_applied()
    if how == "after the deadline":
        state = _past_deadline(state)
    else:
        state, _ = reduce(state, IncidentRead(snapshot=snapshot(), status_changed_at=at(0)), at(20))
    late = pd_event("incident.annotated", 11, agent=ALICE, note="cache is cold", note_id="PNOTE9")
    state, _ = reduce(state, late, at(3 * 3600))
    assert thread(state) == [":memo: Note by <@U0ALICE> from Slack: cache is cold"]


@pytest.mark.parametrize("how", ["after the deadline", "after a read"])
def test_late_acknowledge_echo_is_not_shown_as_made_in_pagerduty(how: str) -> None:
    state = clicked(started(), ActionKind.ACKNOWLEDGE, 10)
    state, _ = reduce(state, WriteOutcome(command_id="c1", result="applied"), at(12))
    if how == "after the deadline":
        state = _past_deadline(state)
    else:
        state, _ = reduce(state, IncidentRead(snapshot=snapshot(Status.ACKNOWLEDGED), status_changed_at=at(11)),
                          at(13))
    state, _ = reduce(state, pd_event("incident.acknowledged", 11.5, agent=ALICE), at(2 * 3600))
    assert thread(state) == [":heavy_check_mark: Acknowledged by <@U0ALICE> from Slack"]


# ---- 3. a trigger delivered after its resolve still posts --------------------------------------------------


def test_resolve_delivered_before_its_trigger_ends_in_one_resolved_message() -> None:
    state, _ = reduce(new_state(), pd_event("incident.resolved", 30, agent=BOB), at(31))
    state, _ = reduce(state, IncidentRead(snapshot=snapshot(Status.RESOLVED), status_changed_at=at(30),
                                          read_no=1), at(32))
    assert message_view(state) is None  # nothing says the channel ever saw it yet
    state, _ = reduce(state, pd_event("incident.triggered", 0), at(33))
    view = message_view(state)
    assert view is not None and view.status is Status.RESOLVED


# ---- 4. details follow the newest snapshot -----------------------------------------------------------------


def test_older_escalation_snapshot_does_not_put_back_old_assignees() -> None:
    carol = Ref(id="PCAROL1", summary="Carol")
    state = started()
    newer = pd_event("incident.reassigned", 20, agent=BOB, assignees=[carol], priority="P1")
    older = pd_event("incident.escalated", 10, agent=None, assignees=[Ref(id=BOB.pd_id, summary=BOB.name)],
                     priority="P3")
    state, _ = reduce(state, newer, at(21))
    state, _ = reduce(state, older, at(22))
    assert state.incident is not None
    assert state.incident.assignees == [carol] and state.incident.priority == "P1"
    # The thread still tells that the escalation happened, in its own words.
    assert thread(state)[-1] == ":arrow_double_up: Escalated automatically in PagerDuty, now assigned to Bob Brown"


# ---- 7. the reducer never raises ---------------------------------------------------------------------------------


def test_naive_timestamp_never_makes_the_reducer_raise() -> None:
    naive = PdEvent.model_validate({"event_id": "EVN", "event_type": "incident.acknowledged",
                                    "occurred_at": "2026-11-26T12:00:30", "incident_id": "PINC001",
                                    "agent": {"id": BOB.pd_id}})
    assert naive.occurred_at.tzinfo is not None
    state, _ = reduce(started(), naive, at(31))
    assert state.status is Status.ACKNOWLEDGED


# ---- 11. "already" credits who did it ----------------------------------------------------------------------------


def test_already_resolved_by_someone_else_credits_them_not_the_clicker() -> None:
    state = clicked(started(), ActionKind.RESOLVE, 10)
    bob = Ref(id=BOB.pd_id, summary=BOB.name)
    state, _ = reduce(state, WriteOutcome(command_id="c1", result="already", already_by=bob,
                                          snapshot=snapshot(Status.RESOLVED), status_changed_at=at(11)), at(12))
    state, _ = reduce(state, pd_event("incident.resolved", 11.2, agent=BOB), at(13))
    lines = thread(state)
    assert not any("Resolved by <@U0ALICE>" in line for line in lines)
    assert lines[0] == (":information_source: <@U0ALICE>'s click found the incident already resolved by Bob Brown "
                        "in PagerDuty; nothing more was needed")
    view = message_view(state)
    assert view is not None and view.acted_by == bob
    assert view.outcome == ":information_source: Already resolved by Bob Brown in PagerDuty when <@U0ALICE> clicked"


# ---- 13. duplicates are remembered beyond the bounded id list ---------------------------------------------------


def test_old_note_redelivered_after_many_events_is_not_posted_again() -> None:
    state = started()
    first = pd_event("incident.annotated", 1, agent=BOB, note="first", note_id="PNOTE1")
    state, _ = reduce(state, first, at(1))
    for i in range(600):
        state, _ = reduce(state, pd_event("incident.annotated", 2 + i, agent=BOB, note=f"n{i}"), at(2 + i))
    assert first.event_id not in state.seen_event_ids  # the bounded list did forget it
    before = state.next_reply_seq
    state, _ = reduce(state, first, at(5000))
    assert state.next_reply_seq == before


# ---- 15. a failed first read is tried again ----------------------------------------------------------------------


def test_failed_first_read_is_retried_on_a_schedule() -> None:
    state, effects = reduce(new_state(), pd_event("incident.acknowledged", 5), at(5))
    [read] = [e for e in effects if isinstance(e, ReadIncident)]
    state, _ = reduce(state, IncidentRead(read_no=read.read_no, error="PagerDuty API unavailable"), at(600))
    retry = next_deadline(state)
    assert retry is not None and retry - at(600) <= timedelta(seconds=60)
    state, effects = reduce(state, Tick(), retry)
    assert any(isinstance(e, ReadIncident) for e in effects)
    state, _ = reduce(state, IncidentRead(read_no=2, error="PagerDuty API unavailable"), retry)
    later = next_deadline(state)
    assert later is not None and later - retry > retry - at(600)  # backs off


# ---- 2/answered: a write reported failed whose echo comes did land ---------------------------------------------


def test_failed_write_whose_echo_comes_is_shown_done_from_slack() -> None:
    state = clicked(started(), ActionKind.ACKNOWLEDGE, 10)
    state, _ = reduce(state, WriteOutcome(command_id="c1", result="failed", detail="gave up after 3 min"), at(200))
    state, _ = reduce(state, pd_event("incident.acknowledged", 100, agent=ALICE), at(201))
    assert state.commands[0].phase is CommandPhase.APPLIED
    assert not any("in PagerDuty" in line and "Acknowledged" in line for line in thread(state))


def test_acknowledged_in_pagerduty_by_the_clicker_before_the_click_is_not_from_slack() -> None:
    # Alice acknowledged in PagerDuty, then clicked Acknowledge before its webhook came: PagerDuty answers
    # "already" naming her. Her change was made in PagerDuty, not through the bridge.
    state = clicked(started(), ActionKind.ACKNOWLEDGE, 10)
    alice = Ref(id=ALICE.pd_id, summary=ALICE.name)
    state, _ = reduce(state, WriteOutcome(command_id="c1", result="already", already_by=alice), at(12))
    state, _ = reduce(state, pd_event("incident.acknowledged", 9, agent=ALICE), at(13))
    lines = thread(state)
    assert not any("from Slack" in line for line in lines)
    assert lines[-1] == ":eyes: Acknowledged by Alice Adams in PagerDuty"


def test_two_retried_notes_of_the_same_text_never_share_one_note() -> None:
    # Erin typed the same note twice on purpose; both writes were asked again after a new run took over,
    # so both look for a note they may have written. The second must not take the first one's note.
    state = clicked(started(), ActionKind.NOTE, 10, note="db failover done")
    state, _ = reduce(state, click(ActionKind.NOTE, note="db failover done"), at(11))
    state, _ = reduce(state, resolved_actor("c2"), at(12))
    state, _ = reduce(state, WriteOutcome(command_id="c1", result="applied", note_id="PN1"), at(13))
    state, effects = reduce(state, WriteOutcome(command_id="c2", result="applied", note_id="PN1"), at(14))
    [again] = [e for e in effects if isinstance(e, WriteToPagerDuty)]
    assert again.command_id == "c2" and "PN1" in again.known_note_ids
    state, _ = reduce(state, WriteOutcome(command_id="c2", result="applied", note_id="PN2"), at(15))
    assert thread(state) == [":memo: Note by <@U0ALICE> from Slack: db failover done"] * 2


# ---- attributed: PagerDuty's own "nothing done", and commands trimmed while their echo is due --------------


@pytest.mark.parametrize("echo_first", [True, False])
def test_a_write_pagerduty_never_did_leaves_the_clickers_own_change_hers(echo_first: bool) -> None:
    """Every attempt of Alice's Acknowledge got 503 (PagerDuty did nothing) while she acknowledged in
    PagerDuty herself: the acknowledgement is hers, made in PagerDuty, not "from Slack"."""
    state = clicked(started(), ActionKind.ACKNOWLEDGE, 10)
    state, _ = reduce(state, WriteOutcome(command_id="c1", result="retrying",
                                          detail="PagerDuty unavailable (503); retrying"), at(11))
    hers = pd_event("incident.acknowledged", 30, agent=ALICE)
    gave_up = WriteOutcome(command_id="c1", result="failed", nothing_done=True,
                           detail="PagerDuty unavailable (503); gave up after 3 min of retries")
    for event, second in ((hers, 31), (gave_up, 200)) if echo_first else ((gave_up, 200), (hers, 201)):
        state, _ = reduce(state, event, at(second))
    lines = thread(state)
    assert not any("from Slack" in line and "Acknowledged" in line for line in lines), lines
    assert ":eyes: Acknowledged by Alice Adams in PagerDuty" in lines, lines


def test_an_acknowledge_whose_echo_is_late_is_still_ours_after_many_later_notes() -> None:
    """The bridge's acknowledge was confirmed by a read while webhooks were delayed; then 25 notes from
    Slack settled. When the acknowledge's echo finally comes it is the click's, not a change in PagerDuty."""
    state = clicked(started(), ActionKind.ACKNOWLEDGE, 10)
    state, _ = reduce(state, WriteOutcome(command_id="c1", result="applied"), at(12))
    state, _ = reduce(state, IncidentRead(snapshot=snapshot(Status.ACKNOWLEDGED), status_changed_at=at(11)), at(13))
    for n in range(25):
        state = clicked(state, ActionKind.NOTE, 20 + n * 3, note=f"step {n}")
        command_id = state.commands[-1].id
        state, _ = reduce(state, WriteOutcome(command_id=command_id, result="applied", note_id=f"PN{n}"),
                          at(21 + n * 3))
        state, _ = reduce(state, pd_event("incident.annotated", 21 + n * 3, agent=ALICE, note=f"step {n}",
                                          note_id=f"PN{n}", event_id=f"EVN{n}"), at(22 + n * 3))
    state, _ = reduce(state, pd_event("incident.acknowledged", 11.5, agent=ALICE), at(3600))
    lines = thread(state)
    assert not any("in PagerDuty" in line and "Acknowledged" in line for line in lines), lines[-3:]
