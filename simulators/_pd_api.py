"""FastAPI routes of the PagerDuty simulator: the REST API v2 subset (controls are in `_pd_control`)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs

from fastapi import APIRouter, Depends, FastAPI, Request, Response
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from simulators._http import RecordingMiddleware
from simulators._pd_control import control_routes, json_body
from simulators._pd_model import Incident, PDError, not_found, now_iso
from simulators._pd_oauth import OAuthRefusal
from simulators._pd_schedules import parse_time
from simulators._pd_status import status_update_routes

if TYPE_CHECKING:
    from simulators.pagerduty import PagerDutySimulator

FROM_MISSING = 'You must specify a user\'s email address in the "From" header to perform this action'


def _page(request: Request, key: str, items: list[dict[str, Any]]) -> dict[str, Any]:
    limit = min(int(request.query_params.get("limit", 25)), 100)
    offset = int(request.query_params.get("offset", 0))
    return {
        key: items[offset : offset + limit],
        "limit": limit,
        "offset": offset,
        "more": offset + limit < len(items),
        "total": None,
    }


def _incident_routes(sim: PagerDutySimulator, api: APIRouter, requester: Callable[[Request], str]) -> None:
    _create_route(sim, api, requester)

    @api.get("/incidents/{incident_id}")
    async def get_incident(incident_id: str) -> dict[str, Any]:
        with sim.lock:
            return {"incident": sim.incident_resource(sim.incident(incident_id))}

    @api.put("/incidents/{incident_id}")
    async def put_incident(incident_id: str, request: Request) -> dict[str, Any]:
        user_id = requester(request)
        changes = (await json_body(request)).get("incident")
        if not isinstance(changes, dict):
            raise PDError(400, 2001, "Invalid Input Provided", ["incident is required"])
        with sim.via_api():
            return {"incident": sim.incident_resource(sim.update_incident(incident_id, user_id, changes))}


def _snooze_route(sim: PagerDutySimulator, api: APIRouter, requester: Callable[[Request], str]) -> None:
    @api.post("/incidents/{incident_id}/snooze", status_code=201)
    async def snooze(incident_id: str, request: Request) -> dict[str, Any]:
        user_id = requester(request)
        seconds = (await json_body(request)).get("duration")
        with sim.via_api():
            return {"incident": sim.incident_resource(sim.snooze(incident_id, user_id, seconds))}


def _incident_record_routes(sim: PagerDutySimulator, api: APIRouter, requester: Callable[[Request], str]) -> None:
    """Notes, log entries and responder requests: what was added to an incident and what happened to it."""

    @api.get("/incidents/{incident_id}/notes")
    async def list_notes(incident_id: str) -> dict[str, Any]:
        with sim.lock:
            return {"notes": [sim.note_resource(n) for n in sim.incident(incident_id).notes]}

    @api.get("/incidents/{incident_id}/log_entries")
    async def log_entries(incident_id: str, request: Request) -> dict[str, Any]:
        overview = request.query_params.get("is_overview", "false").lower() == "true"
        with sim.lock:
            items = sim.log_entries(sim.incident(incident_id), overview=overview)
        return _page(request, "log_entries", items)

    @api.post("/incidents/{incident_id}/notes", status_code=201)
    async def post_note(incident_id: str, request: Request) -> dict[str, Any]:
        user_id = requester(request)
        content = ((await json_body(request)).get("note") or {}).get("content")
        if not isinstance(content, str) or not content:
            raise PDError(400, 2001, "Invalid Input Provided", ["Note content is required"])
        with sim.via_api():
            return {"note": sim.note_resource(sim.add_note(incident_id, user_id, content))}

    @api.post("/incidents/{incident_id}/responder_requests")
    async def responder_requests(incident_id: str, request: Request) -> dict[str, Any]:
        body = await json_body(request)
        requester_id = str(body.get("requester_id") or "")
        if not requester_id:
            raise PDError(400, 2011, "requester_id required")
        targets = [t.get("responder_request_target", t) for t in body.get("responder_request_targets") or []]
        if not targets or any(t.get("type") != "user_reference" for t in targets):
            raise PDError(400, 2001, "Invalid Input Provided", ["only user_reference targets are simulated"])
        message = str(body.get("message", ""))
        with sim.via_api():
            for target in targets:
                sim.add_responder(incident_id, requester_id, str(target.get("id")), message)
            inc = sim.incident(incident_id)
            return {
                "responder_request": {
                    "incident": sim.incident_ref(inc),
                    "requester": sim.user_ref(requester_id),
                    "requested_at": now_iso(),
                    "message": message,
                    "responder_request_targets": [
                        {"responder_request_target": sim.user_ref(str(t.get("id")))} for t in targets
                    ],
                }
            }


def _create_route(sim: PagerDutySimulator, api: APIRouter, requester: Callable[[Request], str]) -> None:
    @api.get("/incidents")
    async def list_incidents(request: Request) -> dict[str, Any]:
        params = request.query_params
        statuses, services = params.getlist("statuses[]"), params.getlist("service_ids[]")
        users, key = set(params.getlist("user_ids[]")), params.get("incident_key")

        def wanted(i: Incident) -> bool:
            return (not statuses or i.status in statuses) and (not services or i.service_id in services)

        with sim.lock:
            found = [
                i
                for i in sim.incidents.values()
                if wanted(i) and (not users or users & set(i.assignee_ids)) and key in (None, i.incident_key)
            ]
            if params.get("sort_by", "").startswith("created_at:desc"):
                found.sort(key=lambda i: i.number, reverse=True)
            items = [sim.incident_resource(i) for i in found]
        return _page(request, "incidents", items)

    @api.post("/incidents", status_code=201)
    async def create_incident(request: Request) -> dict[str, Any]:
        user_id = requester(request)
        body = (await json_body(request)).get("incident")
        if not isinstance(body, dict) or not body.get("title") or not isinstance(body.get("service"), dict):
            raise PDError(400, 2001, "Invalid Input Provided", ["incident.title and incident.service are required"])
        urgency = body.get("urgency") or "high"
        if urgency not in ("high", "low"):
            raise PDError(400, 2001, "Invalid Input Provided", ["urgency must be high or low"])
        with sim.via_api():
            incident_id = sim.create_incident(
                str(body["service"].get("id")), str(body["title"]), urgency, body.get("incident_key"), user_id
            )
            return {"incident": sim.incident_resource(sim.incident(incident_id))}



def _directory_routes(sim: PagerDutySimulator, api: APIRouter) -> None:
    @api.get("/users")
    async def list_users(request: Request) -> dict[str, Any]:
        query = request.query_params.get("query", "").lower()
        expand = "teams" in request.query_params.getlist("include[]")
        team_ids = set(request.query_params.getlist("team_ids[]"))
        with sim.lock:
            items = [
                sim.user_resource(u, expand_teams=expand)
                for u in sim.users.values()
                if (query in u.name.lower() or query in u.email.lower())
                and (not team_ids or team_ids & set(u.team_ids))
            ]
        return _page(request, "users", items)

    @api.get("/users/me")
    async def me() -> dict[str, Any]:
        # Account-level tokens have no user behind them, so PagerDuty refuses /users/me.
        raise PDError(
            400,
            2001,
            "Invalid Input Provided",
            [
                "Because this request was made using an account-level access token, we were unable to determine "
                "the user's identity. Please use a user-level access token."
            ],
        )

    @api.get("/users/{user_id}")
    async def get_user(user_id: str, request: Request) -> dict[str, Any]:
        expand = "teams" in request.query_params.getlist("include[]")
        with sim.lock:
            return {"user": sim.user_resource(sim.user(user_id), expand_teams=expand)}


def _org_routes(sim: PagerDutySimulator, api: APIRouter) -> None:
    @api.get("/teams")
    async def list_teams(request: Request) -> dict[str, Any]:
        query = request.query_params.get("query", "").lower()
        with sim.lock:
            items = [sim.team_resource(t) for t in sim.teams.values() if query in t.name.lower()]
        return _page(request, "teams", items)

    @api.get("/teams/{team_id}")
    async def get_team(team_id: str) -> dict[str, Any]:
        with sim.lock:
            if team_id not in sim.teams:
                raise not_found()
            return {"team": sim.team_resource(sim.teams[team_id])}

    @api.get("/teams/{team_id}/members")
    async def team_members(team_id: str, request: Request) -> dict[str, Any]:
        with sim.lock:
            if team_id not in sim.teams:
                raise not_found()
            items = [
                {"user": sim.user_ref(u.id), "role": "responder"} for u in sim.users.values() if team_id in u.team_ids
            ]
        return _page(request, "members", items)

    @api.get("/services")
    async def list_services(request: Request) -> dict[str, Any]:
        query = request.query_params.get("query", "").lower()
        teams = set(request.query_params.getlist("team_ids[]"))
        with sim.lock:
            items = [sim.service_resource(v) for v in sim.services.values()
                     if query in v.name.lower() and (not teams or teams & set(v.team_ids))]
        return _page(request, "services", items)

    @api.get("/escalation_policies")
    async def list_eps(request: Request) -> dict[str, Any]:
        query = request.query_params.get("query", "").lower()
        with sim.lock:
            items = [sim.ep_resource(e) for e in sim.escalation_policies.values() if query in e.name.lower()]
        return _page(request, "escalation_policies", items)

    @api.get("/services/{service_id}")
    async def get_service(service_id: str) -> dict[str, Any]:
        with sim.lock:
            if service_id not in sim.services:
                raise not_found()
            return {"service": sim.service_resource(sim.services[service_id])}

    @api.get("/escalation_policies/{ep_id}")
    async def get_ep(ep_id: str) -> dict[str, Any]:
        with sim.lock:
            if ep_id not in sim.escalation_policies:
                raise not_found()
            return {"escalation_policy": sim.ep_resource(sim.escalation_policies[ep_id])}


def _oncall_routes(sim: PagerDutySimulator, api: APIRouter) -> None:
    @api.get("/oncalls")
    async def oncalls(request: Request) -> dict[str, Any]:
        params = request.query_params
        with sim.lock:
            if schedule_ids := params.getlist("schedule_ids[]"):
                since = parse_time(params.get("since"), datetime.now(UTC))
                items = sim.schedule_oncalls(schedule_ids, since, parse_time(params.get("until"), since))
            else:
                items = sim.oncalls(params.getlist("escalation_policy_ids[]"), params.getlist("user_ids[]"))
            if "users" in params.getlist("include[]"):
                items = [{**e, "user": sim.user_resource(sim.user(e["user"]["id"]))} for e in items]
        return _page(request, "oncalls", items)

    @api.get("/priorities")
    async def priorities(request: Request) -> dict[str, Any]:
        with sim.lock:
            items = [sim.priority_resource(p) for p in sorted(sim.priorities.values(), key=lambda p: p.order)]
        return _page(request, "priorities", items)

    @api.get("/abilities")
    async def abilities() -> dict[str, Any]:
        return {"abilities": list(sim.abilities)}

    @api.get("/abilities/{name}")
    async def ability(name: str) -> Response:
        if name in sim.abilities:
            return Response(status_code=204)
        return JSONResponse(PDError(402, 2014, "Missing Account Ability").body(), status_code=402)


def _subscription_routes(sim: PagerDutySimulator, api: APIRouter) -> None:
    def one(sub_id: str) -> dict[str, Any]:
        found = next((s for s in sim.subscription_list() if s["id"] == sub_id), None)
        if found is None:
            raise not_found()
        return found

    @api.post("/webhook_subscriptions", status_code=201)
    async def create(request: Request) -> dict[str, Any]:
        body = (await json_body(request)).get("webhook_subscription")
        if not isinstance(body, dict):
            raise PDError(400, 2001, "Invalid Input Provided", ["webhook_subscription is required"])
        return {"webhook_subscription": sim.create_subscription(body)}

    @api.get("/webhook_subscriptions")
    async def list_subs(request: Request) -> dict[str, Any]:
        return _page(request, "webhook_subscriptions", sim.subscription_list())

    @api.get("/webhook_subscriptions/{sub_id}")
    async def get_sub(sub_id: str) -> dict[str, Any]:
        return {"webhook_subscription": one(sub_id)}

    @api.post("/webhook_subscriptions/{sub_id}/enable")
    async def enable(sub_id: str) -> dict[str, Any]:
        return {"webhook_subscription": sim.enable_subscription(sub_id)}

    @api.delete("/webhook_subscriptions/{sub_id}", status_code=204)
    async def delete_sub(sub_id: str) -> Response:
        sim.delete_subscription(sub_id)
        return Response(status_code=204)


def build_app(sim: PagerDutySimulator) -> FastAPI:
    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        yield
        sim.close()  # stop the webhook delivery thread with the server, so nothing outlives a test

    app = FastAPI(lifespan=lifespan, openapi_url=None, docs_url=None, redoc_url=None)
    app.add_middleware(RecordingMiddleware, faults=sim.faults, record=sim.record)

    @app.exception_handler(PDError)
    async def pd_error(_: Request, exc: PDError) -> JSONResponse:
        return JSONResponse(exc.body(), status_code=exc.status, headers=exc.headers)

    @app.post("/oauth/token")
    async def token(request: Request) -> JSONResponse:
        form = {k: v[-1] for k, v in parse_qs((await request.body()).decode("utf-8", "replace")).items()}
        try:
            return JSONResponse(sim.issue_token(form))
        except OAuthRefusal as exc:
            return JSONResponse(exc.body(), status_code=exc.status)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        if exc.status_code == 404:
            return JSONResponse(not_found().body(), status_code=404)
        return JSONResponse({"error": {"message": str(exc.detail), "code": 2001}}, status_code=exc.status_code)

    async def authenticate(request: Request) -> None:
        sim.authorize(request.headers.get("authorization", ""), request.method, request.url.path)

    def requester(request: Request) -> str:
        email = request.headers.get("from", "").strip()
        if not email:
            raise PDError(400, 2016, FROM_MISSING)
        user = sim.user_by_email(email)
        if user is None:
            raise PDError(400, 1008, "Requester User Not Found")
        return user.id

    api = APIRouter(dependencies=[Depends(authenticate)])
    _incident_routes(sim, api, requester)
    _incident_record_routes(sim, api, requester)
    _snooze_route(sim, api, requester)
    status_update_routes(sim, api, requester)
    _directory_routes(sim, api)
    _org_routes(sim, api)
    _oncall_routes(sim, api)
    _subscription_routes(sim, api)
    app.include_router(api)
    app.include_router(control_routes(sim))
    return app
