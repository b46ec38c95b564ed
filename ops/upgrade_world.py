"""The outside world of `dev.py upgrade-check`: the simulated PagerDuty and Slack of the working tree, served
on loopback in this process, driven as people drive them (signed Slack clicks, PagerDuty's control API)."""

from __future__ import annotations

import asyncio
import re
import secrets
import time
from collections.abc import Callable
from contextlib import ExitStack
from typing import Any, TypeVar

import httpx

from simulators._slack_model import Message
from simulators.pagerduty import PagerDutySimulator
from simulators.server import ServedApp
from simulators.slack import SlackSimulator

T = TypeVar("T")
PD_TOKEN, SLACK_TOKEN = "upgrade-check-pagerduty-token", "xoxb-upgrade-check"
INCIDENT_MESSAGE = re.compile(r"\[[^\]]+\] #(\d+) ")


class Stalled(Exception):
    """Something the rehearsal waits for did not happen in time."""


async def until(check: Callable[[], T | None], what: str, timeout: float = 30.0) -> T:
    """Poll `check` until it holds; Stalled naming `what` past the deadline."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise Stalled(f"{what}: not within {timeout:.0f} s")
        await asyncio.sleep(0.1)


class World:
    """PagerDuty and Slack simulators; `start(api_url)` serves them and points their webhooks at the bridge."""

    def __init__(self) -> None:
        self.webhook_secret, self.signing_secret = secrets.token_hex(16), secrets.token_hex(16)
        self.pd = PagerDutySimulator(token=PD_TOKEN, webhook_secret=self.webhook_secret)
        self.slack = SlackSimulator(signing_secret=self.signing_secret, bot_token=SLACK_TOKEN)
        self.pd.seed_demo()
        self.pd.add_user("PULEAD1", "Lee Lead", "lead@example.com")
        self.slack.seed_demo()
        # Deliveries keep retrying across the swap, when no API listens for a few seconds.
        self.pd.retry_max_attempts, self.pd.retry_max_delay = 120, 1.0
        self._stack = ExitStack()
        self.pd_url = self.slack_url = ""
        self.http = httpx.AsyncClient(timeout=10.0)

    def start(self, api_url: str) -> None:
        self.pd_url = self._stack.enter_context(ServedApp(self.pd.app)).url
        self.slack_url = self._stack.enter_context(ServedApp(self.slack.app)).url
        self._stack.callback(self.pd.close)
        self.pd.webhook_url = f"{api_url}/pagerduty/webhooks"
        self.slack.interactions_url = f"{api_url}/slack/interactions"
        self.slack.commands_url = f"{api_url}/slack/commands"
        self.slack.public_url = self.slack_url

    async def close(self) -> None:
        await self.http.aclose()
        self._stack.close()

    def bridge_settings(self, temporal: str, task_queue: str, config: str) -> dict[str, str]:
        """The environment of the bridge's processes (settings.py's names)."""
        return {"TEMPORAL_ADDRESS": temporal, "TEMPORAL_NAMESPACE": "default", "TEMPORAL_TASK_QUEUE": task_queue,
                "PAGERDUTY_API_TOKEN": PD_TOKEN, "PAGERDUTY_API_URL": self.pd_url,
                "PAGERDUTY_WEBHOOK_SECRETS": self.webhook_secret, "SLACK_BOT_TOKEN": SLACK_TOKEN,
                "SLACK_SIGNING_SECRET": self.signing_secret, "SLACK_API_URL": f"{self.slack_url}/api/",
                "BRIDGE_CONFIG": config}

    # -- PagerDuty, through its control API (the "web UI" and the fault knobs) ------------------------

    async def _pd(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        response = await self.http.post(f"{self.pd_url}/_sim/{path}", json=body)
        response.raise_for_status()
        data: dict[str, Any] = response.json()
        return data

    async def trigger(self, service: str, title: str, *, webhooks: bool = True) -> tuple[str, int]:
        body = {"service_id": service, "title": title, "webhooks": webhooks}
        incident = (await self._pd("trigger", body))["incident"]
        return str(incident["id"]), int(incident["incident_number"])

    async def act(self, incident: str, action: str, user: str, **extra: Any) -> None:
        await self._pd("act", {"incident_id": incident, "action": action, "user_id": user, **extra})

    async def fail_writes(self, incident: str, status: int = 503) -> None:
        await self._pd("fail", {"path_prefix": f"/incidents/{incident}", "status": status, "method": "PUT"})

    async def clear_faults(self) -> None:
        await self._pd("clear_faults", {})

    async def hold_webhooks(self, incident: str, hold: bool = True) -> dict[str, Any]:
        return await self._pd("hold", {"incident_id": incident, "hold": hold})

    async def slack_limits(self, enabled: bool) -> None:
        (await self.http.post(f"{self.slack_url}/_sim/limits", json={"enabled": enabled})).raise_for_status()

    def failed_writes(self, incident: str) -> int:
        return sum(1 for r in self.pd.requests
                   if r.method == "PUT" and r.path == f"/incidents/{incident}" and r.status >= 500)

    def notes(self, incident: str) -> list[str]:
        with self.pd.lock:
            return [n.content for n in self.pd.incidents[incident].notes]

    # -- Slack -----------------------------------------------------------------------------------------

    def roots(self, channel: str, number: int, title: str) -> list[Message]:
        """The incident messages of one incident in `channel`: "[STATUS] #<number> <title>…" (not, say, the
        summary its own channel gets at the end, which names it too)."""
        return [m for m in self.slack.messages(channel)
                if (found := INCIDENT_MESSAGE.match(m.text)) and int(found[1]) == number and title in m.text]

    def root(self, channel: str, number: int, title: str) -> Message | None:
        found = self.roots(channel, number, title)
        return found[0] if found else None

    async def click(self, channel: str, message: Message, action_id: str, user: str) -> None:
        status, body = await self.slack.click(channel, message.ts, action_id, user)
        if status != 200:
            raise Stalled(f"click {action_id} as {user}: HTTP {status} {body[:200]}")

    async def write_note(self, channel: str, message: Message, user: str, text: str) -> None:
        """Click Add note, fill the first input of the modal the bridge opens, and submit it."""
        await self.click(channel, message, "pd_add_note", user)
        view = await until(lambda: self.slack.open_view_for(user), f"the note modal opened for {user}")
        block = next(b for b in view.view.get("blocks", []) if b.get("type") == "input")
        element = block["element"]
        values = {block["block_id"]: {element["action_id"]: {"type": element["type"], "value": text}}}
        status, body = await self.slack.submit_view(view.id, user, values)
        if status != 200:
            raise Stalled(f"note modal submission: HTTP {status} {body[:200]}")


def thread_lines(message: Message) -> list[str]:
    """The timeline of a thread: replies that waited together arrive as one, one line each."""
    return [line for r in message.replies if not r.deleted for line in r.text.split("\n") if line.strip()]


def status_of(message: Message) -> str:
    return message.text.split("]", 1)[0].lstrip("[").lower()
