"""Custom search attributes on every incident workflow, so operators can filter in the Temporal Web UI."""

from __future__ import annotations

from typing import Any

from temporalio.common import SearchAttributeKey

INCIDENT_ID = SearchAttributeKey.for_keyword("PdIncidentId")
INCIDENT_NUMBER = SearchAttributeKey.for_int("PdIncidentNumber")
STATUS = SearchAttributeKey.for_keyword("IncidentStatus")
SERVICE = SearchAttributeKey.for_keyword("PdServiceId")
COMMAND_PENDING = SearchAttributeKey.for_bool("CommandPending")
STUCK = SearchAttributeKey.for_bool("IncidentStuck")

ALL_KEYS: list[SearchAttributeKey[Any]] = [INCIDENT_ID, INCIDENT_NUMBER, STATUS, SERVICE, COMMAND_PENDING, STUCK]
