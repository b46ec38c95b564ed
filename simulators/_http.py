"""Request recording and fault injection shared by the simulators (pure ASGI, so nothing is buffered twice)."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

from starlette.types import ASGIApp, Message, Receive, Scope, Send


@dataclass(frozen=True)
class RecordedRequest:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    json: Any | None
    status: int
    at: float = field(default_factory=time.time)

    def param(self, name: str) -> str | None:
        values = self.query.get(name)
        return values[-1] if values else None


@dataclass
class _Fault:
    prefix: str
    status: int
    method: str | None
    remaining: int | None
    until: float | None
    headers: dict[str, str]
    body: Any
    applied: bool = False  # the request is carried out, then its answer is lost (replaced by this one)


def default_error_body(status: int) -> dict[str, Any]:
    """PagerDuty-shaped error bodies, so a client's error parsing is exercised too."""
    if status == 429:
        return {"error": {"message": "Rate Limit Exceeded", "code": 2020}}
    if status >= 500:
        return {"error": {"message": "Internal Server Error", "code": 2000}}
    return {"error": {"message": "Simulated failure", "code": 2001}}


class FaultInjector:
    """Path-prefix faults and delays; mutated from test threads while the server thread reads them."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._faults: list[_Fault] = []
        self._delays: list[tuple[str, float]] = []
        self._late: list[tuple[str, float]] = []

    def fail(
        self,
        path_prefix: str,
        status: int,
        count: int | None = None,
        seconds: float | None = None,
        headers: dict[str, str] | None = None,
        body: Any | None = None,
        method: str | None = None,
        applied: bool = False,
    ) -> None:
        until = time.monotonic() + seconds if seconds is not None else None
        fault = _Fault(
            path_prefix,
            status,
            method.upper() if method else None,
            count,
            until,
            dict(headers or {}),
            body if body is not None else default_error_body(status),
            applied,
        )
        with self._lock:
            self._faults.append(fault)

    def delay(self, path_prefix: str, seconds: float) -> None:
        with self._lock:
            self._delays.append((path_prefix, seconds))

    def respond_late(self, path_prefix: str, seconds: float) -> None:
        """Apply the request at once but hold its response back (webhooks then beat the response)."""
        with self._lock:
            self._late.append((path_prefix, seconds))

    def late_for(self, path: str) -> float:
        with self._lock:
            return max((s for p, s in self._late if path.startswith(p)), default=0.0)

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()
            self._delays.clear()
            self._late.clear()

    def delay_for(self, path: str) -> float:
        with self._lock:
            return max((s for p, s in self._delays if path.startswith(p)), default=0.0)

    def take(self, method: str, path: str) -> _Fault | None:
        """Consume one use of the first live fault matching the request, dropping expired ones."""
        now = time.monotonic()
        with self._lock:
            live = [
                f
                for f in self._faults
                if (f.remaining is None or f.remaining > 0) and (f.until is None or f.until > now)
            ]
            self._faults = live
            for fault in live:
                if path.startswith(fault.prefix) and fault.method in (None, method):
                    if fault.remaining is not None:
                        fault.remaining -= 1
                    return fault
        return None


class RecordingMiddleware:
    """Records every non-control request with the status it got, and applies injected faults/delays."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        faults: FaultInjector,
        record: Callable[[RecordedRequest], None],
        skip_prefix: str = "/_sim",
    ) -> None:
        self.app = app
        self.faults = faults
        self.record = record
        self.skip_prefix = skip_prefix

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path: str = scope.get("path", "")
        if scope["type"] != "http" or path.startswith(self.skip_prefix):
            await self.app(scope, receive, send)
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body", False):
                break
        method: str = scope["method"]
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        query = parse_qs(scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True)
        try:
            parsed: Any = json.loads(body) if body else None
        except ValueError:
            parsed = None

        def remember(status: int) -> None:
            self.record(RecordedRequest(method, path, query, headers, parsed, status))

        delay = self.faults.delay_for(path)
        if delay > 0:
            await asyncio.sleep(delay)
        fault = self.faults.take(method, path)
        if fault is not None and fault.applied:
            # Carried out for real; the client gets the fault's answer instead of the real one.
            await self.app(scope, _replay(body, receive), _discard)
        if fault is not None:
            remember(fault.status)
            payload = json.dumps(fault.body).encode()
            raw_headers = [(b"content-type", b"application/json"), (b"content-length", str(len(payload)).encode())]
            raw_headers += [(k.lower().encode(), v.encode()) for k, v in fault.headers.items()]
            await send({"type": "http.response.start", "status": fault.status, "headers": raw_headers})
            await send({"type": "http.response.body", "body": payload})
            return

        capture = _recording_send(send, remember, self.faults.late_for(path))

        await self.app(scope, _replay(body, receive), capture)


def _replay(body: bytes, receive: Receive) -> Receive:
    replayed = False

    async def replay() -> Message:
        nonlocal replayed
        if not replayed:
            replayed = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay


async def _discard(message: Message) -> None:
    return None


def _recording_send(send: Send, remember: Callable[[int], None], late: float) -> Send:
    async def capture(message: Message) -> None:
        # Record before the response leaves, so a client never sees a response that is not yet recorded.
        if message["type"] == "http.response.start":
            remember(int(message["status"]))
            if late > 0:
                await asyncio.sleep(late)
        await send(message)

    return capture
