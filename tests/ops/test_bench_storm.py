"""The storm bench's table: the figures a reader compares across runs."""

from __future__ import annotations

from collections import Counter

from ops.bench_storm import StormResult, is_final, storm_rows


def test_table_compares_convergence_with_the_one_post_a_second_floor() -> None:
    result = StormResult(incidents=200, timeout=600.0, deliveries=880, duplicates=80, converged_after=250.0)
    result.roots_per_channel = {"C0PAYMENTS": 100, "C0PLATFORM": 100}
    result.calls = Counter({"chat.postMessage": 1000, "chat.update": 600})
    result.ratelimited = Counter({"chat.postMessage": 300, "chat.update": 100})
    result.storm_notice_after = {"C0PAYMENTS": 12.0, "C0PLATFORM": None}
    result.roots_per_incident = Counter({1: 198, 2: 2})
    rows = dict(storm_rows(result))
    assert rows["physical floor (busiest channel roots at 1/s)"] == "100 s"
    assert rows["ratio time / floor"] == "2.50"
    assert rows["Slack calls per incident"].startswith("8.0 ")
    assert rows["429s (share of calls)"].startswith("400 (25.0 %)")
    assert rows["storm notice in C0PAYMENTS"] == "12.0 s"
    assert rows["storm notice in C0PLATFORM"] == "none"
    assert rows["root messages per incident"] == "198 with 1, 2 with 2"


def test_a_run_that_never_converges_says_so() -> None:
    rows = dict(storm_rows(StormResult(incidents=10, timeout=600.0)))
    assert rows["time until every message final"] == "not within 600 s"
    assert rows["ratio time / floor"] == "n/a"


def test_an_incident_is_final_only_when_every_root_message_shows_resolved() -> None:
    assert is_final(["[RESOLVED] #3 storm incident 00003 (payments-api)"])
    assert not is_final([])
    assert not is_final(["[RESOLVED] #3 storm incident 00003 (payments-api)", "[TRIGGERED] #3 storm incident 00003"])
