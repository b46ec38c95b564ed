"""The `/pd` command text parser: what people type, including the odd things they type."""

from __future__ import annotations

import pytest

from api.command_text import Act, Help, Invalid, Mine, Notify, OnCall, OpenIncidents, Trigger, parse


@pytest.mark.parametrize(("text", "expected"), [
    ("", Help()),
    ("   ", Help()),
    ("HELP", Help()),
    (" mine ", Mine()),
    ("open", OpenIncidents()),
    ("open payments-api", OpenIncidents("payments-api")),
    ('open "payments api"', OpenIncidents("payments api")),
    ("open \u201cpayments api\u201d", OpenIncidents("payments api")),
    ("oncall", OnCall()),
    ("oncall\u00a0'Platform Escalation'", OnCall("Platform Escalation")),
    ("trigger", Trigger()),
    ("trigger payments-api", Trigger("payments-api")),
    ("trigger   payments-api    Card   payments\tfailing ", Trigger("payments-api", "Card payments failing")),
    ('trigger "payments api" Card payments failing --low', Trigger("payments api", "Card payments failing", "low")),
    ("trigger --LOW payments-api x", Trigger("payments-api", "x", "low")),
    ("trigger payments-api Caf\u00e9 \u00fcber \U0001f525", Trigger("payments-api", "Caf\u00e9 \u00fcber \U0001f525")),
    ("trigger payments-api a &lt;!channel&gt; &amp;amp;", Trigger("payments-api", "a <!channel> &amp;")),
    ("ack 7", Act("acknowledge", 7)),
    ("acknowledge #12", Act("acknowledge", 12)),
    ("Resolve  3", Act("resolve", 3)),
    ("notify", Notify()),
    ("notify ON", Notify(on=True)),
    (" notify  off ", Notify(on=False)),
])
def test_parses(text: str, expected: object) -> None:
    assert parse(text) == expected


@pytest.mark.parametrize(("text", "says"), [
    ("page me", "`page` is not a /pd subcommand"),
    ("mine please", "takes nothing after it"),
    ('open "payments api', "no closing one"),
    ("open payments api", "in quotes"),
    ('trigger "payments api Card failing', "no closing one"),
    ("ack", "Write its number"),
    ("ack seven", "Write its number"),
    ("ack \u0667", "Write its number"),  # an Arabic-Indic seven is not an incident number
    ("resolve 0", "Write its number"),
    ("ack 1 2", "Write its number"),
    ('"mine"', "Start with a subcommand"),
    ("trigger svc " + "x" * 1025, "at most 1024"),
    ("notify yes", "`/pd notify on`"),
])
def test_refuses_with_a_reason(text: str, says: str) -> None:
    result = parse(text)
    assert isinstance(result, Invalid) and says in result.message
