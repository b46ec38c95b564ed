"""Stories the simulation found where the message stopped following PagerDuty (`converges`), a message was
posted or not (`trigger_shown`), or typed text was not shown literally (`literal`): see tests/sim/stories.py."""

from __future__ import annotations

from tests.sim.machine import machine_for
from tests.sim.people import ALICE, BOB, PAT
from tests.sim.stories import life
from workflows.models import ActionKind


def test_b01_typed_title_is_not_literal() -> None:
    m = life("literal", title=0)  # "<!channel> db down"
    m.deliver_webhook(pick=0)
    m.teardown()


def test_b01_typed_note_placeholder_is_filled() -> None:
    m = life("literal")
    m.deliver_webhook(pick=0)
    m.change_in_pagerduty(who=BOB, move="note", other=BOB, text=3)  # "{p0} is to blame"
    m.deliver_webhook(pick=0)
    m.teardown()


def test_b03_resolve_delivered_before_trigger_posts_no_message() -> None:
    m = life("trigger_shown")
    m.change_in_pagerduty(who=BOB, move="resolve", other=BOB, text=0)
    m.deliver_webhook(pick=1)  # resolved first
    m.job_answers(pick=0, fault="ok")  # the read it asks for
    m.deliver_webhook(pick=0)  # the trigger, late
    m.teardown()


def test_b04_older_priority_snapshot_overwrites_newer() -> None:
    m = life("converges")
    m.deliver_webhook(pick=0)
    m.change_in_pagerduty(who=BOB, move="priority", other=BOB, text=0)  # P1
    m.time_passes(ms=1000)
    m.change_in_pagerduty(who=BOB, move="priority", other=BOB, text=0)  # P2
    m.deliver_webhook(pick=1)  # newer first
    m.deliver_webhook(pick=0)  # then the older one
    m.teardown()


def test_b04_older_reassign_snapshot_overwrites_newer() -> None:
    m = life("converges")
    m.deliver_webhook(pick=0)
    m.change_in_pagerduty(who=BOB, move="reassign", other=PAT, text=0)  # to Pat
    m.time_passes(ms=1000)
    m.change_in_pagerduty(who=BOB, move="escalate", other=BOB, text=0)  # level 2: Bob
    m.deliver_webhook(pick=1)
    m.deliver_webhook(pick=0)
    m.teardown()


def test_b15_failed_read_is_never_retried() -> None:
    # Shrunk by TestConverges: two status changes in the same millisecond ask for a read; it fails, and
    # nothing asks again before the periodic re-read 15 minutes later.
    m = life("converges")
    m.deliver_webhook(pick=0)
    m.change_in_pagerduty(who=ALICE, move="acknowledge", other=ALICE, text=0)
    m.change_in_pagerduty(who=ALICE, move="unacknowledge", other=ALICE, text=0)  # same millisecond
    m.deliver_webhook(pick=0)
    m.deliver_webhook(pick=0)
    m.job_answers(pick=0, fault="error")
    m.teardown()


def test_b23_a_reassign_in_the_millisecond_of_an_acknowledge_asks_pagerduty() -> None:
    # `dev.py soak --seed 667034240`: Alice reassigned the incident to herself and acknowledged it in the same
    # millisecond; the acknowledge's webhook came first, then the reassign's, whose snapshot (taken before the
    # acknowledge) says triggered. It was taken for a re-trigger: the message stayed "triggered" for good.
    m = life("converges", title=0)
    m.deliver_webhook(pick=0)
    m.time_passes(ms=1)
    m.change_in_pagerduty(who=ALICE, move="reassign", other=ALICE, text=0)
    m.change_in_pagerduty(who=ALICE, move="note", other=ALICE, text=0)
    m.change_in_pagerduty(who=ALICE, move="acknowledge", other=ALICE, text=0)
    m.deliver_webhook(pick=2)  # the acknowledge first
    m.teardown()


def test_b31_a_read_sent_before_a_priority_change_answers_after_it() -> None:
    # `dev.py soak --seed 1666604407`: the periodic re-read went out, then Alice's priority write landed (its
    # answer and its webhook showed P1); the read's answer, PagerDuty from before the change, came last and
    # was taken: the message showed no priority until the next re-read, 15 minutes later.
    m = life("converges", title=0)
    m.deliver_webhook(pick=0)
    m.click(who=ALICE, action=ActionKind.PRIORITY, to=ALICE, text=0)
    m.job_answers(pick=0, fault="ok")  # identity
    m.time_passes(ms=900_000)  # the periodic re-read goes out
    m.job_answers(pick=0, fault="ok")  # the priority write: P1
    m.deliver_webhook(pick=0)  # its echo
    m.job_answers(pick=0, fault="stale")  # the read: PagerDuty as it was when the read was sent
    m.teardown()


def test_b38_the_clickers_own_acknowledge_and_reassign_in_one_millisecond() -> None:
    # As b39, with the acknowledge and the reassign in one millisecond.
    m = life("converges", title=0)
    m.deliver_webhook(pick=0)
    m.time_passes(ms=1)
    m.click(who=ALICE, action=ActionKind.ACKNOWLEDGE, to=ALICE, text=0)
    m.job_answers(pick=0, fault="ok")  # identity
    m.change_in_pagerduty(who=ALICE, move="acknowledge", other=ALICE, text=0)
    m.job_answers(pick=0, fault="ok")  # the write
    m.change_in_pagerduty(who=ALICE, move="reassign", other=ALICE, text=0)
    m.deliver_webhook(pick=1)
    m.teardown()


def test_b39_an_acknowledge_then_a_reassign_that_triggers_again_delivered_newest_first() -> None:
    # `dev.py soak --seed 1242340586` (and 1242340601): Alice clicked Acknowledge and acknowledged in PagerDuty
    # herself; a millisecond later her click's write answered "already" and she reassigned to herself, which
    # triggered the incident again. The reassign's webhook (showing "triggered", which the message showed
    # already) came first; the acknowledge's, older but newer than the last status change the bridge knew,
    # was then taken: the message said "acknowledged" for good, PagerDuty "triggered".
    m = life("converges", title=0)
    m.deliver_webhook(pick=0)
    m.time_passes(ms=1)
    m.click(who=ALICE, action=ActionKind.ACKNOWLEDGE, to=ALICE, text=0)
    m.job_answers(pick=0, fault="ok")  # identity
    m.change_in_pagerduty(who=ALICE, move="acknowledge", other=ALICE, text=0)
    m.time_passes(ms=1)
    m.job_answers(pick=0, fault="ok")  # the write: already
    m.change_in_pagerduty(who=ALICE, move="reassign", other=ALICE, text=0)
    m.deliver_webhook(pick=1)  # the reassign first
    m.teardown()


def test_b45_a_webhook_credited_after_a_read_then_an_older_snapshot_delivered_again() -> None:
    # `dev.py soak --seed 893220173`: Alice reassigned twice and acknowledged, all in one millisecond. A read
    # showed "acknowledged" first; her acknowledge's webhook then named her (b38's rule) but left the last
    # status change's time at the read's second; a reassign's webhook, delivered again after a storm, looked
    # newer and triggered the incident again on the message.
    m = life("converges", title=0)
    m.deliver_webhook(pick=0)
    m.time_passes(ms=1)
    m.change_in_pagerduty(who=ALICE, move="reassign", other=ALICE, text=0)
    m.change_in_pagerduty(who=ALICE, move="reassign", other=BOB, text=0)
    m.deliver_webhook(pick=0)
    m.deliver_webhook(pick=0)
    m.change_in_pagerduty(who=ALICE, move="acknowledge", other=ALICE, text=0)
    m.job_answers(pick=0, fault="ok")  # the read: acknowledged
    m.deliver_webhook(pick=0)  # the acknowledge
    m.webhook_storm(roll=0)
    m.redeliver_webhook(pick=2)
    m.teardown()


def test_b48_a_reopen_joining_a_tie_while_its_read_is_out() -> None:
    # `dev.py soak --seed 893220302`: Alice resolved and reopened in the trigger's millisecond. The resolve's
    # webhook was a tie and sent a read; the reopen's came while it was out (the message already said
    # triggered); the read answered from before the reopen ("resolved"), and nothing asked again.
    m = life("converges", title=0)
    m.deliver_webhook(pick=0)
    m.change_in_pagerduty(who=ALICE, move="resolve", other=ALICE, text=0)
    m.click(who=ALICE, action=ActionKind.ACKNOWLEDGE, to=ALICE, text=0)
    m.deliver_webhook(pick=0)
    m.change_in_pagerduty(who=ALICE, move="reopen", other=ALICE, text=0)
    m.deliver_webhook(pick=0)
    m.job_answers(pick=0, fault="error")  # identity
    m.job_answers(pick=0, fault="stale")  # the read, from before the reopen
    m.teardown()


def test_b50_a_snapshot_that_agrees_with_the_message_while_a_disagreeing_read_is_out() -> None:
    # `dev.py soak --seed 1746912315`: Alice reassigned to Bob and back to herself in one millisecond. The first
    # reassign's snapshot disagreed with what a read had shown and sent a read; the second's agreed with the
    # message and changed nothing; the read, from before the second, then moved the message to Bob for good.
    m = life("converges", title=0)
    m.change_in_pagerduty(who=ALICE, move="note", other=ALICE, text=0)
    m.deliver_webhook(pick=1)
    m.job_answers(pick=0, fault="ok")  # the read: the bridge learns the incident
    m.change_in_pagerduty(who=ALICE, move="reassign", other=BOB, text=0)
    m.deliver_webhook(pick=1)  # to Bob: disagrees, a read is sent
    m.change_in_pagerduty(who=ALICE, move="reassign", other=ALICE, text=0)
    m.deliver_webhook(pick=0)
    m.deliver_webhook(pick=0)  # back to Alice: agrees with the message
    m.job_answers(pick=0, fault="stale")  # the read, from before it
    m.teardown()


def test_b51_a_reassign_that_triggers_again_joining_a_tie_while_its_read_is_out() -> None:
    # `dev.py soak --seed 1746912397` (one of its forms): Alice reassigned to Bob, acknowledged, and reassigned
    # to Bob again (which triggers again), all in one millisecond. The acknowledge was a tie and sent a read;
    # the second reassign's snapshot ("triggered") came while it was out; the read, from before it, said
    # "acknowledged" and nothing asked again.
    m = life("converges", title=0)
    m.deliver_webhook(pick=0)
    m.time_passes(ms=1)
    m.change_in_pagerduty(who=ALICE, move="reassign", other=BOB, text=0)
    m.deliver_webhook(pick=0)
    m.continue_as_new(abandon=False)
    m.change_in_pagerduty(who=ALICE, move="acknowledge", other=ALICE, text=0)
    m.deliver_webhook(pick=0)
    m.change_in_pagerduty(who=ALICE, move="reassign", other=BOB, text=0)
    m.deliver_webhook(pick=0)
    m.job_answers(pick=0, fault="stale")  # the read, from before the second reassign
    m.continue_as_new(abandon=False)
    m.teardown()


def test_b53_a_reopen_in_the_resolve_millisecond_when_the_read_fails() -> None:
    # `dev.py soak --seed 1967167490`: Alice resolved and reopened in one millisecond. The reopen's webhook was a
    # tie and asked PagerDuty; the read failed, the linger after the resolve ended, and the workflow finished
    # with the message resolved for good. While which came last is still to be read, a resolved incident lingers.
    m = life("converges", title=0)
    m.deliver_webhook(pick=0)
    m.change_in_pagerduty(who=ALICE, move="resolve", other=ALICE, text=0)
    m.deliver_webhook(pick=0)
    m.job_answers(pick=0, fault="ok")  # the read: resolved
    m.change_in_pagerduty(who=ALICE, move="reopen", other=ALICE, text=0)
    m.deliver_webhook(pick=0)  # a tie: PagerDuty is asked
    m.time_passes(ms=90_000_000)  # past the linger
    m.job_answers(pick=0, fault="error")  # the read fails
    m.teardown()


def test_b55_an_unacknowledge_in_the_trigger_millisecond_after_a_storm() -> None:
    # `dev.py soak --seed 1746912397` (another form): after a storm made the bridge forget events up to the
    # trigger's millisecond, Alice acknowledged and PagerDuty unacknowledged it, all in that millisecond. The
    # acknowledge asked PagerDuty (its tie not named: it may be a redelivery); the unacknowledge agreed with the
    # message and changed nothing; the read, sent before it, moved the message to acknowledged for good.
    m = life("converges", title=0)
    m.deliver_webhook(pick=0)
    m.webhook_storm(roll=0)
    m.continue_as_new(abandon=False)
    m.change_in_pagerduty(who=ALICE, move="acknowledge", other=ALICE, text=0)
    m.deliver_webhook(pick=0)
    m.change_in_pagerduty(who=ALICE, move="unacknowledge", other=ALICE, text=0)
    m.deliver_webhook(pick=0)
    m.job_answers(pick=0, fault="stale")  # the read, from before the unacknowledge
    m.continue_as_new(abandon=False)
    m.teardown()


def test_b56_a_trigger_delivered_after_a_read_that_showed_the_acknowledge_of_its_millisecond() -> None:
    # `dev.py soak --seed 16401940`: after a storm, Alice acknowledged in the trigger's millisecond; the
    # acknowledge asked PagerDuty, whose read (timed to the second) said acknowledged. The trigger, delivered
    # last, looked newer than that second and put the message back to triggered for good. A read sent after
    # webhooks of that millisecond were seen shows PagerDuty after them: such a webhook asks again.
    m = machine_for("converges")()
    m.begin(title=0, skew_ms=1)
    m.webhook_storm(roll=0)
    m.job_answers(pick=0, fault="ok")
    m.change_in_pagerduty(who=ALICE, move="acknowledge", other=ALICE, text=0)
    m.deliver_webhook(pick=1)
    m.job_answers(pick=0, fault="ok")  # the read: acknowledged
    m.teardown()  # the trigger comes last


def test_b57_a_priority_set_on_a_resolved_incident_whose_read_fails() -> None:
    # `dev.py soak --seed 16401903`: Alice resolved in PagerDuty, then set a priority; its webhook asked
    # PagerDuty (it may predate the read that showed the resolve), the read failed, and the linger after the
    # resolve ended: the message never showed the priority. A resolved incident waiting for a read lingers.
    m = life("converges", title=0)
    m.deliver_webhook(pick=0)
    m.change_in_pagerduty(who=ALICE, move="resolve", other=ALICE, text=0)
    m.continue_as_new(abandon=False)
    m.click(who=ALICE, action=ActionKind.ACKNOWLEDGE, to=ALICE, text=0)
    m.deliver_webhook(pick=0)
    m.job_answers(pick=1, fault="ok")  # the read: resolved
    m.change_in_pagerduty(who=ALICE, move="priority", other=ALICE, text=0)
    m.deliver_webhook(pick=0)
    m.time_passes(ms=90_000_000)
    m.job_answers(pick=0, fault="error")  # who Alice is: PagerDuty unavailable
    m.job_answers(pick=0, fault="error")  # the read
    m.teardown()


def test_b59_an_acknowledge_and_a_reassign_in_one_millisecond_after_a_read() -> None:
    # `dev.py soak --seed 1997621278`: Alice acknowledged and reassigned to Bob (which triggers again) in one
    # millisecond, just after a read. The reassign came first; its snapshot ("triggered", Bob) agreed with the
    # read, but as it might predate the read it did not date what was shown, so the acknowledge looked newer
    # than any snapshot and was taken. An agreeing snapshot dates what is shown: the acknowledge asks PagerDuty.
    m = life("converges", title=0)
    m.change_in_pagerduty(who=ALICE, move="reassign", other=BOB, text=0)
    m.deliver_webhook(pick=0)
    m.deliver_webhook(pick=0)
    m.time_passes(ms=1)
    m.continue_as_new(abandon=False)
    m.continue_as_new(abandon=False)
    m.job_answers(pick=0, fault="ok")  # the read
    m.change_in_pagerduty(who=ALICE, move="acknowledge", other=ALICE, text=0)
    m.change_in_pagerduty(who=ALICE, move="reassign", other=BOB, text=0)
    m.deliver_webhook(pick=1)  # the reassign first
    m.teardown()


def test_b62_a_tie_whose_reads_fail_four_times() -> None:
    # `dev.py soak --seed 1673715155`: a modelling limit, not the bridge's. Alice acknowledged, PagerDuty
    # unacknowledged, she acknowledged and resolved, all in the trigger's millisecond; four reads in a row
    # failed. The bridge retries the fifth 4 minutes later (backoff), but the simulation's end ran timers only
    # up to the confirmation deadline: a failed read's retry now fires however far its backoff put it.
    m = life("converges", title=0)
    m.change_in_pagerduty(who=ALICE, move="acknowledge", other=ALICE, text=0)
    m.deliver_webhook(pick=0)
    m.deliver_webhook(pick=0)
    m.change_in_pagerduty(who=ALICE, move="unacknowledge", other=ALICE, text=0)
    m.deliver_webhook(pick=0)
    m.job_answers(pick=0, fault="error")
    m.change_in_pagerduty(who=ALICE, move="acknowledge", other=ALICE, text=0)
    m.change_in_pagerduty(who=ALICE, move="resolve", other=ALICE, text=0)
    m.deliver_webhook(pick=0)
    m.job_answers(pick=0, fault="error")
    m.job_answers(pick=0, fault="error")
    m.deliver_webhook(pick=0)
    m.job_answers(pick=0, fault="error")
    m.continue_as_new(abandon=False)
    m.teardown()


def test_b63_an_escalation_echo_delivered_after_a_read_that_saw_its_millisecond() -> None:
    # `dev.py soak --seed 1673715215`: Alice reassigned to herself, clicked Escalate and acknowledged, all in one
    # millisecond. The acknowledge asked PagerDuty, whose read said acknowledged; the escalation's echo
    # (triggered again) came last and looked newer than the read's second. A change that triggers again, no
    # newer than what such a read had seen, asks PagerDuty too (rule `read_floor`).
    m = life("converges", title=0)
    m.deliver_webhook(pick=0)
    m.continue_as_new(abandon=False)
    m.time_passes(ms=1)
    m.change_in_pagerduty(who=ALICE, move="reassign", other=ALICE, text=0)
    m.click(who=ALICE, action=ActionKind.ESCALATE, to=ALICE, text=0)
    m.deliver_webhook(pick=0)
    m.job_answers(pick=0, fault="ok")  # identity
    m.job_answers(pick=0, fault="ok")  # the escalation lands; its echo waits
    m.change_in_pagerduty(who=ALICE, move="acknowledge", other=ALICE, text=0)
    m.deliver_webhook(pick=1)  # the acknowledge: a tie, a read
    m.job_answers(pick=0, fault="ok")  # the read: acknowledged
    m.teardown()
