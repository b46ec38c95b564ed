"""The two ingress routes. Each verifies the signature over the raw body first, then parses, then hands
the event to the incident's workflow; business logic lives in the workflow, not here."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from typing import Any, NamedTuple

import aiohttp
from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import Counter
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from activities.blocks import note_modal, status_modal
from activities.metrics import INTERACTIONS, WEBHOOKS
from activities.tell import NotTold, tell_person
from api.gateway import TemporalRejected, TemporalUnavailable
from api.pd_events import IgnoredWebhook, MalformedWebhook, parse_webhook
from api.signatures import verify_pagerduty, verify_slack
from api.slack_payloads import (
    Ignored,
    MalformedInteraction,
    OpenNoteModal,
    decode_form,
    form_block,
    parse_interaction,
)
from api.trigger_modal import TriggerSubmission
from workflows.models import SlackAction

log = logging.getLogger("bridge.api")
router = APIRouter()
MAX_BODY = 1024 * 1024
# PagerDuty wants an answer within 5 s and Slack within 3 s; leave room for the network.
PD_RPC_SECONDS = 4.0
SLACK_RPC_SECONDS = 2.0


def _rejected(counter: Counter, reason: str, status: int, message: str) -> JSONResponse:
    counter.labels("rejected", reason).inc()
    return JSONResponse({"error": message}, status_code=status)


class Unsigned(NamedTuple):
    """Why a request that should come from Slack is turned away: its status, metric label and message."""

    status: int
    reason: str
    message: str


async def signed_slack_body(request: Request) -> bytes | Unsigned:
    """The body of a request from Slack once its signature checks out (every Slack endpoint starts here)."""
    ctx = request.app.state.ctx
    body = await _read_body(request)
    if body is None:
        return Unsigned(413, "too_large", "body larger than 1 MiB")
    problem = verify_slack(body, request.headers.get("x-slack-request-timestamp"),
                           request.headers.get("x-slack-signature"), ctx.settings.secret("slack_signing_secret"),
                           ctx.clock())
    return Unsigned(401, "bad_signature", problem) if problem else body


async def _read_body(request: Request) -> bytes | None:
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > MAX_BODY:
        return None
    body = bytearray()
    async for chunk in request.stream():
        body.extend(chunk)
        if len(body) > MAX_BODY:
            return None
    return bytes(body)


# A plain Starlette route: it takes the request as is, so FastAPI's dependency machinery is not needed
# on the hottest path.
async def pagerduty_webhook(request: Request) -> Response:
    ctx = request.app.state.ctx
    body = await _read_body(request)
    if body is None:
        return _rejected(WEBHOOKS, "too_large", 413, "body larger than 1 MiB")
    if not verify_pagerduty(body, request.headers.get("x-pagerduty-signature"), ctx.webhook_secrets):
        return _rejected(WEBHOOKS, "bad_signature", 401,
                         "X-PagerDuty-Signature does not match any configured webhook secret")
    try:
        event = parse_webhook(body)
    except MalformedWebhook as exc:
        return _rejected(WEBHOOKS, "malformed", 400, str(exc))
    if isinstance(event, IgnoredWebhook):
        WEBHOOKS.labels("ignored", event.reason).inc()
        return JSONResponse({"status": "ignored", "reason": event.detail}, status_code=202)
    try:
        await ctx.gateway.deliver(event.incident_id, "pd_event", event, ctx.timing, PD_RPC_SECONDS,
                                   channels=ctx.channels)
    except TemporalUnavailable as exc:
        log.error("incident %s: webhook %s not accepted: %s", event.incident_id, event.event_id, exc,
                  extra={"incident_id": event.incident_id})
        return _rejected(WEBHOOKS, "temporal_unavailable", 503,
                         "the bridge cannot store this event right now; PagerDuty will retry")
    except TemporalRejected as exc:
        log.error("incident %s: webhook %s refused for good: %s", event.incident_id, event.event_id, exc,
                  extra={"incident_id": event.incident_id})
        return _rejected(WEBHOOKS, "temporal_refused", 413 if exc.too_large else 422,
                         f"the bridge cannot ever store this event: {exc}")
    WEBHOOKS.labels("accepted", event.event_type).inc()
    log.info("incident %s: %s %s accepted", event.incident_id, event.event_type, event.event_id,
             extra={"incident_id": event.incident_id})
    return JSONResponse({"status": "accepted", "incident": event.incident_id}, status_code=202)


router.add_route("/pagerduty/webhooks", pagerduty_webhook, methods=["POST"], include_in_schema=False)


@router.post("/slack/interactions")
async def slack_interaction(request: Request) -> Response:
    body = await signed_slack_body(request)
    if isinstance(body, Unsigned):
        return _rejected(INTERACTIONS, body.reason, body.status, body.message)
    try:
        interaction = parse_interaction(decode_form(body))
    except MalformedInteraction as exc:
        return _rejected(INTERACTIONS, "malformed", 400, str(exc))
    if isinstance(interaction, Ignored):
        INTERACTIONS.labels("ignored", "not_ours").inc()
        return Response(status_code=200)
    if isinstance(interaction, OpenNoteModal):
        return await _open_note_modal(request, interaction)
    if isinstance(interaction, TriggerSubmission):
        from api.commands import submit_trigger  # the commands module builds on this one

        return await submit_trigger(request, interaction)
    return await _hand_over(request, interaction)


async def _open_note_modal(request: Request, action: OpenNoteModal) -> Response:
    # views.open must use the trigger_id within 3 seconds, so this one call happens here, not in Temporal.
    ctx = request.app.state.ctx
    modal = status_modal if action.status_update else note_modal
    what = "status update" if action.status_update else "note"
    try:
        await ctx.slack.views_open(trigger_id=action.trigger_id,
                                   view=modal(action.incident_id, None, action.channel, action.message_ts))
    except (SlackApiError, aiohttp.ClientError, TimeoutError) as exc:
        error = exc.response.get("error") if isinstance(exc, SlackApiError) else f"Slack unreachable: {exc!r}"
        INTERACTIONS.labels("failed", "views_open").inc()
        log.error("incident %s: could not open the %s modal: %s", action.incident_id, what, error,
                  extra={"incident_id": action.incident_id})
        if action.channel and isinstance(exc, SlackApiError):
            _in_background(_tell(ctx.slack, action.channel, action.slack_user,
                                 f"Slack would not open the {what} dialog ({error}); "
                                 f"nothing was sent to PagerDuty. Try again, or post the {what} in PagerDuty."))
        return Response(status_code=200)
    INTERACTIONS.labels("accepted", "pd_status_update" if action.status_update else "pd_add_note").inc()
    return Response(status_code=200)


async def _hand_over(request: Request, action: SlackAction) -> Response:
    ctx = request.app.state.ctx
    if action.note is not None and not action.note.strip():
        INTERACTIONS.labels("rejected", "empty_note").inc()
        return JSONResponse({"response_action": "errors",
                             "errors": {form_block(action.action): "Write something first."}})
    try:
        await ctx.gateway.deliver(action.incident_id, "slack_action", action, ctx.timing, SLACK_RPC_SECONDS,
                                   channels=ctx.channels)
    except (TemporalUnavailable, TemporalRejected) as exc:
        unavailable = isinstance(exc, TemporalUnavailable)
        INTERACTIONS.labels("rejected", "temporal_unavailable" if unavailable else "temporal_refused").inc()
        log.error("incident %s: %s by %s not accepted: %s", action.incident_id, action.action, action.slack_user,
                  exc, extra={"incident_id": action.incident_id})
        text = ("The bridge could not take this action right now (its workflow engine is unreachable). "
                "Nothing was sent to PagerDuty; try again in a minute or act in PagerDuty directly."
                if unavailable else
                f"The bridge cannot take this action ({exc}). Nothing was sent to PagerDuty; "
                "act in PagerDuty directly.")
        if action.note is not None:
            return JSONResponse({"response_action": "errors", "errors": {form_block(action.action): text}})
        _in_background(_tell(ctx.slack, action.channel, action.slack_user, text, action.response_url))
        return Response(status_code=200)
    INTERACTIONS.labels("accepted", action.action.value).inc()
    log.info("incident %s: %s by %s handed to its workflow", action.incident_id, action.action, action.slack_user,
             extra={"incident_id": action.incident_id})
    return Response(status_code=200)


_background: set[asyncio.Task[None]] = set()


def _in_background(work: Coroutine[Any, Any, None]) -> None:
    """Slack is answered first; this follow-up must not be garbage-collected while it runs."""
    task = asyncio.create_task(work)
    _background.add(task)
    task.add_done_callback(_background.discard)


async def finish_background(within: float) -> None:
    """At shutdown (a deploy): the answers still on their way (a trigger form being sent to PagerDuty, a late
    `/pd` answer, a refusal being told) reach their people before the process ends, within `within` s."""
    loop = asyncio.get_running_loop()
    # A copy first: the API apps of one process (tests run several) share the set, each on its own thread.
    running = {task for task in list(_background) if task.get_loop() is loop and not task.done()}
    if not running:
        return
    log.info("stopping: %d answer(s) to Slack users still on their way; waiting up to %.0f s", len(running), within)
    _, cut = await asyncio.wait(running, timeout=within)
    if cut:
        log.error("stopping: %d answer(s) to Slack users cut after %.0f s: %s", len(cut), within,
                  ", ".join(sorted(getattr(task.get_coro(), "__qualname__", "?") for task in cut)))
        for task in cut:
            task.cancel()
        await asyncio.wait(cut, timeout=1.0)


async def _tell(slack: AsyncWebClient, channel: str | None, user: str, text: str,
                response_url: str | None = None) -> None:
    try:
        await tell_person(slack, user, text, channel=channel, response_url=response_url)
    except NotTold as exc:
        log.error("%s", exc)
