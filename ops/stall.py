"""Say what a slow shutdown step is waiting for: every task's stack, logged once it has taken too long.

A stop that never ends (a worker waiting for an activity that ignores its cancellation, a server that keeps
a connection open) otherwise leaves nothing but a process that has to be killed."""

from __future__ import annotations

import asyncio
import io
import logging
import os
import sys
import traceback
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import NoReturn

log = logging.getLogger("bridge.shutdown")
SLOW_AFTER = 30.0  # seconds: every step of a stop normally takes well under a second


def stacks(exclude: asyncio.Task[object] | None = None) -> str:
    """The stack of every pending task of the running loop, and of every thread."""
    out = io.StringIO()
    for task in asyncio.all_tasks():
        if task is exclude or task.done():
            continue
        print(f"--- task {task.get_name()}", file=out)
        out.writelines(traceback.format_list(_awaiting(task.get_coro())))
    for ident, frame in sys._current_frames().items():
        print(f"--- thread {ident}", file=out)
        traceback.print_stack(frame, limit=25, file=out)
    return out.getvalue()


def _awaiting(coro: object) -> traceback.StackSummary:
    """The frames of a suspended task, outermost first, down the chain of awaits to the call it waits in
    (a task's own stack shows only its outermost coroutine)."""
    frames = []
    for _ in range(100):
        frame = getattr(coro, "cr_frame", None) or getattr(coro, "gi_frame", None) or getattr(coro, "ag_frame", None)
        if frame is None:
            break
        frames.append((frame, frame.f_lineno))
        coro = (getattr(coro, "cr_await", None) or getattr(coro, "gi_yieldfrom", None)
                or getattr(coro, "ag_await", None))
    return traceback.StackSummary.extract(iter(frames))


@asynccontextmanager
async def reported_if_slow(step: str, after: float = SLOW_AFTER) -> AsyncIterator[None]:
    """Run a step; when it is still running `after` seconds later, log what every task waits on (once)."""
    current = asyncio.current_task()

    def report() -> None:
        log.error("%s has taken over %.0f s; what is still running:\n%s", step, after, stacks(exclude=current))

    handle = asyncio.get_running_loop().call_later(after, report)
    try:
        yield
    finally:
        handle.cancel()


def exit_without_teardown(code: int) -> NoReturn:
    """The Temporal SDK's native threads can abort a finalizing interpreter (temporalio/sdk-python#300), turning
    a finished process into exit code 134 or -6; everything is stopped and written by now, so skip the teardown."""
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
