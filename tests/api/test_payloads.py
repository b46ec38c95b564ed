"""Edge parsing of real PagerDuty v3 webhook captures and Slack interaction payloads."""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import urlencode

import pytest

from api.pd_events import MalformedWebhook, parse_webhook
from api.slack_payloads import (
    Ignored,
    MalformedInteraction,
    OpenNoteModal,
    decode_form,
    parse_interaction,
)
from tests.conftest import SHARED
from workflows.models import ActionKind, SlackAction, Status

CAPTURES = SHARED / "third_party" / "pagerduty-webhooks-v3"
INCIDENT_FILES = sorted(p for p in CAPTURES.glob("*.json") if not p.name.startswith("service_"))


@pytest.mark.parametrize("path", INCIDENT_FILES, ids=lambda p: p.name)
def test_every_captured_incident_webhook_parses(path: Path) -> None:
    raw = json.loads(path.read_bytes())["event"]
    event = parse_webhook(path.read_bytes())
    assert event is not None
    assert event.event_id == raw["id"] and event.event_type == raw["event_type"]
    data = raw["data"]
    expected_incident = data["id"] if data.get("type") == "incident" else data["incident"]["id"]
    assert event.incident_id == expected_incident
    if data.get("type") == "incident":
        assert event.incident is not None and event.incident.status is Status(data["status"])
        assert [a.id for a in event.incident.assignees] == [a["id"] for a in data.get("assignees", [])]


def test_annotated_capture_carries_the_note() -> None:
    event = parse_webhook((CAPTURES / "annotated_v3.json").read_bytes())
    assert event is not None and event.note_id == "PEMJB6G"
    assert event.note_content == "Running KILL on long-running queries from the reporting-service."


def test_service_events_are_not_incident_events() -> None:
    for path in CAPTURES.glob("service_*.json"):
        event = json.loads(path.read_bytes())["event"]
        if event["event_type"].startswith("service."):
            assert parse_webhook(path.read_bytes()) is None


@pytest.mark.parametrize("body", [b"", b"{", b"[]", b'{"event": {"id": "x"}}',
                                  b'{"event": {"id": "x", "event_type": "incident.acknowledged", '
                                  b'"occurred_at": "2026-01-01T00:00:00Z", "data": {}}}'])
def test_malformed_webhooks_are_rejected_with_a_reason(body: bytes) -> None:
    with pytest.raises(MalformedWebhook):
        parse_webhook(body)


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


def test_add_note_opens_the_modal_and_submission_becomes_the_note() -> None:
    opened = parse_interaction(_click({"action_id": "pd_add_note", "value": "PINC001", "action_ts": "1"}))
    assert isinstance(opened, OpenNoteModal) and opened.trigger_id == "1.2.abc"
    submission = {"type": "view_submission", "user": {"id": "U0ALICE"}, "view": {
        "id": "V1", "callback_id": "pd_add_note_modal",
        "private_metadata": json.dumps({"incident_id": "PINC001", "channel": "C0PAYMENTS"}),
        "state": {"values": {"pd_note": {"pd_note_text": {"type": "plain_text_input", "value": "rolled back"}}}}}}
    note = parse_interaction(submission)
    assert isinstance(note, SlackAction) and note.note == "rolled back" and note.key == "note:V1"


def test_foreign_actions_are_ignored_and_garbage_is_malformed() -> None:
    assert isinstance(parse_interaction(_click({"action_id": "something_else"})), Ignored)
    with pytest.raises(MalformedInteraction):
        decode_form(b"payload=not-json")
    with pytest.raises(MalformedInteraction):
        parse_interaction(_click({"action_id": "pd_resolve"}))
