"""Edge parsing of real PagerDuty v3 webhook captures and Slack interaction payloads."""

from __future__ import annotations

import json
import re
from pathlib import Path
from urllib.parse import urlencode

import pytest

from api.pd_events import IgnoredWebhook, MalformedWebhook, parse_webhook
from api.slack_payloads import (
    Ignored,
    MalformedInteraction,
    OpenNoteModal,
    decode_form,
    parse_interaction,
)
from tests.conftest import SHARED
from workflows.models import ActionKind, PdEvent, SlackAction, Status

CAPTURES = SHARED / "third_party" / "pagerduty-webhooks-v3"
INCIDENT_FILES = sorted(p for p in CAPTURES.glob("*.json") if not p.name.startswith("service_"))


@pytest.mark.parametrize("path", INCIDENT_FILES, ids=lambda p: p.name)
def test_every_captured_incident_webhook_parses(path: Path) -> None:
    raw = json.loads(path.read_bytes())["event"]
    event = parse_webhook(path.read_bytes())
    assert isinstance(event, PdEvent)
    assert event.event_id == raw["id"] and event.event_type == raw["event_type"]
    data = raw["data"]
    expected_incident = data["id"] if data.get("type") == "incident" else data["incident"]["id"]
    assert event.incident_id == expected_incident
    if data.get("type") == "incident":
        assert event.incident is not None and event.incident.status is Status(data["status"])
        assert [a.id for a in event.incident.assignees] == [a["id"] for a in data.get("assignees", [])]


def test_annotated_capture_carries_the_note() -> None:
    event = parse_webhook((CAPTURES / "annotated_v3.json").read_bytes())
    assert isinstance(event, PdEvent) and event.note_id == "PEMJB6G"
    assert event.note_content == "Running KILL on long-running queries from the reporting-service."


def test_service_events_are_not_incident_events() -> None:
    for path in CAPTURES.glob("service_*.json"):
        event = json.loads(path.read_bytes())["event"]
        if event["event_type"].startswith("service."):
            ignored = parse_webhook(path.read_bytes())
            assert isinstance(ignored, IgnoredWebhook) and ignored.reason == "not_an_incident"


@pytest.mark.parametrize("body", [b"", b"{", b"[]", b'{"event": {"id": "x"}}', b'{"event": []}',
                                  b'{"event": {"event_type": 7}}', b"[" * 100_000, b'{"a":' * 100_000])
def test_bodies_that_are_not_v3_envelopes_are_rejected_with_a_reason(body: bytes) -> None:
    with pytest.raises(MalformedWebhook, match=r"v3 webhook|nested too deeply|not JSON"):
        parse_webhook(body)


def _event(occurred_at: object = "2026-12-01T12:00:00Z", **data: object) -> bytes:
    return json.dumps({"event": {"id": "01ABC", "event_type": "incident.acknowledged", "resource_type": "incident",
                                 "occurred_at": occurred_at, "agent": None, "data": data}}).encode()


@pytest.mark.parametrize("occurred_at", ["2026-12-01T12:00:00", "2026-12-01", "yesterday", 1764590400, None,
                                         ["2026-12-01T12:00:00Z"], "9999-12-31T23:59:59-05:00",
                                         "0001-01-01T00:00:00+05:00", "1970-01-01T00:00:00Z"])
def test_occurred_at_must_be_an_instant_with_a_timezone(occurred_at: object) -> None:
    with pytest.raises(MalformedWebhook, match=r"event\.occurred_at"):
        parse_webhook(_event(occurred_at, id="PINC001", type="incident", status="acknowledged"))


def test_occurred_at_with_an_offset_is_kept_as_that_instant() -> None:
    event = parse_webhook(_event("2026-12-01T14:00:00+02:00", id="PINC001", type="incident", status="acknowledged"))
    assert isinstance(event, PdEvent) and event.occurred_at.isoformat() == "2026-12-01T12:00:00+00:00"


@pytest.mark.parametrize("incident_id", ["X" * 1001, "P 1", "P1/../x", "", 12.5, True])
def test_incident_ids_that_are_not_pagerduty_ids_are_refused(incident_id: object) -> None:
    with pytest.raises(MalformedWebhook, match="is not a PagerDuty id"):
        parse_webhook(_event(incident={"id": incident_id}, type="incident_note", id="N1", content="x"))


def test_role_assignment_names_its_incident_only_inside_the_assignments() -> None:
    body = _event(type="incident_role_assignment", incident_role_assignments=[
        {"incident": {"id": "PINC001", "type": "incident_reference"}, "role": {"id": "PROLE1", "name": "Scribe"},
         "user": {"id": "PUALICE", "type": "user_reference"}}])
    event = parse_webhook(body.replace(b"incident.acknowledged", b"incident.role.assigned"))
    assert isinstance(event, PdEvent) and event.incident_id == "PINC001"


def test_incident_event_without_an_incident_is_ignored_not_refused() -> None:
    ignored = parse_webhook(_event(type="incident_task", task={"id": "T1"}))
    assert isinstance(ignored, IgnoredWebhook) and ignored.reason == "no_incident"


def _form(payload: object) -> bytes:
    return urlencode({"payload": json.dumps(payload)}).encode()


def _click(action: dict[str, object]) -> dict[str, object]:
    return {"type": "block_actions", "user": {"id": "U0ALICE"}, "trigger_id": "1.2.abc",
            "channel": {"id": "C0PAYMENTS"}, "container": {"type": "message", "channel_id": "C0PAYMENTS"},
            "actions": [action]}


def test_button_click_becomes_an_action_for_the_incident_in_its_value() -> None:
    payload = _click({"action_id": "pd_acknowledge", "value": "PINC001", "block_id": "b", "action_ts": "17.1"})
    parsed = parse_interaction(decode_form(_form(payload)))
    assert isinstance(parsed, SlackAction)
    assert (parsed.action, parsed.incident_id, parsed.slack_user, parsed.channel) == (
        ActionKind.ACKNOWLEDGE, "PINC001", "U0ALICE", "C0PAYMENTS")


def test_reassign_select_takes_the_incident_from_the_block_id() -> None:
    payload = _click({"action_id": "pd_reassign", "block_id": "pd_controls:PINC001:triggered",
                      "selected_user": "U0BOB", "action_ts": "17.2"})
    parsed = parse_interaction(payload)
    assert isinstance(parsed, SlackAction) and parsed.target_slack_user == "U0BOB"
    assert parsed.incident_id == "PINC001"


def test_snooze_and_priority_selects_carry_the_chosen_option() -> None:
    option = {"text": {"type": "plain_text", "text": "P1"}, "value": "PPRIO01"}
    payload = _click({"action_id": "pd_priority", "block_id": "pd_controls:PINC001:triggered:more",
                      "type": "static_select", "selected_option": option, "action_ts": "17.3"})
    parsed = parse_interaction(payload)
    assert isinstance(parsed, SlackAction) and parsed.action is ActionKind.PRIORITY
    assert (parsed.incident_id, parsed.choice, parsed.choice_label) == ("PINC001", "PPRIO01", "P1")
    snooze = _click({"action_id": "pd_snooze", "block_id": "pd_controls:PINC001:acknowledged:more",
                     "selected_option": {"text": {"type": "plain_text", "text": "Snooze 4 h"}, "value": "14400"}})
    parsed = parse_interaction(snooze)
    assert isinstance(parsed, SlackAction) and (parsed.action, parsed.choice) == (ActionKind.SNOOZE, "14400")
    responder = _click({"action_id": "pd_add_responder", "block_id": "pd_controls:PINC001:triggered:more",
                        "selected_user": "U0BOB"})
    parsed = parse_interaction(responder)
    assert isinstance(parsed, SlackAction) and parsed.action is ActionKind.ADD_RESPONDER
    assert parsed.target_slack_user == "U0BOB"


def test_slack_triggered_incident_key_is_read_from_the_trigger() -> None:
    document = json.loads((CAPTURES / "triggered_v3.json").read_bytes())
    document["event"]["data"]["incident_key"] = "slack-0a1b2c"
    event = parse_webhook(json.dumps(document).encode())
    assert isinstance(event, PdEvent) and event.incident_key == "slack-0a1b2c"
    assert event.agent is not None and event.agent.id == "PJ0LVEB"


def test_add_note_opens_the_modal_and_submission_becomes_the_note() -> None:
    opened = parse_interaction(_click({"action_id": "pd_add_note", "value": "PINC001", "action_ts": "1"}))
    assert isinstance(opened, OpenNoteModal) and opened.trigger_id == "1.2.abc"
    submission = {"type": "view_submission", "user": {"id": "U0ALICE"}, "view": {
        "id": "V1", "callback_id": "pd_add_note_modal",
        "private_metadata": json.dumps({"incident_id": "PINC001", "channel": "C0PAYMENTS"}),
        "state": {"values": {"pd_note": {"pd_note_text": {"type": "plain_text_input", "value": "rolled back"}}}}}}
    note = parse_interaction(submission)
    assert isinstance(note, SlackAction) and note.note == "rolled back" and note.key == "note:V1"


def _submission(view: object) -> dict[str, object]:
    return {"type": "view_submission", "user": {"id": "U0ALICE"}, "view": view}


def _note_view(metadata: object) -> dict[str, object]:
    return {"id": "V1", "callback_id": "pd_add_note_modal", "private_metadata": metadata}


@pytest.mark.parametrize(("payload", "reason"), [
    ({**_click({"action_id": "pd_resolve", "value": "PINC001"}), "actions": "pd_resolve"}, "'actions': a list"),
    ({**_click({"action_id": "pd_resolve", "value": "PINC001"}), "actions": {"0": {}}}, "'actions': a list"),
    ({**_click({"action_id": "pd_resolve", "value": "PINC001"}), "user": None}, "no user.id"),
    ({**_click({"action_id": "pd_resolve", "value": "PINC001"}), "user": "U0ALICE"}, "user must be an object"),
    ({**_click({"action_id": "pd_resolve", "value": "PINC001"}), "user": {"id": ["U0"]}}, "user.id must be"),
    ({**_click({"action_id": "pd_resolve", "value": "PINC001"}), "channel": "C0"}, "channel must be an object"),
    (_click({"action_id": "pd_resolve", "value": {"id": "PINC001"}}), "actions[0].value must be a string"),
    (_click({"action_id": "pd_resolve", "value": "X" * 100}), "not a PagerDuty incident id"),
    (_click({"action_id": "pd_reassign", "value": "PINC001", "selected_user": 7}), "selected_user must be"),
    ({"type": "view_submission", "user": {"id": "U0ALICE"}}, "no 'view' object"),
    (_submission("V1"), "view must be an object"),
    (_submission(_note_view("not json")), "private_metadata is not the JSON object"),
    (_submission(_note_view('["PINC001"]')), "private_metadata is not the JSON object"),
    (_submission(_note_view({"incident_id": "PINC001"})), "private_metadata is not the JSON object"),
    (_submission(_note_view('{"incident_id": {"id": "PINC001"}}')), "private_metadata.incident_id must be"),
    (_submission(_note_view('{"incident_id": "PINC001", "channel": ["C0"]}')), "private_metadata.channel"),
])
def test_odd_interaction_shapes_are_refused_with_the_field_named(payload: dict[str, object], reason: str) -> None:
    with pytest.raises(MalformedInteraction, match=re.escape(reason)):
        parse_interaction(payload)


def test_deeply_nested_interaction_payload_is_refused() -> None:
    with pytest.raises(MalformedInteraction, match="nested too deeply"):
        decode_form(b"payload=" + b"%5B" * 100_000)


def test_foreign_actions_are_ignored_and_garbage_is_malformed() -> None:
    assert isinstance(parse_interaction(_click({"action_id": "something_else"})), Ignored)
    with pytest.raises(MalformedInteraction):
        decode_form(b"payload=not-json")
    with pytest.raises(MalformedInteraction):
        parse_interaction(_click({"action_id": "pd_resolve"}))
