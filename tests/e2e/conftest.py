"""End-to-end fixtures: the real API and worker against the simulators and a real Temporal dev server."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager
from typing import Any, TypeVar

import pytest_asyncio
from temporalio.testing import WorkflowEnvironment

from ops.sandbox import Sandbox, sandbox_config
from settings import Channels, Notifications, Timing
from simulators._slack_model import Message

T = TypeVar("T")


SandboxFactory = Callable[..., AbstractAsyncContextManager[Sandbox]]


@pytest_asyncio.fixture
async def make_sandbox(dev_env: WorkflowEnvironment) -> SandboxFactory:
    """Sandboxes with a chosen config (e.g. short deadlines, a [channels] policy), on the session's Temporal
    server."""
    address = dev_env.client.service_client.config.target_host

    def make(timing: Timing | None = None, channels: Channels | None = None,
             notifications: Notifications | None = None, **kwargs: Any) -> AbstractAsyncContextManager[Sandbox]:
        config = sandbox_config(timing) if timing or channels or notifications else None
        if config is not None and channels is not None:
            config = config.model_copy(update={"channels": channels})
        if config is not None and notifications is not None:
            config = config.model_copy(update={"notifications": notifications})
        return Sandbox(address, task_queue=f"e2e-{uuid.uuid4().hex[:8]}", config=config, **kwargs)

    return make


@pytest_asyncio.fixture
async def sandbox(make_sandbox: SandboxFactory) -> AsyncIterator[Sandbox]:
    async with make_sandbox() as sb:
        yield sb


async def until(check: Callable[[], T | None], timeout: float = 20.0, what: str = "condition") -> T:
    """Poll a synchronous check until it holds; fail with `what` when it never does."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        value = check()
        if value:
            return value
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"{what} not reached within {timeout} s")
        await asyncio.sleep(0.05)


def root_messages(sb: Sandbox, channel: str) -> list[Message]:
    return [m for m in sb.slack.messages(channel) if not m.deleted]


def first_root(sb: Sandbox, channel: str) -> Message | None:
    roots = root_messages(sb, channel)
    return roots[0] if roots else None


def reply_texts(message: Message) -> list[str]:
    """The timeline entries of the thread: replies that waited together arrive as one, one line each."""
    return [line for r in message.replies for line in r.text.split("\n")]


def status_of(message: Message) -> str:
    return message.text.split("]", 1)[0].lstrip("[").lower()
