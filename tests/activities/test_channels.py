"""Channel names under Slack's rules, the resolve summary, and the spacing of channel calls."""

from __future__ import annotations

import asyncio
import re
from typing import Any

import pytest

from activities.channel_summary import summary_text
from activities.channels import Spacing, channel_name, names_incident
from activities.errors import SlackRateLimited
from workflows.channel_models import CreateChannel

SLACK_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]*$")


def name(title: str, template: str = "inc-{number}-{slug}", number: int | None = 42, service: str = "") -> str:
    return channel_name(CreateChannel(incident_id="Q1AB2CD", number=number, title=title, service=service,
                                      name_template=template))


@pytest.mark.parametrize("title, expected", [
    ("Checkout latency over SLO", "inc-42-checkout-latency-over-slo"),
    ("DB down: 50% errors!!", "inc-42-db-down-50-errors"),
    ("Zürich café — élan", "inc-42-zurich-cafe-elan"),
    ("<!channel> @here", "inc-42-channel-here"),
    ("一二三", "inc-42"),
    ("", "inc-42"),
])
def test_names_follow_slacks_rules(title: str, expected: str) -> None:
    assert name(title) == expected and SLACK_NAME.match(expected)


def test_long_titles_leave_room_for_a_suffix_and_other_templates_work() -> None:
    long = name("word " * 100, template="{service}-incident-{number}-{slug}-extra-words-to-make-it-long-enough-x",
                service="Payments API")
    assert len(long) <= 77 and SLACK_NAME.match(long) and long.startswith("payments-api-incident-42-")
    assert name("x", number=None) == "inc-q1ab2cd-x"
    assert name("Disk FULL", template="{id}_{slug}") == "q1ab2cd_disk-full"


def test_the_summary_shows_pagerduty_text_literally_and_credits_people() -> None:
    incident = {"id": "Q1", "incident_number": 7, "title": "<!channel> payments <@U0ALICE> down",
                "status": "resolved", "created_at": "2026-11-26T12:00:00Z", "resolved_at": "2026-11-26T13:15:30Z",
                "html_url": "https://x.pagerduty.com/incidents/Q1"}
    user = {"type": "user_reference", "id": "PALICE1", "summary": "Alice <b>"}
    entries: list[dict[str, Any]] = [  # newest first, as PagerDuty lists them
        {"type": "resolve_log_entry", "created_at": "2026-11-26T13:15:30Z", "summary": "Resolved by Alice",
         "agent": user},
        {"type": "annotate_log_entry", "created_at": "2026-11-26T12:10:00Z", "summary": "Note: <!here>", "agent": user},
        {"type": "notify_log_entry", "created_at": "2026-11-26T12:00:05Z", "summary": "Notified Alice"},
        {"type": "acknowledge_log_entry", "created_at": "2026-11-26T12:02:00Z", "summary": "Acknowledged",
         "agent": user},
        {"type": "trigger_log_entry", "created_at": "2026-11-26T12:00:00Z", "summary": "Triggered via API",
         "agent": {"type": "service_reference", "id": "PSVC", "summary": "payments"}},
    ]
    text = summary_text(incident, entries)
    assert "<!channel>" not in text and "<!here>" not in text and "<@U0ALICE>" not in text
    assert "&lt;!channel&gt;" in text and "1 h 15 min" in text
    assert "Alice &lt;b&gt;: acknowledged, note, resolved" in text
    lines = text.splitlines()
    assert lines.index("• 12:00 Triggered via API") < lines.index("• 13:15 Resolved by Alice")
    assert "Notified" not in text  # notifications are noise in a summary


def test_a_storm_of_channel_calls_is_spaced_and_far_slots_come_back_later() -> None:
    spacing = Spacing(per_minute=600)  # a slot every 0.1 s

    async def scenario() -> float:
        await asyncio.gather(spacing.turn(), spacing.turn())  # the second waits for its slot
        with pytest.raises(SlackRateLimited) as far:  # two slots further on than it may wait here
            await asyncio.gather(spacing.turn(max_wait=1), spacing.turn(max_wait=0.15))
        delay = far.value.next_retry_delay
        return delay.total_seconds() if delay else 0.0

    assert 0.15 < asyncio.run(scenario()) <= 0.3


def test_a_long_title_cuts_the_slug_never_the_number_wherever_the_template_puts_it() -> None:
    title = "Supercalifragilisticexpialidocious-checkoutservicelatencyexceeded objectiveforpaymentsinallregions"
    first, second = name(title, template="{slug}-{number}", number=1233), name(title, template="{slug}-{number}",
                                                                             number=1234)
    assert first.endswith("-1233") and second.endswith("-1234") and len(second) <= 77 and SLACK_NAME.match(second)
    assert name(title, template="{slug}-{id}").endswith("-q1ab2cd")
    # The "already made" check matches the incident too: the other incident's channel is never taken for this one's.
    mine = CreateChannel(incident_id="Q1AB2CD", number=1234, title=title, name_template="{slug}-{number}")
    assert names_incident(second, mine) and not names_incident(first, mine)
