"""Shrunk stories the simulation found, replayed step by step (tests/sim/test_found_*.py): how one begins.

A story is the machine's own rules called in order (what hypothesis prints for a failure), ending with the
final checks. Each fails on code that has the behaviour; they are kept as normal tests on purpose.
"""

from __future__ import annotations

from tests.sim.machine import IncidentLife, machine_for
from tests.sim.people import ALICE
from workflows.models import ActionKind


def life(*checks: str, title: int = 5) -> IncidentLife:
    machine = machine_for(*checks)()
    machine.begin(title=title, skew_ms=0)
    return machine


def ack_clicked_and_applied(m: IncidentLife) -> None:
    m.deliver_webhook(pick=0)  # the trigger
    m.click(who=ALICE, action=ActionKind.ACKNOWLEDGE, to=ALICE, text=0)
    m.job_answers(pick=0, fault="ok")  # identity
    m.job_answers(pick=0, fault="ok")  # the write: applied; its echo waits in the outbox
