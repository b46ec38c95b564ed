"""`POST /slack/options`: Slack's options load URL. The `/pd trigger` form's service select is an
`external_select`; as a person types in it, Slack sends a signed `block_suggestion` and shows the options
answered within 3 seconds. The bridge asks PagerDuty (`GET /services?query=`) for the services whose name
holds what was typed, so every service in the account can be found, however many pages it has.

Listing a service is not permission to trigger on it: the submitted form is checked against the person's
teams exactly as `/pd trigger` is."""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any
from urllib.parse import parse_qs

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import Counter

from activities.errors import PagerDutyError
from api.routes import Unsigned, signed_slack_body
from api.trigger_modal import SERVICE_INPUT, service_options

log = logging.getLogger("bridge.api")
router = APIRouter()
OPTIONS = Counter("bridge_slack_options_total", "Options load requests (block_suggestion), by outcome", ["outcome"])
ANSWER_WITHIN = 2.0  # seconds; Slack shows "no results" after 3
MAX_QUERY = 100  # nobody types a longer service name


def _payload(body: bytes) -> dict[str, Any] | None:
    try:
        form = parse_qs(body.decode("utf-8"), strict_parsing=True)
        payload = json.loads(form["payload"][0])
    except (UnicodeDecodeError, ValueError, KeyError, RecursionError):
        return None
    return payload if isinstance(payload, dict) else None


def _answer(options: list[dict[str, Any]], outcome: str) -> JSONResponse:
    OPTIONS.labels(outcome).inc()
    return JSONResponse({"options": options})


@router.post("/slack/options")
async def slack_options(request: Request) -> Response:
    ctx = request.app.state.ctx
    body = await signed_slack_body(request)
    if isinstance(body, Unsigned):
        OPTIONS.labels(body.reason).inc()
        return JSONResponse({"error": body.message}, status_code=body.status)
    payload = _payload(body)
    if payload is None:
        OPTIONS.labels("malformed").inc()
        return JSONResponse({"error": "expected a form field 'payload' holding a JSON object"}, status_code=400)
    if payload.get("type") != "block_suggestion" or payload.get("action_id") != SERVICE_INPUT:
        return _answer([], "not_ours")
    typed = payload.get("value")
    query = " ".join(typed.split())[:MAX_QUERY] if isinstance(typed, str) else ""
    commands = getattr(ctx, "commands", None)
    if commands is None:
        return _answer([], "no_pagerduty")
    try:
        found = await asyncio.wait_for(commands.pd.find_services(query), ANSWER_WITHIN)
    except (PagerDutyError, TimeoutError) as exc:
        # Slack shows "no results"; the person can type again, or name the service in the command.
        log.warning("services for the trigger form not listed (query %r): %s", query, exc)
        return _answer([], "pagerduty_failed")
    except Exception:
        log.exception("services for the trigger form not listed (query %r)", query)
        return _answer([], "failed")
    return _answer(service_options(found), "answered")
