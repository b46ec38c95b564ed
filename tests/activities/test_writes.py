"""PagerDuty writes against the simulator: "already so" names who did it; notes and their retries."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

import pytest
from temporalio.testing import ActivityEnvironment

from activities.errors import PagerDutyUnavailable, RefusedNothingLanded, StatusUpdateUnsure
from activities.pagerduty import ANSWERED, POSTING, WriteRequest
from tests.activities.conftest import Live
from workflows.models import ActionKind, Ref, Status, WriteOutcome, WriteToPagerDuty

ALICE = {"actor_email": "alice@example.com", "actor_pd_id": "PUALICE"}


def write(kind: ActionKind, command_id: str = "c1", **fields: object) -> WriteToPagerDuty:
    return WriteToPagerDuty(command_id=command_id, action=kind, issued_at=datetime.now(UTC),
                            **{**ALICE, **fields})


def third_level(live: Live) -> None:
    policy = live.pd.escalation_policies["PEPPAY1"]
    policy.levels.append(["PUCAROL"])
    policy.rule_ids.append("PRULE3RD")


async def send(live: Live, incident: str, w: WriteToPagerDuty, *, is_retry: bool = False,
               attempt: int = 1) -> WriteOutcome:
    env = ActivityEnvironment()
    env.info = dataclasses.replace(env.info, attempt=attempt)
    request = WriteRequest(incident_id=incident, write=w, is_retry=is_retry)
    return await env.run(live.activities.write, request)


# ---- "already": whose change it was --------------------------------------------------------------------


async def test_resolved_by_someone_else_first_is_already_and_names_them(live: Live) -> None:
    incident = live.pd.trigger("PSVC001", "checkout slow")
    live.pd.resolve(incident, "PUBOB01")  # Bob, in PagerDuty, while Alice's click is on its way
    outcome = await send(live, incident, write(ActionKind.RESOLVE))
    assert outcome.result == "already"
    assert outcome.already_by == Ref(id="PUBOB01", summary="Bob Brown")
    assert outcome.snapshot is not None and outcome.snapshot.status is Status.RESOLVED
    assert outcome.status_changed_at is not None


async def test_already_resolved_by_the_clicker_themself_is_applied(live: Live) -> None:
    incident = live.pd.trigger("PSVC001", "checkout slow")
    live.pd.respond_late(f"/incidents/{incident}", 2.0)  # the first attempt lands, its answer is lost
    with pytest.raises(PagerDutyUnavailable):
        await send(live, incident, write(ActionKind.RESOLVE))
    live.pd.clear_faults()
    assert live.pd.incidents[incident].status == "resolved"
    outcome = await send(live, incident, write(ActionKind.RESOLVE), is_retry=True, attempt=2)
    assert outcome.result == "applied"
    # PagerDuty's log shows Alice's resolve since the click: the retry does not send it again.
    assert len([r for r in live.pd.requests if r.method == "PUT"]) == 1


async def test_the_clickers_own_resolve_in_pagerduty_just_before_a_resent_click_is_theirs(live: Live) -> None:
    # Alice resolves in PagerDuty's app, then clicks Resolve in Slack a moment later; the click is sent again
    # (a new run cannot know whether its first attempt landed). PagerDuty answers "already resolved", and its
    # log says her change came from the app, not the REST API: it is hers in PagerDuty, not the click's.
    incident = live.pd.trigger("PSVC001", "checkout slow")
    live.pd.resolve(incident, "PUALICE")
    outcome = await send(live, incident, write(ActionKind.RESOLVE), is_retry=True, attempt=2)
    assert outcome.result == "already"
    assert outcome.already_by == Ref(id="PUALICE", summary="Alice Adams")


async def test_a_snooze_that_landed_unanswered_is_found_in_the_log_one_made_in_pagerduty_is_not(live: Live) -> None:
    # A snooze has no webhook: when its write gives up unanswered, PagerDuty's log is asked whether it landed.
    incident = live.pd.trigger("PSVC001", "checkout slow")
    live.pd.acknowledge(incident, "PUALICE")
    snooze = write(ActionKind.SNOOZE, choice="3600")
    request = WriteRequest(incident_id=incident, write=snooze)
    assert await ActivityEnvironment().run(live.activities.write_landed, request) is False
    live.pd.snooze(incident, "PUALICE", 3600)  # Alice, in PagerDuty's app: not the click's
    assert await ActivityEnvironment().run(live.activities.write_landed, request) is False
    live.pd.respond_late(f"/incidents/{incident}/snooze", 2.0)  # the click's write lands, its answer is lost
    with pytest.raises(PagerDutyUnavailable):
        await send(live, incident, snooze)
    live.pd.clear_faults()
    assert await ActivityEnvironment().run(live.activities.write_landed, request) is True


async def test_escalated_since_the_click_is_already_and_never_climbs_twice(live: Live) -> None:
    incident = live.pd.trigger("PSVC001", "checkout slow")
    w = write(ActionKind.ESCALATE, escalation_level=2)  # planned at the click: one above level 1
    live.pd.escalate(incident, "PUBOB01", 2)  # Bob escalates in PagerDuty while the click is on its way
    outcome = await send(live, incident, w)
    assert outcome.result == "already" and outcome.already_by == Ref(id="PUBOB01", summary="Bob Brown")
    assert not [r for r in live.pd.requests if r.method == "PUT"]  # nothing sent: no second step


async def test_an_escalation_before_the_click_does_not_stop_it(live: Live) -> None:
    incident = live.pd.trigger("PSVC001", "checkout slow")
    live.pd.escalate(incident, "PUBOB01", 1)  # an escalation (back to level 1) before the click
    w = write(ActionKind.ESCALATE, escalation_level=2)
    w = w.model_copy(update={"issued_at": datetime.now(UTC) + timedelta(minutes=1)})  # clicked after it
    outcome = await send(live, incident, w)
    assert outcome.result == "applied"
    assert len([r for r in live.pd.requests if r.method == "PUT"]) == 1


# ---- notes: a deliberate repeat is a new note; a retry finds its own ---------------------------------------


async def test_the_same_note_twice_on_purpose_is_two_notes(live: Live) -> None:
    incident = live.pd.trigger("PSVC001", "checkout slow")
    first = await send(live, incident, write(ActionKind.NOTE, "c1", note="still investigating"))
    second = await send(live, incident, write(ActionKind.NOTE, "c2", note="still investigating"))
    notes = live.pd.incidents[incident].notes
    assert [(n.content, n.user_id) for n in notes] == [("still investigating", "PUALICE")] * 2
    assert (first.note_id, second.note_id) == (notes[0].id, notes[1].id)


@pytest.mark.parametrize("is_retry,attempt", [(True, 1), (False, 2)], ids=["workflow-retry", "activity-retry"])
async def test_a_landed_note_whose_answer_was_lost_is_not_written_again(live: Live, is_retry: bool,
                                                                        attempt: int) -> None:
    incident = live.pd.trigger("PSVC001", "checkout slow")
    w = write(ActionKind.NOTE, note="rolled back deploy 142")
    live.pd.respond_late(f"/incidents/{incident}/notes", 2.0)
    with pytest.raises(PagerDutyUnavailable):
        await send(live, incident, w)
    live.pd.clear_faults()
    outcome = await send(live, incident, w, is_retry=is_retry, attempt=attempt)
    notes = live.pd.incidents[incident].notes
    assert [n.content for n in notes] == ["rolled back deploy 142"]
    assert (outcome.result, outcome.note_id) == ("applied", notes[0].id)


async def test_a_retry_never_takes_a_note_the_bridge_knows_is_another_clicks(live: Live) -> None:
    incident = live.pd.trigger("PSVC001", "checkout slow")
    other = await send(live, incident, write(ActionKind.NOTE, "c1", note="still investigating"))
    assert other.note_id
    retried = write(ActionKind.NOTE, "c2", note="still investigating", known_note_ids=[other.note_id])
    outcome = await send(live, incident, retried, is_retry=True, attempt=2)
    notes = live.pd.incidents[incident].notes
    assert len(notes) == 2 and outcome.note_id == notes[1].id != other.note_id


# ---- responders: a retry never asks twice --------------------------------------------------------------


async def test_a_retried_responder_request_whose_first_attempt_landed_asks_once(live: Live) -> None:
    incident = live.pd.trigger("PSVC001", "checkout slow")
    ask = write(ActionKind.ADD_RESPONDER, target_pd_id="PUCAROL", note="Please help with #1")
    first = await send(live, incident, ask)
    again = await send(live, incident, ask, is_retry=True, attempt=2)  # its answer was lost
    assert (first.result, again.result) == ("applied", "applied")
    assert len(live.pd.incidents[incident].responders) == 1
    later = write(ActionKind.ADD_RESPONDER, "c2", target_pd_id="PUCAROL", note="Still need you")
    assert (await send(live, incident, later)).result == "applied"  # a new click asks again
    assert len(live.pd.incidents[incident].responders) == 2


async def test_a_status_update_whose_earlier_attempt_stopped_mid_call_is_not_published_again(live: Live) -> None:
    # A durable retry after a 503 was sending the update when its worker stopped: Temporal kept that attempt's
    # "posting" heartbeat. The next attempt cannot know whether PagerDuty published it, so it does not send it.
    incident = live.pd.trigger("PSVC001", "checkout slow")
    env = ActivityEnvironment()
    env.info = dataclasses.replace(env.info, attempt=3, heartbeat_details=[POSTING])
    request = WriteRequest(incident_id=incident, write=write(ActionKind.STATUS_UPDATE, note="Rolling back"))
    with pytest.raises(StatusUpdateUnsure):
        await env.run(live.activities.write, request)
    assert not [r for r in live.pd.writes() if r.path.endswith("/status_updates")]
    # After PagerDuty's own answer that nothing was done (the heartbeat says so), the retry publishes it.
    env.info = dataclasses.replace(env.info, attempt=4, heartbeat_details=[ANSWERED])
    outcome = await env.run(live.activities.write, request)
    assert outcome.result == "applied"
    assert len([r for r in live.pd.writes() if r.path.endswith("/status_updates")]) == 1


async def test_a_refused_resend_whose_earlier_attempts_never_landed_says_so(live: Live) -> None:
    # Alice's acknowledge is sent again (a new run could not know whether its first attempt landed); PagerDuty
    # refuses it (Bob resolved meanwhile). Its log shows no acknowledge by Alice through the API: the refusal is
    # the whole story, and a later acknowledge webhook of hers is her own.
    incident = live.pd.trigger("PSVC001", "checkout slow")
    live.pd.resolve(incident, "PUBOB01")
    with pytest.raises(RefusedNothingLanded):
        await send(live, incident, write(ActionKind.ACKNOWLEDGE), is_retry=True, attempt=2)


async def test_a_resent_reassign_to_who_the_clicker_already_assigned_in_pagerduty_is_theirs(live: Live) -> None:
    # Alice reassigns to Bob in PagerDuty's app, then clicks Reassign to Bob; the click is sent again (a new run
    # could not know whether its first attempt landed). PagerDuty's log shows her reassignment came from the
    # app, not the REST API: it was already so, not the click's doing.
    incident = live.pd.trigger("PSVC001", "checkout slow")
    live.pd.reassign(incident, "PUALICE", ["PUBOB01"])
    outcome = await send(live, incident, write(ActionKind.REASSIGN, target_pd_id="PUBOB01"), is_retry=True,
                         attempt=2)
    assert outcome.result == "already"


async def test_a_reassign_that_landed_unanswered_is_not_made_again_after_someone_reassigned(live: Live) -> None:
    incident = live.pd.trigger("PSVC001", "checkout slow")
    w = write(ActionKind.REASSIGN, target_pd_id="PUBOB01")
    # The first attempt lands; its answer is lost (a gateway timeout).
    live.pd.fail(f"/incidents/{incident}", 504, count=1, method="PUT", applied=True)
    with pytest.raises(PagerDutyUnavailable):
        await send(live, incident, w)
    assert [a for a, _ in live.pd.incidents[incident].assignments] == ["PUBOB01"]
    live.pd.reassign(incident, "PUBOB01", ["PUALICE"])  # Bob hands it back to Alice in PagerDuty
    outcome = await send(live, incident, w, is_retry=True, attempt=2)
    assert outcome.result == "applied"
    # PagerDuty's log shows the click's reassignment: it is not made again over Bob's.
    assert [a for a, _ in live.pd.incidents[incident].assignments] == ["PUALICE"]


async def test_a_resent_reassign_does_not_take_the_clickers_reassign_to_someone_else_for_its_own(live: Live) -> None:
    # Alice's click reassigned to Bob through the REST API; her next click, back to herself, is sent again by a
    # new run (its first attempt never reached PagerDuty). The log's reassignment by her names Bob: not this
    # click's. The incident is reassigned to her, once.
    incident = live.pd.trigger("PSVC001", "checkout slow")
    await send(live, incident, write(ActionKind.REASSIGN, command_id="c1", target_pd_id="PUBOB01"))
    outcome = await send(live, incident, write(ActionKind.REASSIGN, command_id="c2", target_pd_id="PUALICE"),
                         is_retry=True, attempt=2)
    assert outcome.result == "applied"
    assert [a for a, _ in live.pd.incidents[incident].assignments] == ["PUALICE"]


async def test_an_escalation_that_landed_unanswered_is_not_made_again_after_the_clicker_escalated_further(
        live: Live) -> None:
    third_level(live)
    incident = live.pd.trigger("PSVC001", "checkout slow")
    w = write(ActionKind.ESCALATE, escalation_level=2)
    live.pd.fail(f"/incidents/{incident}", 504, count=1, method="PUT", applied=True)  # lands; answer lost
    with pytest.raises(PagerDutyUnavailable):
        await send(live, incident, w)
    live.pd.escalate(incident, "PUALICE", 3)  # Alice escalates further in PagerDuty herself
    outcome = await send(live, incident, w, is_retry=True, attempt=2)
    assert outcome.result == "applied"
    # PagerDuty's log shows the click's own escalation: it is not sent again (back to level 2).
    assert [a for a, _ in live.pd.incidents[incident].assignments] == ["PUCAROL"]


async def test_a_resent_escalation_does_not_take_the_clickers_escalation_just_before_for_its_own(
        live: Live) -> None:
    # Erin's first Escalate click went to level 2 through the REST API; her second, a moment later, planned
    # level 3 and was sent again after a timeout that never reached PagerDuty. The first click's log entry is
    # not the second's: the incident is at level 2, below what the second planned, so it is "already
    # escalated" (by her first click), never "applied".
    third_level(live)
    incident = live.pd.trigger("PSVC001", "checkout slow")
    assert (await send(live, incident, write(ActionKind.ESCALATE, "c1", escalation_level=2))).result == "applied"
    outcome = await send(live, incident, write(ActionKind.ESCALATE, "c2", escalation_level=3), is_retry=True,
                         attempt=2)
    assert outcome.result == "already"
    assert [a for a, _ in live.pd.incidents[incident].assignments] != ["PUCAROL"]


async def test_an_escalation_that_gave_up_is_found_in_the_log_only_when_the_click_made_it(live: Live) -> None:
    # Asked once an escalate write gave up unanswered: the clicker's own escalation in PagerDuty's app is not the
    # click's; one through the REST API, at the level the click planned, is.
    w = write(ActionKind.ESCALATE, escalation_level=2)
    in_app = live.pd.trigger("PSVC001", "checkout slow")
    live.pd.escalate(in_app, "PUALICE", 2)  # Alice, in PagerDuty's app
    assert await ActivityEnvironment().run(
        live.activities.write_landed, WriteRequest(incident_id=in_app, write=w)) is False
    by_click = live.pd.trigger("PSVC001", "checkout slower")
    live.pd.fail(f"/incidents/{by_click}", 504, count=1, method="PUT", applied=True)  # lands; answer lost
    with pytest.raises(PagerDutyUnavailable):
        await send(live, by_click, w)
    live.pd.clear_faults()
    assert await ActivityEnvironment().run(
        live.activities.write_landed, WriteRequest(incident_id=by_click, write=w)) is True


async def test_a_refused_priority_resend_that_the_incident_does_not_show_never_landed(live: Live) -> None:
    incident = live.pd.trigger("PSVC001", "checkout slow")
    live.pd.fail(f"/incidents/{incident}", 400, count=1, method="PUT")
    with pytest.raises(RefusedNothingLanded):
        await send(live, incident, write(ActionKind.PRIORITY, choice="PPRIO01"), is_retry=True, attempt=2)


async def test_a_refused_escalate_resend_with_no_earlier_attempt_in_the_log_never_landed(live: Live) -> None:
    incident = live.pd.trigger("PSVC001", "checkout slow")
    live.pd.fail(f"/incidents/{incident}", 400, count=1, method="PUT")
    with pytest.raises(RefusedNothingLanded):
        await send(live, incident, write(ActionKind.ESCALATE, escalation_level=2), is_retry=True, attempt=2)
