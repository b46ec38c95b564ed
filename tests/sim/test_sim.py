"""Deterministic simulation of one incident's life (issue #8): one test per invariant.

Replay a failure from the steps hypothesis prints; `python3 dev.py soak --minutes N` runs many more.
Each test has a fixed seed. Profiles: `sim` (the default here) and `sim-quick`; choose with HYPOTHESIS_PROFILE.
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

from tests.sim.machine import machine_for

settings.register_profile(
    # derandomize: the same schedules every run, so CI is repeatable; `dev.py soak` explores new seeds.
    "sim", max_examples=300, stateful_step_count=25, deadline=None, database=None, report_multiple_bugs=False,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
settings.register_profile("sim-quick", parent=settings.get_profile("sim"), max_examples=20)
SIM = settings.get_profile(os.environ.get("HYPOTHESIS_PROFILE", "sim"))

TestConverges = machine_for("converges").TestCase
TestAttributed = machine_for("attributed").TestCase
TestAnswered = machine_for("answered").TestCase
TestOnce = machine_for("once").TestCase
TestLiteral = machine_for("literal").TestCase
TestTotal = machine_for("total").TestCase
TestTriggerShown = machine_for("trigger_shown").TestCase
for case in (TestConverges, TestAttributed, TestAnswered, TestOnce, TestLiteral, TestTotal, TestTriggerShown):
    case.settings = SIM
