"""`/_sim/*` control endpoints of the PagerDuty simulator (no auth): knobs, flush, "web UI" actions, faults."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from fastapi import APIRouter, Request

from simulators._pd_model import PDError

if TYPE_CHECKING:
    from simulators.pagerduty import PagerDutySimulator

KNOBS = (
    "webhook_delay_seconds",
    "duplicate_deliveries",
    "reorder",
    "paused",
    "webhook_url",
    "retry_initial_delay",
    "retry_max_delay",
    "retry_max_attempts",
)


async def json_body(request: Request) -> dict[str, Any]:
    try:
        data = await request.json()
    except ValueError:
        data = None
    if not isinstance(data, dict):
        raise PDError(400, 2001, "Invalid Input Provided", ["The request body must be a JSON object"])
    return data


def _act(sim: PagerDutySimulator, body: dict[str, Any]) -> None:
    """`POST /_sim/act`: a person using the PagerDuty web UI."""
    inc, user, action = str(body["incident_id"]), str(body.get("user_id", "")), body["action"]
    match action:
        case "acknowledge":
            sim.acknowledge(inc, user)
        case "unacknowledge":
            sim.unacknowledge(inc)
        case "resolve":
            sim.resolve(inc, user, body.get("resolution"))
        case "reassign":
            sim.reassign(inc, user, list(body["to_user_ids"]))
        case "escalate":
            sim.escalate(inc, user, int(body["level"]))
        case "add_note":
            sim.add_note(inc, user, str(body["content"]))
        case "publish_status_update":
            sim.publish_status_update(inc, user, str(body["message"]))
        case "reopen":
            sim.reopen(inc, user)
        case "add_responder":
            sim.add_responder(inc, user, str(body["responder_user_id"]), str(body.get("message", "")))
        case "end_snooze":
            sim.end_snooze(inc)
        case "set_priority":
            sim.set_priority(inc, user, body.get("name"))
        case _:
            raise PDError(400, 2001, "Invalid Input Provided", [f"unknown action {action!r}"])


def _subscription_controls(sim: PagerDutySimulator, ctl: APIRouter) -> None:
    @ctl.post("/subscriptions/{sub_id}/disable")
    async def disable_subscription(sub_id: str, request: Request) -> dict[str, Any]:
        """`{"temporarily": false}` sets `active: false`; the default is PagerDuty's own disablement."""
        body = await json_body(request) if await request.body() else {}
        sim.disable_subscription(sub_id, temporarily=bool(body.get("temporarily", True)))
        return {"webhook_subscriptions": sim.subscription_list()}


def _hold_control(sim: PagerDutySimulator, ctl: APIRouter) -> None:
    @ctl.post("/hold")
    async def hold(request: Request) -> dict[str, Any]:
        """`{"incident_id": ..., "hold": true|false}`: hold back or release one incident's webhooks."""
        body = await json_body(request)
        incident_id = str(body["incident_id"])
        if body.get("hold", True):
            sim.hold_incident(incident_id)
            return {"held": sim.held_for(incident_id)}
        return {"released": sim.release_incident(incident_id)}


def _credential_controls(sim: PagerDutySimulator, ctl: APIRouter) -> None:
    @ctl.post("/oauth/expire")
    async def expire() -> dict[str, Any]:
        """Every app token issued so far expires now: the next request with one gets 401."""
        return {"expired": sim.expire_tokens()}

    @ctl.post("/oauth/scopes")
    async def scopes(request: Request) -> dict[str, Any]:
        """`{"scopes": [...]}`: the app's scopes, as an admin edits them in PagerDuty."""
        sim.set_app_scopes([str(s) for s in (await json_body(request)).get("scopes") or []])
        return {"scopes": sorted(sim.app_scopes)}

    @ctl.post("/rate_limit")
    async def rate_limit(request: Request) -> dict[str, Any]:
        """`{"limit": 960, "window_seconds": 60}` enforces PagerDuty's limit; `{"limit": null}` lifts it."""
        body = await json_body(request)
        limit = body.get("limit")
        sim.rate_limit = (int(limit), float(body.get("window_seconds", 60))) if limit else None
        return {"rate_limit": sim.rate_limit, "rate_limited": sim.rate_limited}


def control_routes(sim: PagerDutySimulator) -> APIRouter:
    ctl = APIRouter(prefix="/_sim")
    _subscription_controls(sim, ctl)
    _hold_control(sim, ctl)
    _credential_controls(sim, ctl)

    @ctl.post("/config")
    async def config(request: Request) -> dict[str, Any]:
        body = await json_body(request)
        for key in KNOBS:
            if key in body:
                setattr(sim, key, body[key])
        if "drop_next_webhooks" in body:
            sim.drop_next_webhooks(int(body["drop_next_webhooks"]))
        return {key: getattr(sim, key) for key in KNOBS}

    @ctl.post("/flush")
    async def flush() -> dict[str, Any]:
        return {"released": sim.flush()}

    @ctl.post("/act")
    async def act(request: Request) -> dict[str, Any]:
        body = await json_body(request)
        try:
            _act(sim, body)
        except KeyError as exc:
            raise PDError(400, 2003, "Missing Arguments", [str(exc)]) from exc
        with sim.lock:
            return {"incident": sim.incident_resource(sim.incident(str(body["incident_id"])))}

    @ctl.post("/trigger")
    async def trigger(request: Request) -> dict[str, Any]:
        body = await json_body(request)
        incident_id = sim.trigger(
            str(body["service_id"]),
            str(body.get("title", "Simulated incident")),
            str(body.get("urgency", "high")),
            webhooks=bool(body.get("webhooks", True)),
        )
        with sim.lock:
            return {"incident": sim.incident_resource(sim.incident(incident_id))}

    @ctl.post("/fail")
    async def fail(request: Request) -> dict[str, Any]:
        body = await json_body(request)
        sim.fail(
            str(body["path_prefix"]),
            int(body["status"]),
            body.get("count"),
            body.get("seconds"),
            body.get("headers"),
            body.get("body"),
            body.get("method"),
        )
        return {"ok": True}

    @ctl.post("/clear_faults")
    async def clear_faults() -> dict[str, Any]:
        sim.clear_faults()
        return {"ok": True}

    @ctl.get("/state")
    async def state() -> dict[str, Any]:
        with sim.lock:
            incidents = [
                {**sim.incident_resource(i), "escalation_level": i.escalation_level} for i in sim.incidents.values()
            ]
            deliveries = [
                {
                    "event_id": d.event_id,
                    "event_type": d.event_type,
                    "result": d.result,
                    "outcome": d.outcome,
                    "attempt": d.attempt,
                }
                for d in sim.deliveries
            ]
        return {"incidents": incidents, "deliveries": deliveries, "held": sim.held_count}

    return ctl
