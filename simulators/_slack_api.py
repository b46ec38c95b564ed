"""FastAPI routes of the Slack simulator: `/api/<method>`, the channel web page and `/_sim/*` controls."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs

import httpx
from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, PlainTextResponse

from simulators import channel_page
from simulators._slack_model import SlackError

if TYPE_CHECKING:
    from simulators.slack import SlackSimulator


async def _web_api_params(request: Request) -> dict[str, Any]:
    """Slack takes query args, form bodies and JSON bodies alike; slack_sdk uses all three."""
    params: dict[str, Any] = dict(request.query_params)
    body = await request.body()
    if not body:
        return params
    if "json" in request.headers.get("content-type", ""):
        try:
            data = json.loads(body)
        except ValueError:
            data = None
        if isinstance(data, dict):
            params.update(data)
        return params
    form = parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True)
    params.update({key: values[-1] for key, values in form.items()})
    return params


async def _json(request: Request) -> dict[str, Any]:
    try:
        data = await request.json()
    except ValueError:
        data = None
    return data if isinstance(data, dict) else {}


def _command_route(sim: SlackSimulator, app: FastAPI) -> None:
    @app.post("/_sim/command")
    async def command(request: Request) -> JSONResponse:
        sim.note_base_url(str(request.base_url))
        body = await _json(request)
        try:
            status, text = await sim.slash_command(
                str(body.get("user_id")), str(body.get("channel")), str(body.get("text") or ""),
                str(body.get("command") or "/pd"),
            )
        except SlackError as exc:
            return JSONResponse({"error": exc.error}, status_code=400)
        except (httpx.HTTPError, RuntimeError) as exc:
            return JSONResponse({"error": f"could not reach the bridge: {exc}"}, status_code=502)
        return JSONResponse({"status": status, "body": text})


def _control_routes(sim: SlackSimulator, app: FastAPI) -> None:
    @app.get("/_sim/state/{channel_id}")
    async def state(channel_id: str, user: str = "") -> JSONResponse:
        try:
            return JSONResponse(sim.page_state(channel_id, user))
        except SlackError as exc:
            return JSONResponse({"error": exc.error}, status_code=404)

    @app.post("/_sim/click")
    async def click(request: Request) -> JSONResponse:
        sim.note_base_url(str(request.base_url))
        body = await _json(request)
        try:
            status, text = await sim.click(
                str(body.get("channel")),
                str(body.get("ts")),
                str(body.get("action_id")),
                str(body.get("user_id")),
                selected_user=body.get("selected_user"),
                selected_option=body.get("selected_option"),
            )
        except (LookupError, ValueError, SlackError) as exc:
            return JSONResponse({"error": str(exc)}, status_code=400)
        except (httpx.HTTPError, RuntimeError) as exc:
            return JSONResponse({"error": f"could not reach the bridge: {exc}"}, status_code=502)
        return JSONResponse({"status": status, "body": text})

    @app.post("/_sim/submit")
    async def submit(request: Request) -> JSONResponse:
        body = await _json(request)
        try:
            status, text = await sim.submit_view(
                str(body.get("view_id")), str(body.get("user_id")), dict(body.get("values") or {})
            )
        except LookupError as exc:
            return JSONResponse({"error": str(exc)}, status_code=400)
        except (httpx.HTTPError, RuntimeError) as exc:
            return JSONResponse({"error": f"could not reach the bridge: {exc}"}, status_code=502)
        return JSONResponse({"status": status, "body": text})

    @app.post("/_sim/response/{response_id}")
    async def response_url(response_id: str, request: Request) -> PlainTextResponse:
        status, text = sim.respond(response_id, await _json(request))
        return PlainTextResponse(text, status_code=status)

    _limit_routes(sim, app)
    _suggest_route(sim, app)
    _close_route(sim, app)


def _suggest_route(sim: SlackSimulator, app: FastAPI) -> None:
    @app.post("/_sim/suggest")
    async def suggest(request: Request) -> JSONResponse:
        """The page's person typing in a modal's external_select: the options the bridge answered."""
        body = await _json(request)
        try:
            options = await sim.suggest(str(body.get("view_id")), str(body.get("user_id")),
                                        str(body.get("action_id")), str(body.get("value") or ""))
        except LookupError as exc:
            return JSONResponse({"error": str(exc)}, status_code=400)
        except httpx.HTTPError as exc:
            return JSONResponse({"error": f"could not reach the bridge: {exc}"}, status_code=502)
        return JSONResponse({"options": options})


def _close_route(sim: SlackSimulator, app: FastAPI) -> None:
    @app.post("/_sim/close")
    async def close(request: Request) -> JSONResponse:
        body = await _json(request)
        try:
            await sim.close_view(str(body.get("view_id")), str(body.get("user_id")))
        except LookupError as exc:
            return JSONResponse({"error": str(exc)}, status_code=400)
        except (httpx.HTTPError, RuntimeError) as exc:
            return JSONResponse({"error": f"could not reach the bridge: {exc}"}, status_code=502)
        return JSONResponse({"closed": True})


def _limit_routes(sim: SlackSimulator, app: FastAPI) -> None:
    @app.get("/_sim/limits")
    async def limits() -> JSONResponse:
        with sim.lock:
            enabled = sim.limiter.enabled
        return JSONResponse({"enabled": enabled, "counts": [c.to_api() for c in sim.call_counts()]})

    @app.post("/_sim/limits")
    async def set_limits(request: Request) -> JSONResponse:
        """`{"enabled": bool}` switches Slack's limits; `{"reset": true}` refills the buckets and zeroes counts."""
        body = await _json(request)
        with sim.lock:
            if "enabled" in body:
                sim.limiter.enabled = bool(body["enabled"])
            if body.get("reset"):
                sim.limiter.reset()
            enabled = sim.limiter.enabled
        return JSONResponse({"enabled": enabled})


def build_app(sim: SlackSimulator) -> FastAPI:
    app = FastAPI(openapi_url=None, docs_url=None, redoc_url=None)

    @app.api_route("/api/{method}", methods=["GET", "POST"])
    async def web_api(method: str, request: Request) -> JSONResponse:
        sim.note_base_url(str(request.base_url))
        params = await _web_api_params(request)
        auth = request.headers.get("authorization", "")
        token = auth[7:].strip() if auth.lower().startswith("bearer ") else params.pop("token", None)
        status, body, headers = sim.call(method, params, token)
        return JSONResponse(body, status_code=status, headers=headers)

    @app.get("/", response_class=HTMLResponse)
    async def index() -> str:
        with sim.lock:
            channels = [c.to_api() for c in sim.channels.values()]
            groups = sim.usergroup_view()
        return channel_page.render_index(channels, groups)

    @app.get("/_sim/usergroups")
    async def usergroup_list() -> JSONResponse:
        """Every user group and the names of who is in it now; the index page polls it."""
        with sim.lock:
            return JSONResponse({"usergroups": sim.usergroup_view()})

    @app.get("/_sim/channels")
    async def channel_list() -> JSONResponse:
        """Every channel, those created at run time included; the index page polls it."""
        with sim.lock:
            return JSONResponse({"channels": [c.to_api() for c in sim.channels.values()]})

    @app.get("/channels/{channel_id}", response_class=HTMLResponse)
    async def channel(channel_id: str, user: str = "") -> HTMLResponse:
        with sim.lock:
            if channel_id not in sim.channels:
                return HTMLResponse("<h1>No such channel</h1>", status_code=404)
            actor = user or next(iter(sim.users), "")
            initial = sim.page_state(channel_id, actor)
        return HTMLResponse(channel_page.render_channel(initial, actor))

    _control_routes(sim, app)
    _command_route(sim, app)
    return app
