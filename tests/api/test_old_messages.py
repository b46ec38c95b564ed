"""Clicks on messages an older release posted still reach their incident after a deploy.

`tests/fixtures/messages/<release>.json` holds the messages and modals that release really showed
(recorded with its histories by tests/replay/record_release.py, never re-recorded): every control on them,
clicked as Slack sends it, must parse with today's API into an action on the right incident.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from api.slack_payloads import OpenNoteModal, parse_interaction
from workflows.models import SlackAction

RELEASES = sorted((Path(__file__).resolve().parents[1] / "fixtures" / "messages").glob("*.json"))


def _controls(blocks: list[dict[str, Any]]) -> Iterator[tuple[dict[str, Any], dict[str, Any]]]:
    for block in blocks:
        for element in [*block.get("elements", []), *([block["accessory"]] if "accessory" in block else [])]:
            if isinstance(element, dict) and str(element.get("action_id", "")).startswith("pd_"):
                yield block, element


def _click(message: dict[str, Any], block: dict[str, Any], element: dict[str, Any]) -> dict[str, Any]:
    """The block_actions payload Slack sends for a click (or a pick) on `element`."""
    action: dict[str, Any] = {"action_id": element["action_id"], "block_id": block.get("block_id", "x1"),
                              "type": element["type"], "action_ts": "1733500000.000100"}
    if element["type"] == "button":
        action.update({k: element[k] for k in ("value", "text") if k in element})
    elif element["type"] == "users_select":
        action["selected_user"] = "U0BOB"
    else:
        options = element.get("options") or [o for g in element.get("option_groups", []) for o in g["options"]]
        action["selected_option"] = options[0]
    return {"type": "block_actions", "user": {"id": "U0ALICE"}, "trigger_id": "1.2.abc",
            "channel": {"id": message["channel"]},
            "container": {"type": "message", "message_ts": message["ts"], "channel_id": message["channel"]},
            "actions": [action]}


def _incident_of(message: dict[str, Any]) -> str:
    found = re.search(r"incident (P[A-Z0-9]+)", json.dumps(message["blocks"]))
    assert found, "the message names its incident"
    return found.group(1)


@pytest.mark.parametrize("path", RELEASES, ids=lambda p: p.stem)
def test_every_control_an_old_release_showed_still_acts_on_its_incident(path: Path) -> None:
    recorded = json.loads(path.read_text())
    clicked: set[str] = set()
    for message in recorded["messages"]:
        for block, element in _controls(message["blocks"]):
            parsed = parse_interaction(_click(message, block, element))
            assert isinstance(parsed, SlackAction | OpenNoteModal), f"{element['action_id']}: {parsed}"
            assert parsed.incident_id == _incident_of(message), element["action_id"]
            clicked.add(element["action_id"])
    assert {"pd_acknowledge", "pd_resolve", "pd_escalate", "pd_reassign", "pd_add_note", "pd_snooze"} <= clicked


@pytest.mark.parametrize("path", RELEASES, ids=lambda p: p.stem)
def test_a_note_modal_an_old_release_opened_is_still_submitted_to_its_incident(path: Path) -> None:
    for view in json.loads(path.read_text())["views"]:
        block = next(b for b in view["blocks"] if b["type"] == "input")
        payload = {"type": "view_submission", "user": {"id": "U0ALICE"},
                   "view": {**view, "id": "V1", "state": {"values": {block["block_id"]: {
                       block["element"]["action_id"]: {"type": "plain_text_input", "value": "rolled back"}}}}}}
        parsed = parse_interaction(payload)
        assert isinstance(parsed, SlackAction)
        assert parsed.note == "rolled back"
        assert parsed.incident_id == json.loads(view["private_metadata"])["incident_id"]
