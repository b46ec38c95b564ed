"""Telling one person something only they see, wherever they are: the interaction's `response_url` first
(it works in DMs and channels the bot is not in), then `chat.postEphemeral`, then a direct message from the
bot. An answer that cannot go one way goes the next; it is lost only when Slack refuses all three."""

from __future__ import annotations

import logging
from typing import Any

import aiohttp
import httpx
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

log = logging.getLogger(__name__)

# Errors a retry cannot mend for this way of telling: the next way is tried at once.
RETRYABLE = {"ratelimited", "rate_limited", "service_unavailable", "fatal_error", "internal_error",
             "request_timeout"}


class NotTold(Exception):
    """Every way of telling failed; `retryable` when one of them may work later (rate limit, outage)."""

    def __init__(self, message: str, retryable: bool) -> None:
        super().__init__(message)
        self.retryable = retryable


async def _by_response_url(url: str, text: str, blocks: list[dict[str, Any]] | None) -> str | None:
    body: dict[str, Any] = {"response_type": "ephemeral", "replace_original": False, "text": text}
    if blocks:
        body["blocks"] = blocks
    try:
        async with httpx.AsyncClient(timeout=5) as client:
            answer = await client.post(url, json=body)
    except httpx.HTTPError as exc:
        return f"response_url unreachable ({type(exc).__name__})"
    return None if answer.is_success else f"response_url answered {answer.status_code} {answer.text[:60]}"


async def _by_api(call: Any) -> tuple[str | None, bool]:
    """(problem, retryable) of one Web API call; (None, False) when it worked."""
    try:
        await call()
    except SlackApiError as exc:
        error = str(exc.response.get("error", "")) or f"HTTP {exc.response.status_code}"
        return error, error in RETRYABLE or exc.response.status_code >= 500
    except (aiohttp.ClientError, TimeoutError) as exc:
        return f"Slack unreachable ({type(exc).__name__})", True
    return None, False


async def tell_person(slack: AsyncWebClient, user: str, text: str, *, channel: str | None = None,
                      response_url: str | None = None, blocks: list[dict[str, Any]] | None = None) -> str:
    """Show `text` to `user` alone; returns how it went ("response_url", "ephemeral", "dm"), or raises NotTold."""
    problems: list[str] = []
    retryable = False
    if response_url:
        problem = await _by_response_url(response_url, text, blocks)
        if problem is None:
            return "response_url"
        problems.append(problem)
    if channel and not channel.startswith("D"):  # a DM the bot is not part of takes no ephemeral from it
        problem, again = await _by_api(lambda: slack.chat_postEphemeral(channel=channel, user=user, text=text,
                                                                         blocks=blocks))
        if problem is None:
            return "ephemeral"
        problems.append(f"chat.postEphemeral: {problem}")
        retryable |= again
    problem, again = await _by_api(lambda: slack.chat_postMessage(channel=user, text=text, blocks=blocks,
                                                                   unfurl_links=False, unfurl_media=False))
    if problem is None:
        log.info("told %s by direct message (%s)", user, "; ".join(problems) or "no other way")
        return "dm"
    problems.append(f"direct message: {problem}")
    raise NotTold(f"could not tell {user}: {'; '.join(problems)}", retryable or again)
