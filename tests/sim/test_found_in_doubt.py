"""Stories the 30-minute soak found where a write in doubt (it gave up, or its resend was refused) met the
clicker's own change in PagerDuty, which PagerDuty may not record apart (`attributed`, `answered`). See
tests/sim/stories.py."""

from __future__ import annotations

from tests.sim.people import ALICE, BOB, ERIN
from tests.sim.stories import life
from workflows.models import ActionKind


def test_b40_the_clickers_own_priority_in_pagerduty_while_the_clicks_write_is_in_doubt() -> None:
    # `dev.py soak --seed 1220313263`: Alice's priority click was in flight through two new runs; she set that
    # priority in PagerDuty herself; the resend was refused, and her webhook was taken for the click's, "from
    # Slack". PagerDuty logs no priority change, so nothing can tell the two apart: the line says either.
    m = life("attributed", "answered", title=0)
    m.deliver_webhook(pick=0)
    m.change_in_pagerduty(who=ALICE, move="priority", other=ALICE, text=0)
    m.click(who=ALICE, action=ActionKind.PRIORITY, to=ALICE, text=1)
    m.deliver_webhook(pick=0)
    m.continue_as_new(abandon=True)
    m.job_answers(pick=1, fault="ok")  # identity
    m.change_in_pagerduty(who=ALICE, move="priority", other=ALICE, text=0)
    m.continue_as_new(abandon=True)
    m.deliver_webhook(pick=0)  # her change, while the resend is out
    m.job_answers(pick=1, fault="error")  # the resend: refused
    m.teardown()


def test_b41_a_resent_escalate_after_the_clicker_escalated_and_resolved_in_pagerduty() -> None:
    # `dev.py soak --seed 1220313265` (and 1220313274, for a reassign): a modelling mistake. Alice escalated in
    # PagerDuty and clicked Escalate; a new run sent the click again after she resolved. The activity answers
    # "already escalated" (by her) before any PUT; the model refused the PUT first, as if it may have landed.
    m = life("attributed", "answered", title=0)
    m.deliver_webhook(pick=0)
    m.change_in_pagerduty(who=ALICE, move="escalate", other=ALICE, text=0)
    m.click(who=ALICE, action=ActionKind.ESCALATE, to=ALICE, text=0)
    m.job_answers(pick=0, fault="ok")  # identity
    m.continue_as_new(abandon=True)
    m.deliver_webhook(pick=0)  # her escalation
    m.change_in_pagerduty(who=ALICE, move="resolve", other=ALICE, text=0)
    m.job_answers(pick=0, fault="ok")  # the resend
    m.teardown()


def test_b42_a_snooze_that_landed_but_gave_up_unanswered() -> None:
    # `dev.py soak --seed 1220313384`: Alice's snooze got a 503, then timed out while it landed, to the deadline.
    # A snooze has no webhook to correct "failed" later: the thread never said it was snoozed. PagerDuty's log
    # (her snooze through the REST API) now says it landed.
    m = life("attributed", "answered", title=0)
    m.deliver_webhook(pick=0)
    m.time_passes(ms=1000)
    m.click(who=ALICE, action=ActionKind.ACKNOWLEDGE, to=ALICE, text=0)
    m.job_answers(pick=0, fault="ok")  # identity
    m.job_answers(pick=0, fault="ok")  # the acknowledge
    m.click(who=ALICE, action=ActionKind.SNOOZE, to=ALICE, text=0)
    m.job_answers(pick=0, fault="ok")  # identity
    m.job_answers(pick=0, fault="unavailable")
    m.job_answers(pick=0, fault="timeout_applied")
    m.teardown()


def test_b43_a_snooze_that_landed_unanswered_whose_retry_was_refused() -> None:
    # `dev.py soak --seed 1220313426`: a modelling gap. Alice's snooze timed out while it landed; its retry was
    # refused. The workflow asks PagerDuty's log (b42), which shows her snooze: the model said "may have landed".
    m = life("attributed", "answered", title=0)
    m.change_in_pagerduty(who=ALICE, move="acknowledge", other=ALICE, text=0)
    m.webhook_storm(roll=0)
    m.job_answers(pick=0, fault="ok")  # the read
    m.click(who=ALICE, action=ActionKind.SNOOZE, to=ALICE, text=0)
    m.job_answers(pick=0, fault="ok")  # identity
    m.job_answers(pick=0, fault="timeout_applied")
    m.job_answers(pick=0, fault="error")  # the retry: refused
    m.teardown()


def test_b44_a_snooze_sent_again_by_a_new_run_and_refused_after_it_landed() -> None:
    # As b43, when a new run sent the snooze again (its first attempt's answer never came back) and PagerDuty
    # refused it: the log shows the first attempt landed.
    m = life("attributed", "answered", title=0)
    m.change_in_pagerduty(who=ALICE, move="acknowledge", other=ALICE, text=0)
    m.webhook_storm(roll=0)
    m.job_answers(pick=0, fault="ok")  # the read
    m.click(who=ALICE, action=ActionKind.SNOOZE, to=ALICE, text=0)
    m.job_answers(pick=0, fault="ok")  # identity
    m.job_answers(pick=0, fault="timeout_applied")
    m.continue_as_new(abandon=True)
    m.job_answers(pick=0, fault="error")  # the resend: refused
    m.teardown()


def test_b46_a_forgotten_change_delivered_again_while_the_clickers_write_is_out() -> None:
    # `dev.py soak --seed 893220233`: Alice acknowledged in PagerDuty and clicked Acknowledge; her webhook was
    # told; a storm made the bridge forget it; PagerDuty delivered it again while her click's write was out, and
    # the write's "already acknowledged" told it a second time (patch `forgotten-held-echo-untold`).
    m = life("attributed", title=0)
    m.deliver_webhook(pick=0)
    m.time_passes(ms=1)
    m.change_in_pagerduty(who=ALICE, move="acknowledge", other=ALICE, text=0)
    m.click(who=ALICE, action=ActionKind.ACKNOWLEDGE, to=ALICE, text=0)
    m.deliver_webhook(pick=0)
    m.webhook_storm(roll=0)
    m.job_answers(pick=0, fault="ok")  # identity
    m.redeliver_webhook(pick=1)
    m.teardown()


def test_b47_a_resent_escalation_after_the_clickers_own_escalate_click_just_before() -> None:
    # `dev.py soak --seed 893220202`: Erin's Escalate click landed; her second, a moment later, timed out without
    # reaching PagerDuty; its retry found her first click's escalation in PagerDuty's log (through the REST API,
    # within the clock-skew window) and took it for its own: "Escalated by Erin from Slack" twice, made once.
    m = life("attributed", title=0)
    m.deliver_webhook(pick=0)
    m.click(who=ERIN, action=ActionKind.ESCALATE, to=ALICE, text=0)
    m.job_answers(pick=0, fault="ok")  # identity
    m.job_answers(pick=0, fault="ok")  # the escalation
    m.deliver_webhook(pick=0)
    m.click(who=ERIN, action=ActionKind.ESCALATE, to=ALICE, text=0)
    m.job_answers(pick=0, fault="ok")  # identity
    m.job_answers(pick=0, fault="timeout_applied")  # answered "already" (her first click's), the answer lost
    m.teardown()


def test_b49_an_escalate_that_gave_up_then_the_clicker_escalates_in_pagerduty() -> None:
    # `dev.py soak --seed 893220414`: Bob's Escalate was sent again by a new run; every attempt got a 503; he then
    # escalated in PagerDuty himself, and his webhook was taken for the click's, landed late. PagerDuty's log
    # (no escalation of his through the REST API) now says the click never landed.
    m = life("attributed", title=0)
    m.redeliver_webhook(pick=0)
    m.click(who=BOB, action=ActionKind.ESCALATE, to=ALICE, text=0)
    m.deliver_webhook(pick=0)
    m.job_answers(pick=0, fault="ok")  # identity
    m.continue_as_new(abandon=True)
    m.job_answers(pick=0, fault="unavailable")
    m.job_answers(pick=0, fault="unavailable")
    m.change_in_pagerduty(who=BOB, move="escalate", other=ALICE, text=0)
    m.deliver_webhook(pick=0)
    m.teardown()


def test_b54_a_refused_priority_resend_after_someone_changed_it_since() -> None:
    # `dev.py soak --seed 1746912370`: Bob's priority P1 landed with its answer lost; Alice set P2 in PagerDuty;
    # Bob's webhook (P1, by Bob) came while the resend was out, and PagerDuty refused the resend. The incident
    # showing P2 was taken for proof the first attempt never landed, and Bob's webhook was shown as his change in
    # PagerDuty. PagerDuty keeps no record of which way a priority was set: the line says it cannot tell.
    m = life("attributed", title=0)
    m.deliver_webhook(pick=0)
    m.click(who=BOB, action=ActionKind.PRIORITY, to=ALICE, text=0)
    m.job_answers(pick=0, fault="ok")  # identity
    m.job_answers(pick=0, fault="timeout_applied")
    m.change_in_pagerduty(who=ALICE, move="priority", other=ALICE, text=0)
    m.deliver_webhook(pick=0)  # Bob's, held while the resend is out
    m.job_answers(pick=0, fault="error")  # the resend refused
    assert any("from Slack or in PagerDuty" in r for r in m.sim.slack.channel.replies)
    m.teardown()
