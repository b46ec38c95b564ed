"""Status updates in the simulation, as stories of the machine's rules: one from Slack whose answer was lost
is reported and never published twice, and its echo, late, confirms it; one made in PagerDuty shows once."""

from __future__ import annotations

from tests.sim.machine import IncidentLife, machine_for
from tests.sim.people import ALICE, BOB
from workflows.models import ActionKind


def life() -> IncidentLife:
    machine = machine_for("converges", "attributed", "answered", "once", "literal", "total")()
    machine.begin(title=5, skew_ms=0)
    machine.deliver_webhook(pick=0)  # the trigger
    return machine


def test_a_status_update_whose_answer_was_lost_is_published_once_and_confirmed_late() -> None:
    m = life()
    m.click(who=ALICE, action=ActionKind.STATUS_UPDATE, to=ALICE, text=0)  # typed "<!channel> db down"
    m.job_answers(pick=0, fault="ok")  # identity
    m.job_answers(pick=0, fault="timeout_applied")  # published, the answer lost: reported, not sent again
    m.click_delivered_again(pick=0)
    m.time_passes(ms=121_000)
    m.deliver_webhook(pick=0)  # its echo, late
    assert len(m.sim.pd.status_updates) == 1
    m.teardown()


def test_status_updates_from_slack_and_pagerduty_each_show_once_in_any_order() -> None:
    m = life()
    m.click(who=ALICE, action=ActionKind.STATUS_UPDATE, to=ALICE, text=3)
    m.change_in_pagerduty(who=BOB, move="status_update", other=BOB, text=1)
    m.job_answers(pick=0, fault="ok")
    m.deliver_webhook(pick=0)  # Bob's, before Alice's write
    m.job_answers(pick=0, fault="ok")
    m.deliver_webhook(pick=0)  # Alice's echo after its answer
    m.teardown()
