"""The shared Slack budget's rules alone (workflows/budget.py): pace, priority, 429s and storm notices."""

from __future__ import annotations

from datetime import timedelta

from tests.factories import at
from workflows import budget
from workflows.budget import Budget, Kind, Limits, SlackAsk, SlackDone, SlackThrottled


def ask(b: Budget, n: int, kind: Kind, seconds: float, channel: str = "C1", **extra: str | None) -> None:
    budget.ask(b, SlackAsk(workflow_id=f"wf{n}", incident_id=f"P{n}", kind=kind, channel=channel,
                           service="payments-api", html_url=f"https://acme.pagerduty.com/incidents/P{n}",
                           **extra), at(seconds))


def granted(b: Budget, seconds: float, finish: bool = True) -> list[str]:
    """What may go at `seconds`; with `finish`, each call is over at once and reports done."""
    grants = budget.grant(b, at(seconds))
    if finish:
        for g in grants:
            channel = next((w.ask.channel for w in b.waiting if w.ask.workflow_id == g.workflow_id), "C1")
            budget.done(b, SlackDone(kind=g.kind, channel=channel), at(seconds))
    return [g.workflow_id for g in grants]


def test_posts_in_one_channel_go_at_one_a_second_after_a_short_burst() -> None:
    b = Budget(limits=Limits(post_burst=3, storm_threshold=100))
    for n in range(10):
        ask(b, n, Kind.POST, 0)
    sent = [len(granted(b, t / 10)) for t in range(0, 50)]  # every 100 ms for 5 s
    assert sum(sent[:1]) == 3  # the burst
    assert sum(sent) == 3 + 4  # then one a second (at 1, 2, 3, 4 s)


def test_channels_have_their_own_pace_and_updates_share_one() -> None:
    b = Budget(limits=Limits(post_burst=3, update_burst=3, storm_threshold=100))
    for n in range(4):
        ask(b, n, Kind.POST, 0, channel="C1")
        ask(b, 10 + n, Kind.POST, 0, channel="C2")
        ask(b, 20 + n, Kind.UPDATE, 0, channel="C1")
        ask(b, 30 + n, Kind.UPDATE, 0, channel="C2")
    first = granted(b, 0)
    assert sum(w.startswith("wf1") and len(w) == 4 for w in first) == 3  # C2's burst, besides C1's
    assert sum(w in {f"wf2{n}" for n in range(4)} | {f"wf3{n}" for n in range(4)} for w in first) == 3


def test_new_incidents_first_then_status_then_updates_then_replies_and_urgent_first() -> None:
    b = Budget(limits=Limits(post_burst=1, update_burst=1, storm_threshold=100))
    ask(b, 1, Kind.REPLY, 0)
    ask(b, 2, Kind.POST, 0, urgency="low")
    ask(b, 3, Kind.POST, 0, urgency="high", priority="P3")
    ask(b, 4, Kind.POST, 0, urgency="high", priority="P1")
    ask(b, 5, Kind.UPDATE, 0)
    ask(b, 6, Kind.STATUS, 0)
    order = [w for t in range(0, 10) for w in granted(b, t * 2.0)]
    assert order[:2] == ["wf4", "wf6"]  # the channel's first token, the workspace's first token
    assert order.index("wf3") < order.index("wf2") < order.index("wf1")
    assert order.index("wf6") < order.index("wf5")


def test_an_incident_waits_once_per_kind() -> None:
    b = Budget(limits=Limits(post_burst=1, storm_threshold=100))
    ask(b, 9, Kind.POST, 0)
    ask(b, 1, Kind.REPLY, 0)
    ask(b, 1, Kind.REPLY, 0.1)
    ask(b, 1, Kind.REPLY, 0.2)
    assert len(b.waiting) == 2


def test_a_429_makes_the_whole_channel_wait_retry_after() -> None:
    b = Budget(limits=Limits(storm_threshold=100))
    budget.throttled(b, SlackThrottled(kind=Kind.POST, channel="C1", retry_after=5), at(0))
    ask(b, 1, Kind.POST, 0, channel="C1")
    ask(b, 2, Kind.REPLY, 0, channel="C1")
    ask(b, 3, Kind.POST, 0, channel="C2")
    assert granted(b, 0) == ["wf3"]
    assert granted(b, 4.9) == []
    assert budget.next_wake(b, at(4.9)) == at(5)
    assert granted(b, 5) == ["wf1"]


def test_a_storm_gets_one_notice_updated_as_it_drains_and_finished() -> None:
    b = Budget(limits=Limits(storm_threshold=5, notice_every_seconds=3))
    for n in range(12):
        ask(b, n, Kind.POST, 0)
    steps = budget.notices(b, at(0.5))
    assert [s.ts for s in steps] == [None]
    assert "Alert storm:" in steps[0].text and "12 new incidents on payments-api" in steps[0].text
    assert "<https://acme.pagerduty.com/incidents|" in steps[0].text
    budget.notice_posted(b, "C1", "111.1")
    assert budget.notices(b, at(0.6)) == []  # one notice, not one per incident
    seconds, texts = 0.6, []
    while b.waiting or "C1" in b.storms:
        seconds += 0.5
        granted(b, seconds)
        texts += [s.text for s in budget.notices(b, at(seconds)) if s.ts == "111.1"]
        assert seconds < 60
    assert len(texts) >= 2 and "posted, the rest follow" in texts[0]
    assert texts[-1].startswith(":white_check_mark: Alert storm over: all 12 new incidents")


def test_a_burst_the_budget_absorbs_is_no_storm() -> None:
    b = Budget(limits=Limits(post_burst=3, storm_threshold=5))
    for n in range(3):
        ask(b, n, Kind.POST, 0)
    granted(b, 0)
    assert budget.notices(b, at(0.1)) == []
    assert b.storms == {}


def test_service_names_in_the_notice_are_escaped() -> None:
    b = Budget(limits=Limits(storm_threshold=1))
    for n in range(3):
        budget.ask(b, SlackAsk(workflow_id=f"w{n}", incident_id=f"P{n}", kind=Kind.POST, channel="C1",
                               service="<!channel> api"), at(0) + timedelta(milliseconds=n))
    [step] = budget.notices(b, at(1))
    assert "<!channel>" not in step.text and "&lt;!channel&gt; api" in step.text


def test_calls_granted_but_not_yet_done_hold_back_the_next_ones() -> None:
    # A busy worker runs granted calls late; had the budget granted by the clock alone, they would reach
    # Slack in a bunch. It grants no more than a burst of calls that have not reported done.
    b = Budget(limits=Limits(storm_threshold=100))
    for n in range(5):
        ask(b, n, Kind.POST, 0)
    assert len(granted(b, 0, finish=False)) == 2
    assert granted(b, 5, finish=False) == []  # tokens are back, the two calls are not
    budget.done(b, SlackDone(kind=Kind.POST, channel="C1"), at(5))
    assert len(granted(b, 5, finish=False)) == 1
    assert len(granted(b, 40, finish=False)) == 2  # calls that never report done are forgotten after 30 s


def test_a_storm_of_10000_waiting_continues_as_new_far_under_the_payload_limit() -> None:
    from temporalio.contrib.pydantic import pydantic_data_converter

    from workflows.pacing import BudgetInput

    b = Budget(limits=Limits(storm_threshold=10))
    for n in range(10_000):
        budget.ask(b, SlackAsk(workflow_id=f"pd-incident-P{n:07d}", incident_id=f"P{n:07d}",
                               kind=Kind.POST if n % 2 else Kind.REPLY, channel=f"C{n % 40:04d}",
                               urgency="high" if n % 3 == 0 else "low", priority=f"P{n % 5 + 1}",
                               service=f"service-{n % 40}",
                               html_url=f"https://acme.pagerduty.com/incidents/P{n:07d}"), at(0))
    whole = pydantic_data_converter.payload_converter.to_payloads([BudgetInput(budget=b)])[0].ByteSize()
    carried = budget.carried(b, at(0))
    size = pydantic_data_converter.payload_converter.to_payloads([BudgetInput(budget=carried)])[0].ByteSize()
    assert whole > 2 * 1024 * 1024  # carried whole, as before, the new run could not even start
    assert size < 1024 * 1024, f"{size} bytes carried"
    assert carried.dropped == 10_000 - budget.MAX_CARRIED
    # What is carried is what goes first: new incidents' messages, high urgency first.
    assert all(w.ask.kind is Kind.POST for w in carried.waiting)
    assert sum(w.ask.urgency == "high" for w in carried.waiting) == len([n for n in range(1, 10_000, 2) if n % 3 == 0])


def test_the_budget_tells_an_incident_where_it_stands() -> None:
    b = Budget(limits=Limits(posts_per_second=1.0, post_burst=1, storm_threshold=100))
    for n in range(5):
        ask(b, n, Kind.POST, 0)
    assert granted(b, 0) == ["wf0"]
    view = budget.queue_view(b, "wf3", at(0))
    assert view.queued and view.waiting == 4
    assert 3.0 <= view.eta_seconds <= 4.0  # three ahead of it, one a second
    assert view.last_grant_at == at(0)
    assert not budget.queue_view(b, "wf0", at(0)).queued


def test_an_update_waiting_for_its_turn_that_becomes_a_status_change_moves_up() -> None:
    """A mass resolve: 60 status changes wait for the updates bucket. An incident's escalation update asked
    before them; it is then acknowledged, so what it waits to show is a status change: it goes before
    the status changes that asked after it, not behind all of them."""
    def order(raise_status: bool) -> int:
        b = Budget(limits=Limits(updates_per_minute=60.0, update_burst=1, storm_threshold=100))
        budget.ask(b, SlackAsk(workflow_id="acked", incident_id="P0", kind=Kind.UPDATE, channel="C1"), at(0),
                   raise_status=raise_status)
        for n in range(1, 61):
            budget.ask(b, SlackAsk(workflow_id=f"resolved{n}", incident_id=f"P{n}", kind=Kind.STATUS, channel="C1"),
                       at(0), raise_status=raise_status)
        budget.ask(b, SlackAsk(workflow_id="acked", incident_id="P0", kind=Kind.STATUS, channel="C1"), at(1),
                   raise_status=raise_status)
        granted: list[str] = []
        for second in range(2, 200):
            for grant in budget.grant(b, at(second)):
                budget.done(b, SlackDone(kind=grant.kind, channel=grant.channel), at(second))
                granted.append(grant.workflow_id)
        assert granted.count("acked") == 1 or not raise_status
        return granted.index("acked")

    assert order(raise_status=True) == 0
    assert order(raise_status=False) >= 60  # as before: the status change waited behind every later one
