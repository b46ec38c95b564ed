"""Custom search attributes on every incident workflow, so operators can filter in the Temporal Web UI."""

from __future__ import annotations

from typing import Any

from temporalio import workflow
from temporalio.common import SearchAttributeKey, SearchAttributeUpdate

from workflows.models import CommandPhase, IncidentState

INCIDENT_ID = SearchAttributeKey.for_keyword("PdIncidentId")
INCIDENT_NUMBER = SearchAttributeKey.for_int("PdIncidentNumber")
STATUS = SearchAttributeKey.for_keyword("IncidentStatus")
SERVICE = SearchAttributeKey.for_keyword("PdServiceId")
COMMAND_PENDING = SearchAttributeKey.for_bool("CommandPending")
STUCK = SearchAttributeKey.for_bool("IncidentStuck")
# "#12 Checkout failing · acknowledged": what an operator reads in the Web UI's workflow list (add the column).
SUMMARY = SearchAttributeKey.for_keyword("IncidentSummary")

ALL_KEYS: list[SearchAttributeKey[Any]] = [INCIDENT_ID, INCIDENT_NUMBER, STATUS, SERVICE, COMMAND_PENDING, STUCK,
                                           SUMMARY]
SUMMARY_MAX = 200  # characters; a keyword's value is kept well under Temporal's 2 KB

# The Web UI's list of incidents alone (the sweep's runs left out): append to its workflows page as `?query=`.
INCIDENTS_QUERY = 'WorkflowType = "IncidentWorkflow"'


def summary(state: IncidentState) -> str | None:
    """The incident in one line: number, title and status."""
    inc = state.incident
    if inc is None:
        return None
    number = f"#{inc.number} " if inc.number is not None else ""
    title = inc.title if len(inc.title) <= SUMMARY_MAX else inc.title[:SUMMARY_MAX - 1] + "…"
    return f"{number}{title} · {inc.status.value}"


MESSAGE_MEMO = "message"  # where the incident's message is: what a run after a terminated one goes on from


def remember_message(state: IncidentState, last: tuple[str | None, str | None]) -> tuple[str | None, str | None]:
    """Keep the message's place in the workflow's memo, so it outlives a run that ends without a result
    (terminated by an operator); activities/recall.py reads it. A memo upsert is a command: only on change."""
    where = (state.channel, state.ts)
    if where != last and state.ts is not None:
        workflow.upsert_memo({MESSAGE_MEMO: {"channel": state.channel, "ts": state.ts}})
        return where
    return last


def publish(state: IncidentState, last: tuple[Any, ...] | None, summarize: bool = False) -> tuple[Any, ...]:
    """Upsert the attributes and the UI's current details when they changed; returns what is published.

    Runs inside the workflow (upserts are workflow commands), only when something an operator filters on
    changed, so the history gains an event per change and not per signal. With `summarize` (runs with the
    "incident-summary" patch) the one-line summary is published too.
    """
    inc = state.incident
    pending = bool(state.pending_commands())
    stuck = bool(state.render_error or state.read_error
                 or any(c.phase is CommandPhase.RETRYING for c in state.commands))
    line = summary(state) if summarize else None
    values = (inc.number if inc else None, state.status, inc.service.id if inc and inc.service else None,
              pending, stuck, line)
    if values == last:
        return values
    updates: list[SearchAttributeUpdate[Any]] = [
        INCIDENT_ID.value_set(state.incident_id), COMMAND_PENDING.value_set(pending), STUCK.value_set(stuck)]
    if inc is not None:
        updates.append(STATUS.value_set(inc.status.value))
        if inc.number is not None:
            updates.append(INCIDENT_NUMBER.value_set(inc.number))
        if inc.service is not None:
            updates.append(SERVICE.value_set(inc.service.id))
        if line is not None:
            updates.append(SUMMARY.value_set(line))
        problem = f"\nlast problem: {state.render_error or state.read_error}" if stuck else ""
        workflow.set_current_details(
            f"#{inc.number} {inc.title}\n\nstatus: {inc.status.value}, pending commands: "
            f"{len(state.pending_commands())}, stuck: {stuck}{problem}")
    workflow.upsert_search_attributes(updates)
    return values
