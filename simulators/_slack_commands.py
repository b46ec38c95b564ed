"""The simulated person typing a slash command: a signed form post with `response_url` and `trigger_id`,
and the command's answers (the HTTP reply and later response_url posts) shown like Slack shows them."""

from __future__ import annotations

import json
import secrets
import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

import httpx

from simulators._slack_interact import sign_slack_request
from simulators._slack_model import Channel, Ephemeral, SlackUser

__all__ = ["CommandMixin", "CommandRun"]


@dataclass(frozen=True)
class CommandRun:
    """One command the simulated person sent, and the bridge's direct HTTP answer."""

    user: str
    channel: str
    command: str
    text: str
    status: int
    response: str


class CommandMixin:
    if TYPE_CHECKING:
        lock: threading.RLock
        signing_secret: str
        team_id: str
        team_domain: str
        api_app_id: str
        users: dict[str, SlackUser]
        ephemerals: list[Ephemeral]
        responses: list[dict[str, Any]]
        request_timestamp_offset: int
        sign_requests: bool
        _response_urls: dict[str, dict[str, Any]]

        @property
        def base_url(self) -> str: ...
        def channel(self, ref: Any) -> Channel: ...
        def next_ts(self) -> str: ...
        def issue_trigger(self, user_id: str) -> str: ...
        def respond(self, response_id: str, body: dict[str, Any]) -> tuple[int, str]: ...

    def __init__(self) -> None:
        self.commands_url: str | None = None
        self.command_runs: list[CommandRun] = []

    def command_form(self, user_id: str, channel_id: str, text: str, command: str = "/pd") -> dict[str, str]:
        with self.lock:
            channel = self.channel(channel_id)
            response_id = secrets.token_hex(12)
            self._response_urls[response_id] = {"channel": channel.id, "ts": None, "user": user_id, "uses": 0,
                                                "thread_ts": None}
            user = self.users.get(user_id)
            return {
                "token": "sim-verification-token",
                "team_id": self.team_id,
                "team_domain": self.team_domain,
                "channel_id": channel.id,
                "channel_name": channel.name,
                "user_id": user_id,
                "user_name": user.name if user else user_id,
                "command": command,
                "text": text,
                "api_app_id": self.api_app_id,
                "is_enterprise_install": "false",
                "response_url": f"{self.base_url}/_sim/response/{response_id}",
                "trigger_id": self.issue_trigger(user_id),
            }

    async def slash_command(self, user_id: str, channel_id: str, text: str, command: str = "/pd") -> tuple[int, str]:
        """Type `command text` in `channel_id` as `user_id`; returns the bridge's (status, body).

        Like Slack, a 200 answer is shown to the person (ephemeral unless `response_type` is `in_channel`)."""
        if not self.commands_url:
            raise RuntimeError("SlackSimulator has no commands_url to post to")
        form = self.command_form(user_id, channel_id, text, command)
        body = urlencode(form)
        timestamp = str(int(time.time()) + self.request_timestamp_offset)
        signature = sign_slack_request(self.signing_secret if self.sign_requests else "wrong", timestamp, body)
        headers = {"Content-Type": "application/x-www-form-urlencoded", "X-Slack-Request-Timestamp": timestamp,
                   "X-Slack-Signature": signature, "User-Agent": "Slackbot 1.0 (+https://api.slack.com/robots)"}
        async with httpx.AsyncClient(timeout=10.0) as client:
            response = await client.post(self.commands_url, content=body.encode(), headers=headers)
        with self.lock:
            self.command_runs.append(CommandRun(user_id, channel_id, command, text, response.status_code,
                                                response.text))
        if response.status_code == 200 and response.text.strip():
            self._show_direct_answer(form, response.text)
        return response.status_code, response.text

    def _show_direct_answer(self, form: dict[str, str], text: str) -> None:
        try:
            answer = json.loads(text)
        except ValueError:
            answer = {"text": text}
        if not isinstance(answer, dict):
            answer = {"text": text}
        response_id = form["response_url"].rsplit("/", 1)[-1]
        with self.lock:
            self._response_urls[response_id]["uses"] -= 1  # the direct answer is not a response_url use
            self.respond(response_id, {"response_type": "ephemeral", **answer, "source": "direct"})
