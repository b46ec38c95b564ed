"""What the budget carries through continue-as-new (workflows/budget.py `carried`) stays bounded and true."""

from __future__ import annotations

from datetime import timedelta

from temporalio.contrib.pydantic import pydantic_data_converter

from tests.factories import at
from workflows import budget
from workflows.budget import Budget, Kind, Limits, SlackAsk, SlackDone
from workflows.pacing import BudgetInput


def _ask(b: Budget, n: int, channel: str, urgency: str, seconds: float = 0) -> None:
    budget.ask(b, SlackAsk(workflow_id=f"pd-incident-P{n:07d}", incident_id=f"P{n:07d}", kind=Kind.POST,
                           channel=channel, urgency=urgency, service=f"svc-{channel}",
                           html_url=f"https://acme.pagerduty.com/incidents/P{n:07d}"), at(seconds))


def _two_storms() -> Budget:
    """2,500 high-urgency new incidents wait in C1 and 500 low-urgency ones in C2, both storms announced."""
    b = Budget(limits=Limits(storm_threshold=10))
    for n in range(2_500):
        _ask(b, n, "C1", "high")
    for n in range(2_500, 3_000):
        _ask(b, n, "C2", "low")
    for step in budget.notices(b, at(0)):
        budget.notice_posted(b, step.channel, f"ts-{step.channel}")
    return b


def test_a_storm_whose_waiting_posts_were_not_carried_is_not_announced_over() -> None:
    """2,500 high-urgency new incidents wait in C1 and 500 low-urgency ones in C2, both storms announced. At
    continue-as-new `carried` keeps the 2,000 most urgent: every C2 post is dropped. The new run must not tell
    C2 that all its incidents are posted while none of its 500 is."""
    b = _two_storms()
    assert {c: s.ts for c, s in b.storms.items()} == {"C1": "ts-C1", "C2": "ts-C2"}

    new_run = Budget.model_validate_json(budget.carried(b, at(0)).model_dump_json())
    assert budget.waiting_posts(new_run, "C2") == 0  # what carried dropped
    texts = [s.text for s in budget.notices(new_run, at(1)) if s.channel == "C2"]
    assert not any("storm over" in t for t in texts), texts


def test_buckets_of_every_channel_ever_used_are_carried_for_ever() -> None:
    """One bucket per channel ever posted in (each incident channel under dedicated = "always") is never
    dropped, so the continue-as-new input grows without bound: about 94 bytes a channel, 2 MiB at ~22k."""
    b = Budget()
    for n in range(23_000):
        now = at(0) + timedelta(seconds=n)
        channel = f"C{n:010d}"
        _ask(b, n, channel, "high", seconds=n)
        budget.notices(b, now)
        budget.grant(b, now)
        budget.done(b, SlackDone(kind=Kind.POST, channel=channel), now)
        budget.notices(b, now)
    carried = budget.carried(b, at(0))
    size = pydantic_data_converter.payload_converter.to_payloads([BudgetInput(budget=carried)])[0].ByteSize()
    assert not carried.waiting and not carried.storms
    assert size < 1024 * 1024, f"{len(carried.buckets)} idle buckets carried: {size} bytes"


def test_dropped_posts_that_ask_again_are_not_counted_twice_and_the_storm_then_ends() -> None:
    b = _two_storms()
    new_run = Budget.model_validate_json(budget.carried(b, at(0)).model_dump_json())
    for n in range(2_500, 3_000):  # the dropped incidents' turns are late: they ask again
        _ask(new_run, n, "C2", "low", seconds=20)
    assert new_run.storms["C2"].total == 500
    texts: list[str] = []
    for second in range(30, 4_000):  # drain at Slack's pace
        now = at(second)
        texts += [s.text for s in budget.notices(new_run, now) if s.channel == "C2"]
        for grant in budget.grant(new_run, now):
            budget.done(new_run, SlackDone(kind=grant.kind, channel=grant.channel), now)
        if "C2" not in new_run.storms:
            break
    assert texts and "all 500 new incidents" in texts[-1], texts[-3:]
