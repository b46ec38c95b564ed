"""End-to-end fixtures: the real API and worker against the simulators and a real Temporal dev server."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable
from typing import TypeVar

import pytest_asyncio
from temporalio.testing import WorkflowEnvironment

from ops.sandbox import Sandbox
from simulators._slack_model import Message

T = TypeVar("T")


@pytest_asyncio.fixture
async def sandbox(dev_env: WorkflowEnvironment) -> AsyncIterator[Sandbox]:
    address = dev_env.client.service_client.config.target_host
    async with Sandbox(address, task_queue=f"e2e-{uuid.uuid4().hex[:8]}") as sb:
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
    return [r.text for r in message.replies]


def status_of(message: Message) -> str:
    return message.text.split("]", 1)[0].lstrip("[").lower()
