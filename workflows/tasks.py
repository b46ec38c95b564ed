"""Work a workflow runs beside its main loop, and the flag that wakes the loop when any of it ends."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable


class Tasks:
    def __init__(self) -> None:
        self.running: set[asyncio.Task[None]] = set()
        self.poked = False  # set when a task ends; the loop clears it before it waits

    def spawn(self, work: Awaitable[None]) -> None:
        async def runner() -> None:
            try:
                await work
            finally:
                self.running.discard(task)
                self.poked = True

        task = asyncio.create_task(runner())
        self.running.add(task)

    def __bool__(self) -> bool:
        return bool(self.running)
