"""PagerDuty v3 webhook delivery: signing, per-incident ordering, retries and delivery-fault knobs.

Delivery runs on the simulator's own event loop in a daemon thread, independent of whichever loop serves
the REST app (uvicorn thread, httpx.ASGITransport in a test loop, or nothing at all), so events emitted by
`trigger()` from a test thread are delivered the same way as those caused by REST calls.
"""

from __future__ import annotations

import asyncio
import collections
import hashlib
import hmac
import json
import secrets
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import httpx

_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def ulid_like() -> str:
    """26 uppercase chars: 48-bit millisecond time + 80 random bits, as in captured PagerDuty event ids."""
    value = (int(time.time() * 1000) << 80) | secrets.randbits(80)
    return "".join(_CROCKFORD[(value >> (5 * i)) & 31] for i in reversed(range(26)))


def sign(body: bytes, secrets_: tuple[str, ...]) -> str:
    """X-PagerDuty-Signature value: one `v1=` per secret, as PagerDuty sends during secret rotation."""
    return ",".join("v1=" + hmac.new(s.encode(), body, hashlib.sha256).hexdigest() for s in secrets_)


@dataclass(frozen=True)
class WebhookTarget:
    subscription_id: str
    url: str
    secrets: tuple[str, ...]


@dataclass(frozen=True)
class Delivery:
    """One delivery attempt (or a simulated drop); `outcome` is delivered, retrying or dropped."""

    event_id: str
    event_type: str
    incident_id: str
    webhook_id: str
    subscription_id: str
    attempt: int
    copy: int
    status: int | None
    error: str | None
    outcome: str
    at: float = field(default_factory=time.time)

    @property
    def result(self) -> int | str:
        return self.status if self.status is not None else (self.error or "")


@dataclass(frozen=True)
class _Outbound:
    event_id: str
    event_type: str
    incident_id: str
    body: bytes
    target: WebhookTarget
    webhook_id: str


class WebhookEmitter:
    """Mixin holding the delivery knobs as plain attributes (`paused`/`reorder` release held events)."""

    def __init__(self) -> None:
        self.webhook_delay_seconds = 0.0
        self.duplicate_deliveries = 1
        self.retry_initial_delay = 0.2
        self.retry_max_delay = 2.0
        self.retry_max_attempts = 20
        self.delivery_timeout = 5.0
        self.deliveries: list[Delivery] = []
        self.events: list[dict[str, Any]] = []
        self._cond = threading.Condition()
        self._held: list[_Outbound] = []
        self._holding: dict[str, list[_Outbound]] = {}  # incident id -> its events held back
        self._paused = False
        self._reorder = False
        self._drop_next = 0
        self._pending = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        # Touched only on the delivery loop's thread.
        self._queues: dict[tuple[str, str], collections.deque[_Outbound]] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._client: httpx.AsyncClient | None = None

    @property
    def paused(self) -> bool:
        return self._paused

    @paused.setter
    def paused(self, value: bool) -> None:
        with self._cond:
            self._paused = value
            if not value and not self._reorder:
                self._release_locked(reverse=False)

    @property
    def reorder(self) -> bool:
        return self._reorder

    @reorder.setter
    def reorder(self, value: bool) -> None:
        with self._cond:
            self._reorder = value
            if not value and not self._paused:
                self._release_locked(reverse=False)

    @property
    def held_count(self) -> int:
        with self._cond:
            return len(self._held)

    def flush(self) -> int:
        """Release held events now (newest first when `reorder` is set); returns how many."""
        with self._cond:
            count = len(self._held)
            self._release_locked(reverse=self._reorder)
            return count

    def hold_incident(self, incident_id: str) -> None:
        """Hold back every event of one incident (state still changes) until `release_incident`."""
        with self._cond:
            self._holding.setdefault(incident_id, [])

    def release_incident(self, incident_id: str) -> int:
        """Deliver the incident's held events in order (or add them to the global hold); returns how many."""
        with self._cond:
            outs = self._holding.pop(incident_id, [])
            if self._paused or self._reorder:
                self._held.extend(outs)
            else:
                self._dispatch_locked(outs)
            return len(outs)

    def held_for(self, incident_id: str) -> int:
        with self._cond:
            return len(self._holding.get(incident_id, ()))

    def drop_next_webhooks(self, n: int) -> None:
        """The next `n` events change state but are never delivered (a missed webhook)."""
        with self._cond:
            self._drop_next += n

    def delivered(self, event_type: str | None = None) -> list[Delivery]:
        with self._cond:
            return [
                d
                for d in self.deliveries
                if d.outcome == "delivered" and (event_type is None or d.event_type == event_type)
            ]

    def wait_idle_sync(self, timeout: float = 5.0) -> None:
        """Block until nothing is queued or retrying (held events do not count); TimeoutError otherwise."""
        with self._cond:
            if not self._cond.wait_for(lambda: self._pending == 0, timeout):
                raise TimeoutError(f"{self._pending} webhook deliveries still pending after {timeout}s")

    async def wait_idle(self, timeout: float = 5.0) -> None:
        """Async twin of `wait_idle_sync` that never blocks the caller's loop."""
        deadline = time.monotonic() + timeout
        while True:
            with self._cond:
                if self._pending == 0:
                    return
                pending = self._pending
            if time.monotonic() > deadline:
                raise TimeoutError(f"{pending} webhook deliveries still pending after {timeout}s")
            await asyncio.sleep(0.01)

    def close(self) -> None:
        """Stop the delivery loop, abandoning anything still queued. Safe to call twice; restarts lazily."""
        with self._cond:
            loop, thread = self._loop, self._thread
            self._loop = self._thread = None
            self._pending = 0
            self._cond.notify_all()
        if loop is None or thread is None:
            return
        # Scheduling works even if run_forever has not started yet; it runs as soon as the loop does.
        asyncio.run_coroutine_threadsafe(self._shutdown(), loop).result(timeout=10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=10)
        loop.close()

    async def _shutdown(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks.clear()
        self._queues.clear()
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    def _publish(self, envelope: dict[str, Any], incident_id: str, targets: list[WebhookTarget]) -> None:
        """Serialize once (the signature covers these exact bytes) and queue one delivery per target."""
        body = json.dumps(envelope, separators=(",", ":")).encode()
        event = envelope["event"]
        outs = [_Outbound(event["id"], event["event_type"], incident_id, body, t, ulid_like().lower()) for t in targets]
        with self._cond:
            self.events.append(envelope)
            if self._drop_next > 0:
                self._drop_next -= 1
                for out in outs:
                    self._record_locked(out, 0, 0, None, "dropped by drop_next_webhooks", "dropped")
                return
            if incident_id in self._holding:
                self._holding[incident_id].extend(outs)
                return
            if self._paused or self._reorder:
                self._held.extend(outs)
                return
            self._dispatch_locked(outs)

    def _release_locked(self, *, reverse: bool) -> None:
        outs, self._held = self._held, []
        if reverse:
            outs.reverse()
        self._dispatch_locked(outs)

    def _dispatch_locked(self, outs: list[_Outbound]) -> None:
        if not outs:
            return
        if self._loop is None:
            self._loop = asyncio.new_event_loop()
            self._thread = threading.Thread(target=self._loop.run_forever, name="pd-sim-webhooks", daemon=True)
            self._thread.start()
        self._pending += len(outs)
        for out in outs:
            # call_soon_threadsafe callbacks run in FIFO order, which preserves emission order.
            self._loop.call_soon_threadsafe(self._enqueue, out)

    def _enqueue(self, out: _Outbound) -> None:
        key = (out.target.subscription_id, out.incident_id)
        queue = self._queues.get(key)
        if queue is None:
            queue = self._queues[key] = collections.deque()
            task = asyncio.get_running_loop().create_task(self._drain(key, queue))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        queue.append(out)

    async def _drain(self, key: tuple[str, str], queue: collections.deque[_Outbound]) -> None:
        # Head-of-line blocking per (subscription, incident), as PagerDuty documents.
        try:
            while queue:
                try:
                    await self._deliver(queue[0])
                finally:
                    queue.popleft()
                    with self._cond:
                        self._pending = max(0, self._pending - 1)
                        self._cond.notify_all()
        finally:
            if self._queues.get(key) is queue:
                del self._queues[key]

    async def _deliver(self, out: _Outbound) -> None:
        if self.webhook_delay_seconds > 0:
            await asyncio.sleep(self.webhook_delay_seconds)
        for copy in range(max(1, self.duplicate_deliveries)):
            await self._attempt(out, copy)

    async def _attempt(self, out: _Outbound, copy: int) -> None:
        if self._client is None:
            self._client = httpx.AsyncClient(timeout=self.delivery_timeout)
        headers = {
            "Content-Type": "application/json",
            "Accept": "application/json",
            "User-Agent": "PagerDuty-Webhook/V3.0",
            "X-PagerDuty-Signature": sign(out.body, out.target.secrets),
            "X-Webhook-Id": out.webhook_id,
            "X-Webhook-Subscription": out.target.subscription_id,
        }
        backoff = self.retry_initial_delay
        attempts = max(1, self.retry_max_attempts)
        for attempt in range(1, attempts + 1):
            status: int | None = None
            error: str | None = None
            try:
                response = await self._client.post(out.target.url, content=out.body, headers=headers)
                status = response.status_code
            except Exception as exc:  # a bad URL must not kill the queue: record it like any failed attempt
                error = f"{type(exc).__name__}: {exc}"
            if status is not None and 200 <= status < 300:
                self._record(out, attempt, copy, status, None, "delivered")
                return
            # PagerDuty drops 4xx other than 429 at once; everything else is retried until attempts run out.
            permanent = status is not None and 400 <= status < 500 and status != 429
            final = permanent or attempt == attempts
            self._record(out, attempt, copy, status, error, "dropped" if final else "retrying")
            if final:
                return
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, self.retry_max_delay)

    def _record(
        self, out: _Outbound, attempt: int, copy: int, status: int | None, error: str | None, outcome: str
    ) -> None:
        with self._cond:
            self._record_locked(out, attempt, copy, status, error, outcome)

    def _record_locked(
        self, out: _Outbound, attempt: int, copy: int, status: int | None, error: str | None, outcome: str
    ) -> None:
        self.deliveries.append(
            Delivery(
                out.event_id,
                out.event_type,
                out.incident_id,
                out.webhook_id,
                out.target.subscription_id,
                attempt,
                copy,
                status,
                error,
                outcome,
            )
        )
