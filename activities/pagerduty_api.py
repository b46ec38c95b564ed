"""A small async client for the PagerDuty REST API v2: the calls the bridge makes, errors classified.

Shared by the activities, the doctor and the webhook-subscription command; it holds no state besides
its `httpx.AsyncClient`.
"""

from __future__ import annotations

import time
from datetime import datetime
from typing import Any

import httpx

from activities.errors import (
    PagerDutyAuthError,
    PagerDutyNoAnswer,
    PagerDutyRateLimited,
    PagerDutyScopeMissing,
    pagerduty_error,
)
from activities.metrics import PD_CALLS
from activities.pagerduty_auth import ApiKey, Credentials
from activities.pagerduty_pace import WORKER_RATE, Pace
from activities.pagerduty_scopes import scope_for
from workflows.models import Ref, Snapshot, Status

ACCEPT = "application/vnd.pagerduty+json;version=2"
INCIDENT_EVENTS = [
    "incident.triggered", "incident.acknowledged", "incident.unacknowledged", "incident.resolved",
    "incident.reopened", "incident.escalated", "incident.reassigned", "incident.delegated",
    "incident.priority_updated", "incident.annotated", "incident.responder.added",
    "incident.responder.replied", "incident.status_update_published",
]


def ref(data: Any) -> Ref | None:
    if not isinstance(data, dict) or not data.get("id"):
        return None
    return Ref(id=str(data["id"]), summary=str(data.get("summary") or data.get("name") or ""))


def _refs(items: Any) -> list[Ref]:
    refs = (ref(item) for item in items) if isinstance(items, list) else iter(())
    return [r for r in refs if r is not None]


def snapshot(data: dict[str, Any]) -> Snapshot:
    """An incident from a REST response (`incident_number`, `assignments`) or webhook data (`number`, `assignees`)."""
    assignees = _refs(data.get("assignees"))
    if not assignees and isinstance(data.get("assignments"), list):
        assignees = _refs([a.get("assignee") for a in data["assignments"] if isinstance(a, dict)])
    priority = data.get("priority")
    status = str(data.get("status") or "")
    return Snapshot(
        id=str(data["id"]),
        number=data.get("number") or data.get("incident_number"),
        title=str(data.get("title") or data.get("summary") or ""),
        html_url=str(data.get("html_url") or ""),
        status=Status(status) if status in Status.__members__.values() else Status.TRIGGERED,
        urgency=str(data.get("urgency") or ""),
        priority=str(priority.get("summary") or priority.get("name")) if isinstance(priority, dict) else None,
        priority_id=str(priority["id"]) if isinstance(priority, dict) and priority.get("id") else None,
        service=ref(data.get("service")),
        escalation_policy=ref(data.get("escalation_policy")),
        teams=_refs(data.get("teams")),
        assignees=assignees,
    )


def _seconds(value: str | None) -> float:
    """PagerDuty's `ratelimit-reset` (seconds); a 429 without it waits a second."""
    try:
        return min(max(float(value or 1), 0.5), 60.0)
    except ValueError:
        return 1.0


def parse_time(value: Any) -> datetime | None:
    try:
        return datetime.fromisoformat(str(value).replace("Z", "+00:00")) if value else None
    except ValueError:
        return None


def status_changed_at(data: dict[str, Any]) -> datetime | None:
    return parse_time(data.get("last_status_change_at") or data.get("created_at"))


class PagerDutyApi:
    """`credentials`: an API key (a string) or `activities.pagerduty_auth` credentials; `pace`: the process's
    share of PagerDuty's rate limit, shared by every client of the process that uses the same credentials."""

    def __init__(self, http: httpx.AsyncClient, credentials: str | Credentials, pace: Pace | None = None) -> None:
        self._http = http
        self.credentials: Credentials = ApiKey(credentials) if isinstance(credentials, str) else credentials
        self.pace = pace or Pace(WORKER_RATE)

    async def _call(self, method: str, path: str, what: str, *, actor_email: str | None = None,
                    params: Any = None, body: Any = None) -> Any:
        renewed, waited = False, 0.0
        while True:
            waited += await self.pace.slot(what)
            authorization = await self.credentials.authorization()
            response = await self._send(method, path, what, authorization, actor_email, params, body)
            if response.status_code == 401 and not renewed and await self.credentials.rejected(authorization):
                renewed = True  # a token that expired early or was revoked: once more with a new one
                continue
            if (response.status_code == 403 and not renewed and self.credentials.lacks(scope_for(method, path))
                    and await self.credentials.regrant(authorization)):
                renewed = True  # the scope may have been given to the app since the token was fetched
                continue
            if response.status_code == 429:
                # Nothing was done: wait out PagerDuty's window (every request of the process waits with it).
                reset = _seconds(response.headers.get("ratelimit-reset") or response.headers.get("retry-after"))
                self.pace.hold(reset)
                if waited + reset <= self.pace.max_wait:
                    continue
                raise PagerDutyRateLimited(f"{what}: PagerDuty rate limit reached", retry_after=reset, code=2020)
            break
        try:
            payload = response.json() if response.content else {}
        except ValueError:
            payload = {}
        if response.is_success:
            return payload
        if response.status_code == 403 and self.credentials.lacks(scope := scope_for(method, path)):
            raise PagerDutyScopeMissing.for_scope(what, scope)
        if response.status_code == 401 and self.credentials.kind == "oauth_app":
            raise PagerDutyAuthError(f"{what}: PagerDuty rejected the app's token (401) even after a new one was "
                                     "fetched: check that the app still exists in PagerDuty", code=401)
        raise pagerduty_error(response.status_code, response.headers, payload, what)

    async def _send(self, method: str, path: str, what: str, authorization: str, actor_email: str | None,
                    params: Any, body: Any) -> httpx.Response:
        headers = {"Authorization": authorization, "Accept": ACCEPT}
        if actor_email:
            headers["From"] = actor_email
        started = time.monotonic()
        try:
            response = await self._http.request(method, path, params=params, json=body, headers=headers)
        except httpx.TimeoutException:
            PD_CALLS.labels(what, "timeout").observe(time.monotonic() - started)
            raise PagerDutyNoAnswer(f"{what}: PagerDuty API timed out") from None
        except httpx.TransportError as exc:
            PD_CALLS.labels(what, "unreachable").observe(time.monotonic() - started)
            raise PagerDutyNoAnswer(f"{what}: PagerDuty API unreachable ({type(exc).__name__})") from None
        PD_CALLS.labels(what, str(response.status_code)).observe(time.monotonic() - started)
        return response

    async def get_incident(self, incident_id: str) -> dict[str, Any]:
        data = await self._call("GET", f"/incidents/{incident_id}", "read incident")
        return dict(data["incident"])

    async def update_incident(self, incident_id: str, fields: dict[str, Any], actor_email: str) -> dict[str, Any]:
        body = {"incident": {"type": "incident_reference", **fields}}
        data = await self._call("PUT", f"/incidents/{incident_id}", "update incident", actor_email=actor_email,
                                body=body)
        return dict(data.get("incident") or {})

    async def snooze(self, incident_id: str, seconds: int, actor_email: str) -> dict[str, Any]:
        data = await self._call("POST", f"/incidents/{incident_id}/snooze", "snooze incident",
                                actor_email=actor_email, body={"duration": seconds})
        return dict(data.get("incident") or {})

    async def request_responder(self, incident_id: str, requester_id: str, target_id: str, message: str,
                                actor_email: str) -> dict[str, Any]:
        body = {"requester_id": requester_id, "message": message, "responder_request_targets": [
            {"responder_request_target": {"id": target_id, "type": "user_reference"}}]}
        data = await self._call("POST", f"/incidents/{incident_id}/responder_requests", "request responder",
                                actor_email=actor_email, body=body)
        return dict(data.get("responder_request") or {})

    async def list_priorities(self) -> list[dict[str, Any]]:
        data = await self._call("GET", "/priorities", "list priorities", params={"limit": 100})
        return list(data.get("priorities") or [])

    async def list_notes(self, incident_id: str) -> list[dict[str, Any]]:
        data = await self._call("GET", f"/incidents/{incident_id}/notes", "list notes")
        return list(data.get("notes") or [])

    async def list_log_entries(self, incident_id: str, max_pages: int = 20) -> list[dict[str, Any]]:
        """The incident's log entries in the order PagerDuty lists them, every page (up to `max_pages`)."""
        entries: list[dict[str, Any]] = []
        for page in range(max_pages):
            data = await self._call("GET", f"/incidents/{incident_id}/log_entries", "list log entries",
                                    params={"limit": 100, "offset": page * 100})
            entries += list(data.get("log_entries") or [])
            if not data.get("more"):
                break
        return entries

    async def create_note(self, incident_id: str, content: str, actor_email: str) -> dict[str, Any]:
        data = await self._call("POST", f"/incidents/{incident_id}/notes", "add note", actor_email=actor_email,
                                body={"note": {"content": content}})
        return dict(data.get("note") or {})

    async def create_status_update(self, incident_id: str, message: str, actor_email: str) -> dict[str, Any]:
        data = await self._call("POST", f"/incidents/{incident_id}/status_updates", "post status update",
                                actor_email=actor_email, body={"message": message})
        return dict(data.get("status_update") or {})

    async def set_conference_url(self, incident_id: str, url: str, actor_email: str | None) -> dict[str, Any]:
        """The incident's conference bridge link (`From` the person it is credited to, when there is one)."""
        body = {"incident": {"type": "incident_reference", "conference_bridge": {"conference_url": url}}}
        data = await self._call("PUT", f"/incidents/{incident_id}", "set conference link", actor_email=actor_email,
                                body=body)
        return dict(data.get("incident") or {})

    async def find_user_by_email(self, email: str) -> dict[str, Any] | None:
        """Exact, case-insensitive email match; PagerDuty's `query` is only a substring filter."""
        data = await self._call("GET", "/users", "find user", params={"query": email, "include[]": "teams",
                                                                      "limit": 100})
        wanted = email.strip().lower()
        for user in data.get("users") or []:
            if str(user.get("email", "")).strip().lower() == wanted:
                return dict(user)
        return None

    async def get_user(self, user_id: str) -> dict[str, Any]:
        data = await self._call("GET", f"/users/{user_id}", "read user", params={"include[]": "teams"})
        return dict(data["user"])

    async def get_service(self, service_id: str) -> dict[str, Any]:
        data = await self._call("GET", f"/services/{service_id}", "read service")
        return dict(data["service"])

    async def get_escalation_policy(self, policy_id: str) -> dict[str, Any]:
        data = await self._call("GET", f"/escalation_policies/{policy_id}", "read escalation policy")
        return dict(data["escalation_policy"])

    async def list_oncalls(self, policy_id: str) -> list[dict[str, Any]]:
        data = await self._call("GET", "/oncalls", "list on-calls",
                                params={"escalation_policy_ids[]": policy_id, "limit": 100})
        return list(data.get("oncalls") or [])

    async def oncalls_between(self, params: list[tuple[str, str | int]]) -> list[dict[str, Any]]:
        """`GET /oncalls` with the given filters (schedule or policy, `since`, `until`), every page."""
        found: list[dict[str, Any]] = []
        while True:
            data = await self._call("GET", "/oncalls", "list on-calls",
                                    params=[*params, ("limit", 100), ("offset", len(found))])
            found += list(data.get("oncalls") or [])
            if not data.get("more") or not data.get("oncalls") or len(found) >= 1000:
                return found

    async def abilities(self) -> list[str]:
        data = await self._call("GET", "/abilities", "list abilities")
        return [str(a) for a in data.get("abilities") or []]

    async def list_incidents(self, limit: int = 1) -> list[dict[str, Any]]:
        data = await self._call("GET", "/incidents", "list incidents", params={"limit": limit})
        return list(data.get("incidents") or [])

    async def find_incidents(self, *, user_ids: list[str] | None = None, service_ids: list[str] | None = None,
                             statuses: list[str] | None = None, incident_key: str | None = None,
                             limit: int = 25) -> list[dict[str, Any]]:
        """Incidents matching every given filter, newest first (one page: the commands show a short list)."""
        params: list[tuple[str, str | int]] = [("limit", limit), ("sort_by", "created_at:desc")]
        params += [("user_ids[]", u) for u in user_ids or []]
        params += [("service_ids[]", s) for s in service_ids or []]
        params += [("statuses[]", s) for s in statuses or []]
        if incident_key:
            params.append(("incident_key", incident_key))
        data = await self._call("GET", "/incidents", "find incidents", params=params)
        return list(data.get("incidents") or [])

    async def find_services(self, query: str = "", limit: int = 100) -> list[dict[str, Any]]:
        """Services whose name contains `query` (PagerDuty's filter); all services when it is empty."""
        params: dict[str, str | int] = {"limit": limit}
        if query:
            params["query"] = query
        data = await self._call("GET", "/services", "find services", params=params)
        return list(data.get("services") or [])

    async def team_service_ids(self, team_ids: list[str]) -> set[str]:
        """The ids of every service of these teams, page by page (what a team-scoped subscription covers)."""
        found: set[str] = set()
        more, offset = bool(team_ids), 0
        while more:
            params = [("limit", 100), ("offset", offset), *(("team_ids[]", t) for t in team_ids)]
            data = await self._call("GET", "/services", "list team services", params=params)
            page = list(data.get("services") or [])
            found |= {str(s["id"]) for s in page if isinstance(s, dict) and s.get("id")}
            more, offset = bool(data.get("more")) and bool(page), offset + len(page)
        return found

    async def find_escalation_policies(self, query: str) -> list[dict[str, Any]]:
        data = await self._call("GET", "/escalation_policies", "find escalation policies",
                                params={"query": query, "limit": 100})
        return list(data.get("escalation_policies") or [])

    async def create_incident(self, service_id: str, title: str, urgency: str, incident_key: str,
                              actor_email: str) -> dict[str, Any]:
        body = {"incident": {"type": "incident", "title": title, "urgency": urgency, "incident_key": incident_key,
                             "service": {"id": service_id, "type": "service_reference"}}}
        data = await self._call("POST", "/incidents", "create incident", actor_email=actor_email, body=body)
        return dict(data["incident"])

    async def create_webhook_subscription(self, url: str, filter_type: str, filter_id: str | None,
                                          description: str) -> dict[str, Any]:
        flt: dict[str, Any] = {"type": filter_type}
        if filter_id:
            flt["id"] = filter_id
        body = {"webhook_subscription": {
            "type": "webhook_subscription",
            "delivery_method": {"type": "http_delivery_method", "url": url},
            "description": description,
            "events": INCIDENT_EVENTS,
            "filter": flt,
        }}
        data = await self._call("POST", "/webhook_subscriptions", "create webhook subscription", body=body)
        return dict(data["webhook_subscription"])

    async def list_open_incidents_page(self, service_ids: list[str] | None, offset: int,
                                       limit: int = 100) -> tuple[list[dict[str, Any]], bool]:
        """One page of triggered and acknowledged incidents, oldest first, and whether more follow."""
        params: list[tuple[str, str | int]] = [
            ("statuses[]", "triggered"), ("statuses[]", "acknowledged"), ("date_range", "all"),
            ("sort_by", "created_at:asc"), ("limit", limit), ("offset", offset)]
        params += [("service_ids[]", service) for service in service_ids or []]
        data = await self._call("GET", "/incidents", "list open incidents", params=params)
        return list(data.get("incidents") or []), bool(data.get("more"))

    async def list_webhook_subscriptions(self) -> list[dict[str, Any]]:
        subscriptions: list[dict[str, Any]] = []
        while True:
            data = await self._call("GET", "/webhook_subscriptions", "list webhook subscriptions",
                                    params={"limit": 100, "offset": len(subscriptions)})
            page = list(data.get("webhook_subscriptions") or [])
            subscriptions += page
            if not data.get("more") or not page:
                return subscriptions
