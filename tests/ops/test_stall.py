"""A stop that hangs says what it waits on, instead of leaving only a process to kill."""

from __future__ import annotations

import asyncio
import logging

import pytest

from ops.stall import reported_if_slow
from tests.e2e.conftest import until


async def _held_by_a_forgotten_call(release: asyncio.Event) -> None:
    await _deep_inside(release)


async def _deep_inside(release: asyncio.Event) -> None:
    await release.wait()


async def test_a_slow_step_logs_the_stack_of_what_it_waits_on(caplog: pytest.LogCaptureFixture) -> None:
    release = asyncio.Event()
    holder = asyncio.create_task(_held_by_a_forgotten_call(release), name="forgotten-call")

    async def step() -> None:
        async with reported_if_slow("stopping the test's worker", after=0.05):
            await holder

    with caplog.at_level(logging.ERROR, logger="bridge.shutdown"):
        stopping = asyncio.create_task(step())
        record = await until(lambda: next(iter(caplog.records), None), what="the slow step's report")
        release.set()
        await stopping
    assert "stopping the test's worker has taken over 0 s" in record.getMessage()
    assert "forgotten-call" in record.getMessage() and "_held_by_a_forgotten_call" in record.getMessage()
    assert "_deep_inside" in record.getMessage() and "release.wait()" in record.getMessage()
