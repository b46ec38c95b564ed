"""The kept history library: every history each release recorded, and the types its payloads must decode to.

Histories live under tests/fixtures/histories/<release>/ (and the older loose files beside them). They are
never re-recorded: a history that stops replaying or decoding means a change would stop the incidents that
release started.
"""

from __future__ import annotations

import inspect
import typing
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from activities.channels import ChannelActivities
from activities.identity import IdentityActivities
from activities.pacing import BudgetActivities, TurnActivities
from activities.pagerduty import PagerDutyActivities
from activities.recall import RecallActivities
from activities.slack import SlackActivities
from activities.sweep import SweepActivities
from workflows.incident import IncidentWorkflow
from workflows.pacing import SlackBudgetWorkflow
from workflows.sweep import SweepWorkflow, WebhookWarningWorkflow

ROOT = Path(__file__).resolve().parents[1] / "fixtures" / "histories"
WORKFLOWS: list[type] = [IncidentWorkflow, SlackBudgetWorkflow, SweepWorkflow, WebhookWarningWorkflow]
ACTIVITY_CLASSES: list[type] = [PagerDutyActivities, IdentityActivities, SlackActivities, BudgetActivities,
                                SweepActivities, ChannelActivities, TurnActivities, RecallActivities]


def histories() -> list[Path]:
    return sorted(ROOT.rglob("*.json"))


def history_id(path: Path) -> str:
    return str(path.relative_to(ROOT).with_suffix(""))


class Types(typing.NamedTuple):
    args: list[Any]
    result: Any


def _types(fn: Callable[..., Any]) -> Types:
    hints = typing.get_type_hints(fn)
    params = [p for p in inspect.signature(fn).parameters.values() if p.name != "self"]
    return Types([hints[p.name] for p in params], hints.get("return"))


def _named(cls: type, marker: str) -> Iterator[tuple[str, Callable[..., Any]]]:
    for _, member in inspect.getmembers(cls):
        defn = getattr(member, marker, None)
        name = getattr(defn, "name", None)
        if name:
            yield name, member


def workflow_types() -> dict[str, Types]:
    """A workflow type's name -> its input and result types."""
    out = {}
    for cls in WORKFLOWS:
        defn = getattr(cls, "__temporal_workflow_definition")
        out[defn.name] = _types(defn.run_fn)
    return out


def signal_types() -> dict[str, dict[str, Types]]:
    """A workflow type's name -> its signals' names -> their argument types."""
    out: dict[str, dict[str, Types]] = {}
    for cls in WORKFLOWS:
        defn = getattr(cls, "__temporal_workflow_definition")
        out[defn.name] = {name: _types(signal.fn) for name, signal in defn.signals.items() if name}
    return out


def activity_types() -> dict[str, Types]:
    """An activity type's name -> its argument and result types."""
    return {name: _types(fn) for cls in ACTIVITY_CLASSES for name, fn in _named(cls, "__temporal_activity_definition")}
