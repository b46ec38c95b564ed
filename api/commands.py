"""`POST /slack/commands`: the `/pd` slash command. Verified like the interactions, answered within Slack's
3 seconds; an answer that takes longer follows through the command's `response_url`."""

from __future__ import annotations

import asyncio
import logging
from urllib.parse import parse_qs

import aiohttp
import httpx
from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import Counter
from slack_sdk.errors import SlackApiError

from activities.errors import PagerDutyError, SlackError, SlackRateLimited
from api import command_text as ct
from api.command_handlers import USAGE, Commands, Invocation, Refusal, Reply, pagerduty_failed
from api.gateway import TemporalRejected, TemporalUnavailable
from api.notify import notify
from api.routes import Unsigned, _in_background, _tell, signed_slack_body
from api.trigger_modal import SERVICE_BLOCK, TITLE_BLOCK, TriggerSubmission, trigger_modal
from workflows.slack_text import escape

log = logging.getLogger("bridge.api")
router = APIRouter()
COMMANDS = Counter("bridge_slash_commands_total", "/pd commands received, by subcommand and outcome",
                   ["subcommand", "outcome"])
ANSWER_WITHIN = 2.0  # seconds; Slack gives up after 3


def _commands(request: Request) -> Commands | None:
    return getattr(request.app.state.ctx, "commands", None)


def _form(body: bytes) -> dict[str, str] | None:
    try:
        form = parse_qs(body.decode("utf-8"), keep_blank_values=True, strict_parsing=bool(body))
    except (UnicodeDecodeError, ValueError):
        return None
    return {key: values[-1] for key, values in form.items()}


@router.post("/slack/commands")
async def slash_command(request: Request) -> Response:
    body = await signed_slack_body(request)
    if isinstance(body, Unsigned):
        COMMANDS.labels("-", body.reason).inc()
        return JSONResponse({"error": body.message}, status_code=body.status)
    form = _form(body)
    if form is not None and form.get("ssl_check") == "1":
        return Response(status_code=200)
    if form is None or not form.get("user_id") or not form.get("channel_id"):
        COMMANDS.labels("-", "malformed").inc()
        return JSONResponse({"error": "expected a form-encoded slash command with user_id and channel_id"},
                            status_code=400)
    inv = Invocation(user=form["user_id"], channel=form["channel_id"], text=form.get("text", ""),
                     trigger_id=form.get("trigger_id") or None, response_url=form.get("response_url") or None)
    parsed = ct.parse(inv.text)
    name = type(parsed).__name__.lower()
    commands = _commands(request)
    if commands is None:
        return JSONResponse(Reply("The bridge has no PagerDuty API token (PAGERDUTY_API_TOKEN), so /pd cannot "
                                  "work yet; ask whoever runs the bridge.").payload())
    work = asyncio.create_task(_answer(commands, inv, parsed))
    try:
        reply = await asyncio.wait_for(asyncio.shield(work), ANSWER_WITHIN)
    except TimeoutError:
        # Slack would show an error after 3 s: say so now, and the answer follows through response_url.
        _in_background(_follow_up(work, form.get("response_url"), name))
        return JSONResponse(Reply("Asking PagerDuty… the answer follows here in a moment.").payload())
    COMMANDS.labels(name, "answered").inc()
    return JSONResponse(reply.payload()) if reply else Response(status_code=200)


async def _follow_up(work: asyncio.Task[Reply | None], response_url: str | None, name: str) -> None:
    reply = await work
    if reply is None or not response_url:
        return
    try:
        async with httpx.AsyncClient(timeout=10) as client:
            answer = await client.post(response_url, json=reply.payload())
        COMMANDS.labels(name, "answered_late" if answer.is_success else "response_url_refused").inc()
    except httpx.HTTPError as exc:
        COMMANDS.labels(name, "response_url_failed").inc()
        log.error("could not answer /pd through its response_url: %r", exc)


async def _answer(commands: Commands, inv: Invocation, parsed: ct.Request) -> Reply | None:
    """The reply to show the person, or None when a modal opened instead. Never raises."""
    try:
        return await _dispatch(commands, inv, parsed)
    except Refusal as refusal:
        return Reply(str(refusal))
    except PagerDutyError as exc:
        return Reply(pagerduty_failed(exc, isinstance(parsed, ct.Trigger)))
    except TemporalUnavailable:
        return Reply("The bridge could not take this action right now (its workflow engine is unreachable). "
                     "Nothing was sent to PagerDuty; try again in a minute or act in PagerDuty directly.")
    except TemporalRejected as exc:
        return Reply(f"The bridge cannot take this action ({exc}). Nothing was sent to PagerDuty.")
    except (SlackApiError, aiohttp.ClientError, TimeoutError) as exc:
        error = exc.response.get("error") if isinstance(exc, SlackApiError) else repr(exc)
        return Reply(f"Slack would not open the trigger form ({error}); nothing was sent to PagerDuty. Try "
                     '`/pd trigger <service> <title>` instead, e.g. `/pd trigger "payments api" Card payments down`.')
    except Exception:
        log.exception("/pd %s failed", type(parsed).__name__)
        return Reply("Something went wrong in the bridge; nothing was sent to PagerDuty. The bridge's log has "
                     "the details.")


async def _dispatch(commands: Commands, inv: Invocation, parsed: ct.Request) -> Reply | None:
    match parsed:
        case ct.Help():
            return Reply(USAGE)
        case ct.Invalid(message=message):
            return Reply(f"{message}\n{USAGE}")
        case ct.Mine():
            return await commands.mine(inv)
        case ct.OpenIncidents(service=service):
            return await commands.open_incidents(inv, service)
        case ct.OnCall(target=target):
            return await commands.oncall(inv, target)
        case ct.Act():
            return await commands.act(inv, parsed)
        case ct.Notify(on=on):
            return await notify(commands, inv.user, on)
        case ct.Trigger(service=str(service), title=str(title), urgency=urgency):
            return await commands.trigger(inv, service, title, urgency)
        case ct.Trigger():
            return await _open_trigger_modal(commands, inv, parsed)
    return Reply(USAGE)


async def _open_trigger_modal(commands: Commands, inv: Invocation, parsed: ct.Trigger) -> Reply | None:
    if not inv.trigger_id:
        return Reply("Slack sent no trigger_id, so the form cannot open; write "
                     "`/pd trigger <service> <title>` instead.")
    found = await commands.service(parsed.service) if parsed.service else None
    chosen = (str(found["id"]), str(found.get("name") or found["id"])) if found else None
    view = trigger_modal(inv.channel, chosen, parsed.title, parsed.urgency)
    await commands.slack.views_open(trigger_id=inv.trigger_id, view=view)
    return None


async def submit_trigger(request: Request, submission: TriggerSubmission) -> Response:
    """The modal's submission: checked at once (errors shown in the form), then triggered in the background."""
    commands = _commands(request)
    errors = {}
    if not submission.service_id:
        errors[SERVICE_BLOCK] = "Choose a service."
    if not submission.title:
        errors[TITLE_BLOCK] = "Say what is wrong."
    if errors:
        return JSONResponse({"response_action": "errors", "errors": errors})
    if commands is None:
        return JSONResponse({"response_action": "errors", "errors": {
            TITLE_BLOCK: "The bridge has no PagerDuty API token, so it cannot trigger incidents."}})
    _in_background(_trigger_from_modal(commands, submission))
    return Response(status_code=200)


async def _trigger_from_modal(commands: Commands, sub: TriggerSubmission) -> None:
    """Runs after Slack was answered: whatever fails here (Slack's users.info timing out or rate-limited,
    PagerDuty down, a bug) the person is told whether anything was sent, never left with silence."""
    try:
        person, teams = await commands.person(sub.slack_user)
        service = await commands.pd.get_service(str(sub.service_id))
        reply = await commands.trigger_on(sub.slack_user, person, teams, service, sub.title, sub.urgency)
        outcome = "answered"
    except Refusal as refusal:
        reply, outcome = Reply(str(refusal)), "refused"
    except PagerDutyError as exc:
        reply = Reply(pagerduty_failed(exc, True).replace("Run the same command again", "Submit the form again"))
        outcome = "pagerduty_failed"
    except Exception as exc:
        # Before PagerDuty's answer nothing is created; after it, trigger_on cannot fail. A retry is one incident.
        log.exception("the /pd trigger form of %s failed", sub.slack_user)
        reply = Reply(f"The bridge could not trigger “{escape(sub.title)}”: {_why(exc)}. Nothing was sent to "
                      "PagerDuty; submit the form again (it will not create a second incident).")
        outcome = "failed"
    COMMANDS.labels("trigger_modal", outcome).inc()
    await _tell(commands.slack, sub.channel, sub.slack_user, reply.text)


def _why(exc: Exception) -> str:
    if isinstance(exc, SlackRateLimited | SlackApiError):
        return "Slack asked it to slow down while it looked you up"
    if isinstance(exc, SlackError | aiohttp.ClientError | TimeoutError):
        return "Slack did not answer while it looked you up"
    return "something went wrong in the bridge (its log has the details)"
