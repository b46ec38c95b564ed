"""Stories the simulation found where a webhook was credited to the wrong person or place, or a click got no
single outcome (`attributed`, `answered`): echoes, reads and storms. See tests/sim/stories.py."""

from __future__ import annotations

from tests.sim.machine import machine_for
from tests.sim.people import ALICE, BOB
from tests.sim.stories import ack_clicked_and_applied, life
from workflows.models import ActionKind


def test_b02_echo_after_the_confirmation_deadline_is_shown_as_outside() -> None:
    m = life("attributed")
    ack_clicked_and_applied(m)
    m.time_passes(ms=121_000)  # the deadline passes; the read it asks for answers
    m.job_answers(pick=0, fault="ok")
    m.deliver_webhook(pick=0)  # the echo, late
    m.teardown()


def test_b02_note_echo_after_a_read_is_shown_as_outside() -> None:
    m = life("attributed")
    m.deliver_webhook(pick=0)
    m.click(who=ALICE, action=ActionKind.NOTE, to=ALICE, text=5)
    m.job_answers(pick=0, fault="ok")
    m.job_answers(pick=0, fault="ok")  # the note is written; its echo waits in the outbox
    m.click(who=BOB, action=ActionKind.ACKNOWLEDGE, to=BOB, text=0)
    m.job_answers(pick=0, fault="ok")
    m.job_answers(pick=0, fault="refused")  # Bob's click fails, so the bridge re-reads
    m.job_answers(pick=0, fault="ok")  # the read
    m.deliver_webhook(pick=0)  # the note's echo
    m.teardown()


def test_b02_echo_after_an_already_answer_is_shown_as_outside() -> None:
    m = life("attributed")
    m.deliver_webhook(pick=0)
    m.click(who=ALICE, action=ActionKind.ACKNOWLEDGE, to=ALICE, text=0)
    m.job_answers(pick=0, fault="ok")
    m.job_answers(pick=0, fault="timeout_applied")  # applied, but the answer was lost: retrying
    m.job_answers(pick=0, fault="ok")  # the retry: "already acknowledged"
    m.deliver_webhook(pick=0)  # the echo of the first attempt
    m.teardown()


def test_b11_already_credits_the_clicker() -> None:
    m = life("attributed")
    m.deliver_webhook(pick=0)
    m.change_in_pagerduty(who=BOB, move="acknowledge", other=BOB, text=0)  # webhook not delivered yet
    m.click(who=ALICE, action=ActionKind.ACKNOWLEDGE, to=ALICE, text=0)
    m.job_answers(pick=0, fault="ok")
    m.job_answers(pick=0, fault="ok")  # "already acknowledged" (by Bob)
    m.teardown()


def test_b13_duplicate_forgotten_after_500_event_ids() -> None:
    m = life("attributed")
    m.deliver_webhook(pick=0)
    m.change_in_pagerduty(who=BOB, move="acknowledge", other=BOB, text=0)
    m.deliver_webhook(pick=0)
    m.webhook_storm(roll=0)
    m.redeliver_webhook(pick=1)  # the acknowledgement again, after 520 other events
    m.teardown()


def test_b14_deliberate_repeat_note_within_30_s_vanishes() -> None:
    m = life("attributed")
    m.deliver_webhook(pick=0)
    for _ in range(2):
        m.click(who=ALICE, action=ActionKind.NOTE, to=ALICE, text=6 if m.clicked else 5)
        m.job_answers(pick=0, fault="ok")
        m.job_answers(pick=0, fault="ok")
    m.teardown()


def test_b16_continue_as_new_abandons_a_click() -> None:
    m = life("answered")
    m.deliver_webhook(pick=0)
    m.click(who=ALICE, action=ActionKind.ACKNOWLEDGE, to=ALICE, text=0)
    m.continue_as_new(abandon=True)
    m.teardown()


def test_b17_retry_after_a_503_takes_the_clickers_own_change_for_its_own() -> None:
    # Shrunk from `dev.py soak --seed 1831546883`: PagerDuty answered the first attempt 503 (it did not land),
    # Alice then acknowledged in PagerDuty herself, and the retry took her change for the click's own:
    # "Acknowledged by @alice from Slack", a change the bridge never made.
    m = life("attributed", "answered")
    m.deliver_webhook(pick=0)
    m.click(who=ALICE, action=ActionKind.ACKNOWLEDGE, to=ALICE, text=0)
    m.job_answers(pick=0, fault="ok")  # identity
    m.change_in_pagerduty(who=ALICE, move="acknowledge", other=ALICE, text=0)  # its webhook waits
    m.job_answers(pick=0, fault="unavailable")  # the write: 503, retrying
    m.job_answers(pick=0, fault="ok")  # the retry finds Alice's acknowledgement since the click
    m.teardown()


def test_b19_a_refused_retry_after_a_lost_answer_does_not_disown_the_clicks_echo() -> None:
    m = life("attributed")
    m.deliver_webhook(pick=0)
    m.click(who=ALICE, action=ActionKind.ACKNOWLEDGE, to=ALICE, text=0)
    m.job_answers(pick=0, fault="ok")  # identity
    m.job_answers(pick=0, fault="timeout_applied")  # the first attempt lands, its answer is lost
    m.deliver_webhook(pick=0)  # its echo comes while the click waits
    m.job_answers(pick=0, fault="error")  # the retry is refused: no proof the first attempt did not land
    m.teardown()


def test_b20_an_event_older_than_those_forgotten_after_a_storm_is_not_shown_twice() -> None:
    m = life("attributed")
    m.deliver_webhook(pick=0)
    m.change_in_pagerduty(who=ALICE, move="reassign", other=BOB, text=0)
    m.deliver_webhook(pick=0)  # the reassign, shown once
    m.webhook_storm(roll=0)  # over 500 other events: the reassign's id is forgotten
    m.redeliver_webhook(pick=1)  # PagerDuty delivers the reassign again
    m.teardown()


def test_b21_the_clickers_own_escalation_in_pagerduty_is_not_the_clicks() -> None:
    m = life("attributed")
    m.deliver_webhook(pick=0)
    m.click(who=ALICE, action=ActionKind.ACKNOWLEDGE, to=ALICE, text=0)
    m.click(who=ALICE, action=ActionKind.ESCALATE, to=ALICE, text=0)
    m.job_answers(pick=1, fault="ok")  # the escalate's identity
    m.job_answers(pick=0, fault="ok")  # the acknowledge's identity
    m.job_answers(pick=0, fault="unavailable")  # a 503: nothing done, retrying
    m.change_in_pagerduty(who=ALICE, move="escalate", other=ALICE, text=0)  # Alice escalates in PagerDuty
    m.teardown()


def test_b52_a_second_acknowledge_before_the_message_shows_the_first() -> None:
    # `dev.py soak --seed 1967167537`: Bob's Acknowledge landed; before its webhook or read came he clicked it
    # again, and a new run resent that second click. PagerDuty answered "already acknowledged", by Bob, through
    # the REST API since the click: the first click's change, taken for the second's, shown twice from Slack.
    # The second click is answered at once: PagerDuty accepted the first, and the message shows it soon.
    m = life("attributed", title=0)
    m.deliver_webhook(pick=0)
    m.click(who=BOB, action=ActionKind.ACKNOWLEDGE, to=ALICE, text=0)
    m.job_answers(pick=0, fault="ok")  # identity
    m.continue_as_new(abandon=False)
    m.job_answers(pick=0, fault="ok")  # the acknowledge lands
    m.click(who=BOB, action=ActionKind.ACKNOWLEDGE, to=ALICE, text=0)
    told = [t for t in m.sim.slack.channel.told if "a moment ago" in t.text]
    assert told and "Nothing was sent" in told[-1].text
    m.job_answers(pick=1, fault="ok")
    m.continue_as_new(abandon=True)
    m.teardown()


def test_b58_a_second_resolve_while_the_first_ones_tied_echo_waits_for_a_failing_read() -> None:
    # `dev.py soak --seed 16401929`: Bob's Resolve landed in the trigger's millisecond; its webhook came, tied
    # with the trigger, and the reads that were to settle it failed. Bob clicked Resolve again: sent, PagerDuty
    # answered "already resolved" by Bob through the REST API, and the thread said it twice. While no read has
    # shown PagerDuty since an applied click, a repeat of it is answered at once.
    m = life("attributed", title=0)
    m.deliver_webhook(pick=0)
    m.click(who=BOB, action=ActionKind.RESOLVE, to=ALICE, text=0)
    m.job_answers(pick=0, fault="ok")  # identity
    m.job_answers(pick=0, fault="ok")  # the resolve lands
    m.deliver_webhook(pick=0)  # its echo, tied with the trigger
    m.job_answers(pick=0, fault="error")  # the reads fail
    m.job_answers(pick=0, fault="error")
    m.click(who=BOB, action=ActionKind.RESOLVE, to=ALICE, text=0)
    assert any("a moment ago" in t.text for t in m.sim.slack.channel.told)
    m.teardown()


def test_b60_a_second_acknowledge_when_pagerdutys_clock_is_ahead() -> None:
    # `dev.py soak --seed 196668933`: PagerDuty's clock 1 ms ahead of the worker's. Alice's Acknowledge landed
    # in the trigger's second, unshown; she clicked again. The trigger's time, by PagerDuty's clock, looked newer
    # than her first click, as if PagerDuty had changed since: the second click was sent, and a new run's resend
    # took her first acknowledge for its own. What the message shows, not PagerDuty's clock, tells news apart.
    m = machine_for("attributed")()
    m.begin(title=0, skew_ms=1)
    m.deliver_webhook(pick=0)
    m.webhook_storm(roll=0)
    m.click(who=ALICE, action=ActionKind.ACKNOWLEDGE, to=ALICE, text=0)
    m.job_answers(pick=0, fault="ok")  # identity
    m.job_answers(pick=0, fault="ok")  # the acknowledge lands, unshown
    m.click(who=ALICE, action=ActionKind.ACKNOWLEDGE, to=ALICE, text=0)
    assert any("a moment ago" in t.text for t in m.sim.slack.channel.told)
    m.job_answers(pick=0, fault="ok")
    m.continue_as_new(abandon=True)
    m.teardown()
