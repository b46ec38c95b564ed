"""Every kept history, of every release, replays against today's workflow code (the determinism guard).

A failure here means this change would stop the running workflows that history stands for when the
release that recorded it is replaced in place: make the change compatible (workflow.patched), never
re-record the history.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from temporalio.client import WorkflowHistory
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.worker import Replayer

from tests.replay.library import ROOT, WORKFLOWS, histories, history_id

HISTORIES = histories()


@pytest.mark.parametrize("path", HISTORIES, ids=history_id)
async def test_kept_history_replays_on_todays_code(path: Path) -> None:
    replayer = Replayer(workflows=WORKFLOWS, data_converter=pydantic_data_converter)
    result = await replayer.replay_workflow(WorkflowHistory.from_json(history_id(path), path.read_text()),
                                            raise_on_replay_failure=False)
    assert result.replay_failure is None, f"{history_id(path)} no longer replays: {result.replay_failure}"


def test_the_production_release_has_its_library() -> None:
    """The release CHANGELOG.md names as in production has its histories, for every phase of an incident."""
    changelog = (ROOT.parents[2] / "CHANGELOG.md").read_text()
    release = next(line.split("`")[1] for line in changelog.splitlines()
                   if line.startswith("## ") and "production" in line.lower())
    kept = {p.stem for p in (ROOT / release).glob("*.json")}
    assert {"open", "ack_write_in_flight", "note_echo_pending", "resolved_lingering", "dedicated_channel",
            "storm_waiting", "budget_queue", "sweep", "continued_as_new"} <= kept
