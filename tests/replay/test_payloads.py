"""Every payload in the kept histories decodes with today's types: workflow inputs and results, signals,
activity arguments and results. A workflow started by an old release hands these to today's code after a
deploy; one that no longer decodes ("Failed decoding arguments") stops that incident for good."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from temporalio.api.common.v1 import Payloads
from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowHistory
from temporalio.contrib.pydantic import pydantic_data_converter

from tests.replay.library import activity_types, histories, history_id, signal_types, workflow_types

WORKFLOW_TYPES, SIGNAL_TYPES, ACTIVITY_TYPES = workflow_types(), signal_types(), activity_types()
ANY_SIGNAL = {name: types for signals in SIGNAL_TYPES.values() for name, types in signals.items()}


def _payloads(history: WorkflowHistory) -> Iterator[tuple[str, Payloads, list[Any]]]:
    """(what, payloads, the types they must decode to) for every payload the history holds."""
    workflow_type = ""
    scheduled: dict[int, str] = {}
    for event in history.events:
        kind = event.event_type
        if kind == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED:
            attrs = event.workflow_execution_started_event_attributes
            workflow_type = attrs.workflow_type.name
            yield f"{workflow_type} input", attrs.input, WORKFLOW_TYPES[workflow_type].args
        elif kind == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED:
            signal = event.workflow_execution_signaled_event_attributes
            types = SIGNAL_TYPES[workflow_type].get(signal.signal_name)
            assert types is not None, f"{workflow_type} has no signal {signal.signal_name!r} any more"
            yield f"signal {signal.signal_name}", signal.input, types.args
        elif kind == EventType.EVENT_TYPE_SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED:
            sent = event.signal_external_workflow_execution_initiated_event_attributes
            assert sent.signal_name in ANY_SIGNAL, f"no workflow takes the signal {sent.signal_name!r} any more"
            yield f"signal {sent.signal_name} sent", sent.input, ANY_SIGNAL[sent.signal_name].args
        elif kind == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
            attrs_s = event.activity_task_scheduled_event_attributes
            name = attrs_s.activity_type.name
            assert name in ACTIVITY_TYPES, f"no activity {name!r} any more"
            scheduled[event.event_id] = name
            yield f"activity {name} arguments", attrs_s.input, ACTIVITY_TYPES[name].args
        elif kind == EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED:
            done = event.activity_task_completed_event_attributes
            name = scheduled[done.scheduled_event_id]
            result = ACTIVITY_TYPES[name].result
            if result is not type(None) and done.result.payloads:
                yield f"activity {name} result", done.result, [result]
        elif kind == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW:
            attrs_c = event.workflow_execution_continued_as_new_event_attributes
            yield f"{workflow_type} continued-as-new input", attrs_c.input, WORKFLOW_TYPES[workflow_type].args
        elif kind == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED:
            attrs_r = event.workflow_execution_completed_event_attributes
            result = WORKFLOW_TYPES[workflow_type].result
            if result is not type(None) and attrs_r.result.payloads:
                yield f"{workflow_type} result", attrs_r.result, [result]


@pytest.mark.parametrize("path", histories(), ids=history_id)
def test_every_payload_decodes_with_todays_types(path: Path) -> None:
    history = WorkflowHistory.from_json(history_id(path), path.read_text())
    converter = pydantic_data_converter.payload_converter
    decoded = 0
    for what, payloads, types in _payloads(history):
        items = list(payloads.payloads)
        try:
            converter.from_payloads(items, types[:len(items)])
        except Exception as exc:  # any failure is the finding: say which payload and why
            pytest.fail(f"{history_id(path)}: {what} no longer decodes: {exc}")
        decoded += len(items)
    assert decoded > 0


def test_a_field_without_a_default_would_be_caught() -> None:
    """The check is real: a new required field on a signal's type fails to decode the old payloads."""
    from pydantic import create_model

    from workflows.events import PdEvent

    stricter = create_model("PdEvent", __base__=PdEvent, routing_key=(str, ...))
    path = next(p for p in histories() if p.stem == "open")
    history = WorkflowHistory.from_json("open", path.read_text())
    signal = next(p for what, p, _ in _payloads(history) if what == "signal pd_event")
    converter = pydantic_data_converter.payload_converter
    converter.from_payloads(list(signal.payloads), [PdEvent])
    with pytest.raises(Exception, match="routing_key"):
        converter.from_payloads(list(signal.payloads), [stricter])
