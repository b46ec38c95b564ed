"""Slack activities: post the incident message, update it in place, thread replies, ephemeral notes."""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.web.async_slack_response import AsyncSlackResponse
from temporalio import activity

from activities.blocks import render_incident
from activities.errors import SlackChannelError, SlackRefused, SlackUnavailable, slack_error
from activities.identity import Directory
from activities.metrics import ACTIONS, SLACK_CALLS, SLACK_ERRORS
from activities.priorities import Priorities
from activities.tell import NotTold, tell_person
from settings import BridgeConfig
from workflows.budget import NoticeStep
from workflows.models import MessagePosted, Model, Ref, Reply, TellUser
from workflows.slack_text import escape, fill
from workflows.view import MessageView

log = logging.getLogger(__name__)


class PostRequest(Model):
    view: MessageView
    channel: str | None = None  # given for the incident's own channel; otherwise the service's route


class UpdateRequest(Model):
    channel: str
    ts: str
    view: MessageView


class ReplyRequest(Model):
    """Thread replies that waited together: they go out as one reply, one line each, in order."""

    channel: str
    ts: str
    replies: list[Reply]


async def slack_call(what: str, call: Callable[[], Awaitable[AsyncSlackResponse]]) -> AsyncSlackResponse:
    started = time.monotonic()
    try:
        response = await call()
    except SlackApiError as exc:
        error = slack_error(exc.response.status_code, str(exc.response.get("error", "")),
                            exc.response.headers.get("Retry-After") or exc.response.headers.get("retry-after"), what)
        SLACK_CALLS.labels(what, type(error).__name__).observe(time.monotonic() - started)
        if not error.retryable:
            # Permanent Slack errors need an operator (a channel, a token, a scope): make them countable.
            SLACK_ERRORS.labels(what, str(error.code)).inc()
            log.error("%s", error.message)
        raise error from None
    except (aiohttp.ClientError, TimeoutError) as exc:
        SLACK_CALLS.labels(what, "unreachable").observe(time.monotonic() - started)
        raise SlackUnavailable(f"{what}: Slack unreachable ({type(exc).__name__})") from None
    SLACK_CALLS.labels(what, "ok").observe(time.monotonic() - started)
    return response


class SlackActivities:
    def __init__(self, client: AsyncWebClient, directory: Directory, config: BridgeConfig,
                 priorities: Priorities | None = None) -> None:
        self._client, self._directory, self._config = client, directory, config
        self._priorities = priorities

    async def _mention(self, ref: Ref) -> str:
        slack_id = await self._directory.slack_user_for(ref.id)
        return f"<@{slack_id}>" if slack_id else escape(ref.summary or ref.id)

    async def _render(self, view: MessageView) -> tuple[str, list[dict[str, Any]]]:
        people = [*view.assignees, *([view.acted_by] if view.acted_by else [])]
        names = {ref.id: await self._mention(ref) for ref in people}
        listed = await self._priorities.listed() if self._priorities is not None else []
        return render_incident(view, lambda ref: names.get(ref.id) or escape(ref.summary or ref.id), listed)

    @activity.defn(name="slack_post_message")
    async def post_message(self, request: PostRequest) -> MessagePosted:
        text, blocks = await self._render(request.view)
        if request.channel is not None:
            return await self._post_root(request.channel, text, blocks)
        channel = self._config.channel_for(request.view.service_id)
        try:
            return await self._post_root(channel, text, blocks)
        except SlackChannelError as exc:
            default = self._config.routing.default_channel
            if channel == default:
                raise
            # A broken route must not hide the incident: say so loudly and use the default channel.
            log.error("incident %s: routed channel %s unusable (%s); posting to default channel %s",
                      request.view.incident_id, channel, exc.code, default)
            return await self._post_root(default, text, blocks)

    async def _post_root(self, channel: str, text: str, blocks: list[dict[str, Any]]) -> MessagePosted:
        response = await slack_call("post incident message", lambda: self._client.chat_postMessage(
            channel=channel, text=text, blocks=blocks, unfurl_links=False, unfurl_media=False))
        return MessagePosted(channel=str(response["channel"]), ts=str(response["ts"]))

    @activity.defn(name="slack_update_message")
    async def update_message(self, request: UpdateRequest) -> None:
        text, blocks = await self._render(request.view)
        await slack_call("update incident message", lambda: self._client.chat_update(
            channel=request.channel, ts=request.ts, text=text, blocks=blocks))

    @activity.defn(name="slack_post_reply")
    async def post_reply(self, request: ReplyRequest) -> int:
        lines = []
        for reply in request.replies:
            names = [await self._mention(ref) for ref in reply.people]
            lines.append(fill(reply.text, reply.texts, names))
        text = "\n".join(lines)
        await slack_call("post thread reply", lambda: self._client.chat_postMessage(
            channel=request.channel, thread_ts=request.ts, text=text, unfurl_links=False, unfurl_media=False))
        return request.replies[-1].seq if request.replies else 0

    @activity.defn(name="slack_route")
    async def route(self, service_id: str | None) -> str:
        """The channel a new incident message of this service goes to (for the budget of that channel)."""
        return self._config.channel_for(service_id)

    @activity.defn(name="slack_post_notice")
    async def post_notice(self, step: NoticeStep) -> str:
        """Post or update a channel's storm notice; returns its ts."""
        if step.ts is None:
            response = await slack_call("post storm notice", lambda: self._client.chat_postMessage(
                channel=step.channel, text=step.text, unfurl_links=False, unfurl_media=False))
            return str(response["ts"])
        ts = step.ts
        await slack_call("update storm notice", lambda: self._client.chat_update(
            channel=step.channel, ts=ts, text=step.text))
        return ts

    @activity.defn(name="slack_tell_user")
    async def tell_user(self, request: TellUser) -> None:
        # The response_url of the click or command first, then an ephemeral, then a direct message: an outcome
        # reaches the person in a DM or a channel the bot is not in too.
        try:
            await tell_person(self._client, request.slack_user, request.text, channel=request.channel,
                              response_url=request.response_url)
        except NotTold as exc:
            SLACK_ERRORS.labels("tell user", "not_told").inc()
            raise (SlackUnavailable(str(exc)) if exc.retryable else SlackRefused(str(exc), code="not_told")) from None
        if request.action is not None and request.outcome:
            # Refusals and final failures never reach PagerDuty, so they are counted here, once told.
            ACTIONS.labels(request.action.value, request.outcome).inc()
