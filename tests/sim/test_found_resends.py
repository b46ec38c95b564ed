"""Stories the simulation found where a write sent again (a retry, a new run's resend) or in doubt met the
clicker's own change in PagerDuty (`attributed`, `answered`, `once`). See tests/sim/stories.py."""

from __future__ import annotations

from tests.sim.dms import dm_channel
from tests.sim.people import ALICE, BOB, ERIN
from tests.sim.stories import life
from workflows.models import ActionKind, Status


def test_b22_every_attempt_503_while_the_clicker_acknowledges_in_pagerduty() -> None:
    # `dev.py soak --seed 1831546883`: every attempt of Alice's Acknowledge got 503 (nothing done) while she
    # acknowledged in PagerDuty herself; the held echo was taken for the click's: "from Slack".
    m = life("attributed", "answered")
    m.deliver_webhook(pick=0)
    m.click(who=ALICE, action=ActionKind.ACKNOWLEDGE, to=ALICE, text=0)
    m.job_answers(pick=0, fault="ok")  # identity
    m.job_answers(pick=0, fault="unavailable")  # the write: 503, retrying
    m.change_in_pagerduty(who=ALICE, move="acknowledge", other=ALICE, text=0)
    m.deliver_webhook(pick=0)  # her acknowledgement's webhook comes while the click retries
    m.job_answers(pick=0, fault="unavailable")  # the retries give up: 503 to the end
    m.teardown()


def test_b24_the_clicker_acknowledged_in_pagerduty_just_before_a_click_that_a_new_run_sends_again() -> None:
    # `dev.py soak --seed 667034260`: Erin acknowledged in PagerDuty's app, then clicked Acknowledge within the
    # clock-skew window; the run continued as new before the write's answer, the new run sent it again (it may
    # have landed), PagerDuty answered "already", and her own change was taken for the click's: "from Slack".
    # PagerDuty's log tells them apart: her change's channel is the app's, never the REST API's.
    m = life("attributed")
    m.deliver_webhook(pick=0)
    m.change_in_pagerduty(who=ERIN, move="acknowledge", other=ALICE, text=0)
    m.click(who=ERIN, action=ActionKind.ACKNOWLEDGE, to=ALICE, text=0)
    m.job_answers(pick=0, fault="ok")  # identity
    m.continue_as_new(abandon=True)
    m.teardown()


def test_b25_the_clickers_own_escalations_in_pagerduty_then_an_escalate_click_at_the_last_level() -> None:
    # `dev.py soak --seed 1670346331`: Alice escalated twice in PagerDuty (to the last level), then clicked
    # Escalate before their webhooks came. The click found nobody further (nothing written), but her webhook,
    # taken for the click's echo, made the failure look landed: "Escalated by Alice from Slack".
    m = life("attributed", "answered")
    m.deliver_webhook(pick=0)
    m.change_in_pagerduty(who=ALICE, move="escalate", other=ALICE, text=0)
    m.change_in_pagerduty(who=ALICE, move="escalate", other=ALICE, text=0)
    m.click(who=ALICE, action=ActionKind.ESCALATE, to=ALICE, text=0)
    m.job_answers(pick=0, fault="ok")  # identity
    m.teardown()


def test_b26_acknowledged_from_the_assignees_direct_message_while_the_channel_message_exists() -> None:
    # Alice, assigned at the trigger, has the incident in her direct message too and acknowledges from there: the
    # click is hers as from the channel (her identity, the team check, the echo taken for the click's own), the
    # channel's thread says so once, and both messages show it acknowledged.
    m = life("attributed", "answered", "once", "converges", "literal")
    m.deliver_webhook(pick=0)  # the trigger: assigned to Alice, who gets direct messages
    m.dm_opened(pick=0, fault="ok")
    slack = m.sim.slack.channel
    dm_ts = slack.dm_ts[dm_channel(ALICE)]
    assert slack.latest_ts is not None and dm_ts != slack.latest_ts
    m.click(who=ALICE, action=ActionKind.ACKNOWLEDGE, to=ALICE, text=0, where=1)
    assert (m.clicked[-1].channel, m.clicked[-1].message_ts) == (dm_channel(ALICE), dm_ts)
    m.job_answers(pick=0, fault="ok")  # identity
    m.job_answers(pick=0, fault="ok")  # the write
    m.deliver_webhook(pick=0)  # its echo
    m.teardown()
    assert slack.replies == [":heavy_check_mark: Acknowledged by <@U0ALICE> from Slack"]
    for ts in (slack.latest_ts, dm_ts):
        assert slack.views[ts].status is Status.ACKNOWLEDGED
    assert slack.views[dm_ts].assigned_to_reader is True


def test_b27_a_refused_resend_after_a_new_run_then_the_clicker_acknowledges_in_pagerduty() -> None:
    # `dev.py soak --seed 800242330`: Alice's Acknowledge was in flight when the run continued as new; the new
    # run sent it again and PagerDuty refused it. Alice then acknowledged in PagerDuty herself; her webhook was
    # taken for the click's, landed late: "from Slack". PagerDuty's log had shown no earlier attempt landed.
    m = life("attributed", "answered", title=0)
    m.deliver_webhook(pick=0)
    m.click(who=ALICE, action=ActionKind.ACKNOWLEDGE, to=ALICE, text=0)
    m.job_answers(pick=0, fault="ok")  # identity
    m.continue_as_new(abandon=True)
    m.job_answers(pick=0, fault="error")  # the resent write: refused
    m.change_in_pagerduty(who=ALICE, move="acknowledge", other=ALICE, text=0)
    m.teardown()


def test_b28_an_escalation_that_landed_unanswered_then_the_incident_resolved_in_pagerduty() -> None:
    # `dev.py soak --seed 1666604414`: Alice's Escalate landed but its answer was lost; she then resolved in
    # PagerDuty, so the retry was refused. The model called that refusal proof nothing landed (the workflow
    # says "may have landed"), and the escalation's webhook was shown as made in PagerDuty.
    m = life("attributed", "answered", title=0)
    m.deliver_webhook(pick=0)
    m.click(who=ALICE, action=ActionKind.ACKNOWLEDGE, to=ALICE, text=0)
    m.click(who=ALICE, action=ActionKind.ESCALATE, to=ALICE, text=0)
    m.job_answers(pick=1, fault="ok")  # the escalate's identity
    m.job_answers(pick=0, fault="ok")  # the acknowledge's identity
    m.job_answers(pick=0, fault="timeout_applied")  # the escalation lands, its answer is lost
    m.change_in_pagerduty(who=ALICE, move="resolve", other=ALICE, text=0)
    m.teardown()


def test_b29_reassigned_in_pagerduty_then_a_reassign_click_a_new_run_sends_again() -> None:
    # `dev.py soak --seed 1666604393`: Alice reassigned to Bob in PagerDuty, then clicked Reassign to Bob; the
    # run continued as new before the write went out, the new run sent it again, and PagerDuty's "already
    # assigned to them" was taken for the click's own earlier attempt: "Reassigned … from Slack".
    m = life("attributed", title=0)
    m.deliver_webhook(pick=0)
    m.change_in_pagerduty(who=ALICE, move="reassign", other=BOB, text=0)
    m.click(who=ALICE, action=ActionKind.ACKNOWLEDGE, to=ALICE, text=0)
    m.click(who=ALICE, action=ActionKind.REASSIGN, to=BOB, text=0)
    m.job_answers(pick=0, fault="ok")
    m.job_answers(pick=0, fault="ok")
    m.continue_as_new(abandon=True)
    m.teardown()


def test_b30_the_clickers_own_acknowledge_in_pagerduty_while_the_click_times_out_to_the_end() -> None:
    # `dev.py soak --seed 1666604424`: Alice acknowledged in PagerDuty, then clicked Acknowledge; the write got
    # a 503, her webhook came (held as the click's possible echo), and the retries timed out to the end. The
    # give-up could not say nothing was done, so her webhook was taken for the click's: "from Slack".
    # PagerDuty's log, asked once the write gave up, says no acknowledge of hers went through the REST API.
    m = life("attributed", "answered", title=0)
    m.deliver_webhook(pick=0)
    m.change_in_pagerduty(who=ALICE, move="acknowledge", other=ALICE, text=0)
    m.click(who=ALICE, action=ActionKind.ACKNOWLEDGE, to=ALICE, text=0)
    m.job_answers(pick=0, fault="ok")  # identity
    m.job_answers(pick=0, fault="unavailable")  # a 503
    m.deliver_webhook(pick=0)  # her acknowledgement's webhook
    m.job_answers(pick=0, fault="timeout_applied")  # the retries time out to the end
    m.teardown()


def test_b32_a_reassign_that_landed_unanswered_is_not_made_again_after_someone_reassigned() -> None:
    # `dev.py soak --seed 1666604414` (after b29): Alice's Reassign to Bob landed, its answer lost; then Bob
    # reassigned it back to Alice in PagerDuty. The retry saw "not assigned to Bob" and reassigned again,
    # undoing Bob's change: one click changed PagerDuty twice.
    m = life("once", "attributed", title=0)
    m.deliver_webhook(pick=0)
    m.click(who=ALICE, action=ActionKind.ACKNOWLEDGE, to=ALICE, text=0)
    m.click(who=ALICE, action=ActionKind.REASSIGN, to=BOB, text=0)
    m.job_answers(pick=1, fault="ok")  # the reassign's identity
    m.job_answers(pick=0, fault="ok")  # the acknowledge's identity
    m.job_answers(pick=0, fault="timeout_applied")  # the reassign lands; its answer is lost
    m.change_in_pagerduty(who=BOB, move="reassign", other=ALICE, text=0)
    m.teardown()


def test_b33_an_escalation_that_landed_unanswered_is_not_made_again_after_the_clicker_escalated_further() -> None:
    # `dev.py soak --seed 1558202120`: Alice's Escalate (to level 2) landed, its answer lost; she then escalated
    # to level 3 in PagerDuty. The retry took her escalation for its own attempt and went on: back to level 2.
    m = life("once", "attributed", title=0)
    m.deliver_webhook(pick=0)
    m.click(who=ALICE, action=ActionKind.ESCALATE, to=ALICE, text=0)
    m.job_answers(pick=0, fault="ok")  # identity
    m.job_answers(pick=0, fault="timeout_applied")  # level 2 lands; its answer is lost
    m.change_in_pagerduty(who=ALICE, move="escalate", other=ALICE, text=0)
    m.teardown()


def test_b34_a_refused_priority_resend_then_the_clicker_sets_it_in_pagerduty() -> None:
    # `dev.py soak --seed 1558202205`: Alice's priority write was in flight when the run continued as new; the
    # resend was refused; Alice then set that priority in PagerDuty herself. Her webhook was taken for the
    # click's, landed late. The incident's priority at the refusal showed no earlier attempt had landed.
    m = life("attributed", "answered", title=0)
    m.deliver_webhook(pick=0)
    m.click(who=ALICE, action=ActionKind.PRIORITY, to=ALICE, text=0)
    m.job_answers(pick=0, fault="ok")  # identity
    m.continue_as_new(abandon=True)
    m.job_answers(pick=0, fault="error")  # the resend: refused
    m.change_in_pagerduty(who=ALICE, move="priority", other=ALICE, text=0)
    m.teardown()


def test_b35_a_forgotten_echo_delivered_again_in_the_millisecond_of_the_last_change() -> None:
    # `dev.py soak --seed 1558202308`: Alice's acknowledge (from Slack) and its echo came in the trigger's very
    # millisecond; a storm made the bridge forget the echo's id; PagerDuty delivered the echo again. Tied with
    # the last change, it waited for PagerDuty's answer, which then named it as made in PagerDuty.
    m = life("attributed", title=0)
    m.deliver_webhook(pick=0)
    m.click(who=ALICE, action=ActionKind.ACKNOWLEDGE, to=ALICE, text=0)
    m.job_answers(pick=0, fault="ok")  # identity
    m.job_answers(pick=0, fault="ok")  # the write
    m.deliver_webhook(pick=0)  # its echo
    m.webhook_storm(roll=0)
    m.redeliver_webhook(pick=1)  # the echo again, its id forgotten
    m.teardown()


def test_b36_a_refused_escalate_resend_then_the_clicker_escalates_in_pagerduty() -> None:
    # `dev.py soak --seed 1242340570`: as b34, for an escalation: PagerDuty's log, read before the resend,
    # showed no earlier attempt, so the resend's refusal proves nothing landed.
    m = life("attributed", "answered", title=0)
    m.deliver_webhook(pick=0)
    m.click(who=ALICE, action=ActionKind.ESCALATE, to=ALICE, text=0)
    m.job_answers(pick=0, fault="ok")  # identity
    m.continue_as_new(abandon=True)
    m.job_answers(pick=0, fault="error")  # the resend: refused
    m.change_in_pagerduty(who=ALICE, move="escalate", other=ALICE, text=0)
    m.deliver_webhook(pick=0)
    m.teardown()


def test_b37_a_second_create_channel_click_while_the_first_is_under_way() -> None:
    # `dev.py soak --seed 1242340573`: Bob clicked Create channel while Alice's click was creating it, then
    # again: his second click got no answer of its own.
    m = life("answered", title=0)
    m.deliver_webhook(pick=0)
    m.click(who=ALICE, action=ActionKind.CREATE_CHANNEL, to=ALICE, text=0)
    m.click(who=BOB, action=ActionKind.CREATE_CHANNEL, to=ALICE, text=0)
    m.job_answers(pick=0, fault="ok")  # Alice's identity: the channel is being created
    m.click(who=BOB, action=ActionKind.CREATE_CHANNEL, to=ALICE, text=0)
    m.teardown()


def test_b61_a_resent_reassign_back_after_the_clickers_reassign_to_someone_else() -> None:
    # `dev.py soak --seed 1425544005`: Alice's click reassigned to Bob; her next click, back to herself, was sent
    # again by a new run before it reached PagerDuty. PagerDuty's log showed her reassignment through the REST
    # API since the click (the one to Bob), taken for this click's: "Reassigned to Alice" while Bob had it. A
    # reassignment's log entry names whom it assigned.
    m = life("attributed", title=0)
    m.webhook_storm(roll=0)
    m.continue_as_new(abandon=False)
    m.deliver_webhook(pick=0)
    m.dm_opened(pick=0, fault="ok")
    m.click(who=ALICE, action=ActionKind.REASSIGN, to=BOB, text=0)
    m.job_answers(pick=0, fault="ok")
    m.job_answers(pick=0, fault="ok")
    m.job_answers(pick=0, fault="ok")  # the reassign to Bob lands
    m.continue_as_new(abandon=False)
    m.continue_as_new(abandon=False)
    m.click(who=ALICE, action=ActionKind.REASSIGN, to=ALICE, text=0)
    m.job_answers(pick=0, fault="ok")  # identity
    m.continue_as_new(abandon=True)  # its write is sent again
    m.job_answers(pick=0, fault="ok")
    m.teardown()
