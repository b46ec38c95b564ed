"""Escalate goes exactly one level up from the level the incident is at, as its PagerDuty log shows."""

from __future__ import annotations

import pytest

from activities.errors import EscalationExhausted
from activities.pagerduty import ReadRequest, WriteRequest
from tests.activities.conftest import Live
from workflows.models import ActionKind, WriteToPagerDuty


def three_levels(live: Live, levels: list[list[str]]) -> str:
    live.pd.add_escalation_policy("PEP3LVL", "Three Levels", levels, ["PTPAY01"])
    live.pd.add_service("PSVC003", "checkout", "PEP3LVL", ["PTPAY01"])
    return live.pd.trigger("PSVC003", "checkout down")


async def target(live: Live, incident: str) -> tuple[int, list[str]]:
    planned = await live.activities.escalation_target(ReadRequest(incident_id=incident))
    return planned.level, planned.user_ids


async def test_assignee_on_call_at_two_levels_escalates_from_the_actual_level(live: Live) -> None:
    incident = three_levels(live, [["PUALICE"], ["PUBOB01"], ["PUALICE"]])  # Alice is on call at 1 and 3
    assert await target(live, incident) == (2, ["PUBOB01"])


async def test_reassigned_to_someone_not_on_call_still_goes_one_level_up(live: Live) -> None:
    incident = three_levels(live, [["PUALICE"], ["PUBOB01"], ["PUCAROL"]])
    live.pd.escalate(incident, "PUALICE", 2)
    live.pd.reassign(incident, "PUBOB01", ["PUDAVE1"])  # Dave is on call nowhere
    assert await target(live, incident) == (3, ["PUCAROL"])


async def test_reassigned_to_a_lower_level_person_never_goes_down(live: Live) -> None:
    incident = three_levels(live, [["PUALICE"], ["PUBOB01"], ["PUCAROL"]])
    live.pd.escalate(incident, "PUALICE", 2)
    live.pd.reassign(incident, "PUBOB01", ["PUALICE"])  # on call at level 1, but the incident is at 2
    assert await target(live, incident) == (3, ["PUCAROL"])


async def test_escalations_through_the_bridge_climb_one_level_each(live: Live) -> None:
    incident = three_levels(live, [["PUALICE"], ["PUBOB01"], ["PUALICE"]])
    for expected in (2, 3):
        level, _ = await target(live, incident)
        assert level == expected
        write = WriteToPagerDuty(command_id=f"c{level}", action=ActionKind.ESCALATE, actor_email="bob@example.com",
                                 actor_pd_id="PUBOB01", escalation_level=level)
        outcome = await live.activities.write(WriteRequest(incident_id=incident, write=write))
        assert outcome.result == "applied"
        assert live.pd.incidents[incident].escalation_level == expected
    with pytest.raises(EscalationExhausted, match=r"last level \(3 of 3\)"):
        await target(live, incident)


async def test_the_last_level_is_refused_even_when_its_people_are_on_call_lower(live: Live) -> None:
    incident = three_levels(live, [["PUALICE"], ["PUBOB01"], ["PUALICE"]])
    live.pd.escalate(incident, "PUBOB01", 3)
    with pytest.raises(EscalationExhausted, match=r"last level \(3 of 3\)"):
        await target(live, incident)


async def test_a_reopened_incident_starts_again_at_level_one(live: Live) -> None:
    incident = three_levels(live, [["PUALICE"], ["PUBOB01"], ["PUCAROL"]])
    live.pd.escalate(incident, "PUALICE", 3)
    live.pd.resolve(incident, "PUCAROL")
    live.pd.reopen(incident, "PUCAROL")
    assert await target(live, incident) == (2, ["PUBOB01"])


async def test_the_simulated_log_lists_assignments_and_escalations_newest_first(live: Live) -> None:
    incident = three_levels(live, [["PUALICE"], ["PUBOB01"], ["PUCAROL"]])
    live.pd.escalate(incident, "PUALICE", 2)
    live.pd.reassign(incident, "PUBOB01", ["PUDAVE1"])
    entries = await live.api.list_log_entries(incident)
    summary = [(e["type"], [a["id"] for a in e.get("assignees", [])], (e["agent"] or {}).get("type"))
               for e in entries]
    assert summary == [
        ("assign_log_entry", ["PUDAVE1"], "user_reference"),
        ("escalate_log_entry", ["PUBOB01"], "user_reference"),
        ("assign_log_entry", ["PUALICE"], "service_reference"),
        ("trigger_log_entry", [], "service_reference"),
    ]
