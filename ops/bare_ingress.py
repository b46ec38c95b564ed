"""The yardstick for `dev.py bench --ingress`: the least a PagerDuty webhook endpoint can do.

It checks the HMAC over the raw body, reads the incident id and signal-with-starts `pd-incident-<id>` on
the bridge's task queue, with the SDK's default data converter and plain dicts. No validation, metrics or
logs: what the bridge's API adds on top of Temporal is measured against this.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Awaitable, Callable, MutableMapping
from datetime import timedelta
from typing import Any

from temporalio.client import Client
from temporalio.common import SearchAttributePair, TypedSearchAttributes

from workflows import search

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]


class BareIngress:
    """An ASGI app; it connects to Temporal during the lifespan start-up."""

    def __init__(self, address: str, namespace: str, task_queue: str, secret: str, as_bridge: bool = False) -> None:
        self._address, self._namespace, self._task_queue = address, namespace, task_queue
        # With `as_bridge`, the start also carries what the bridge's does (search attribute, summary, RPC
        # timeout), so the two differ only in the Python around the call.
        self._as_bridge = as_bridge
        self._secret = secret.encode()
        self._client: Client | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
        elif scope["type"] == "http":
            status, answer = await self._handle(scope, receive)
            body = json.dumps(answer).encode()
            await send({"type": "http.response.start", "status": status,
                        "headers": [(b"content-type", b"application/json"),
                                    (b"content-length", str(len(body)).encode())]})
            await send({"type": "http.response.body", "body": body})

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                self._client = await Client.connect(self._address, namespace=self._namespace)
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def _handle(self, scope: Scope, receive: Receive) -> tuple[int, dict[str, str]]:
        body = bytearray()
        while True:
            message = await receive()
            body.extend(message.get("body", b""))
            if not message.get("more_body"):
                break
        headers = dict(scope["headers"])
        offered = headers.get(b"x-pagerduty-signature", b"")
        wanted = b"v1=" + hmac.new(self._secret, bytes(body), hashlib.sha256).hexdigest().encode()
        if not hmac.compare_digest(offered, wanted):
            return 401, {"error": "bad signature"}
        event = json.loads(body)["event"]
        incident_id = str(event["data"]["id"])
        assert self._client is not None
        extra: dict[str, Any] = {}
        if self._as_bridge:
            extra = {"search_attributes": TypedSearchAttributes([SearchAttributePair(search.INCIDENT_ID, incident_id)]),
                     "static_summary": f"PagerDuty incident {incident_id}", "rpc_timeout": timedelta(seconds=4)}
        await self._client.start_workflow(
            "IncidentWorkflow", {"incident_id": incident_id}, id=f"pd-incident-{incident_id}",
            task_queue=self._task_queue, start_signal="pd_event",
            start_signal_args=[{"event_id": event["id"], "event_type": event["event_type"],
                                "occurred_at": event["occurred_at"], "incident_id": incident_id}], **extra)
        return 202, {"status": "accepted", "incident": incident_id}
