"""Slack's Web API rate limits, as the simulator enforces them when switched on.

Slack documents (see /work/shared/reference/slack.md §3): `chat.postMessage` allows about one message per second
per channel with short bursts; other methods sit in tiers per method and workspace (Tier 2 20+/min, Tier 3 50+/min,
Tier 4 100+/min) and tolerate occasional bursts. Over a limit Slack answers HTTP 429 with a `Retry-After` header in
whole seconds and `{"ok": false, "error": "ratelimited"}`; the block applies to that method only.

Each limit here is a token bucket: `burst` calls at once, then `per_minute / 60` calls a second. The clock is
injectable (any `() -> float` in seconds, monotonic), so tests move time by hand instead of sleeping.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass

Clock = Callable[[], float]

WORKSPACE = ""  # the scope key of a per-workspace limit (the simulator holds one workspace)


@dataclass(frozen=True)
class Limit:
    """`burst` calls at once, refilled at `per_minute` a minute; `per_channel` keys the bucket by channel."""

    per_minute: float
    burst: int
    per_channel: bool = False

    @property
    def per_second(self) -> float:
        return self.per_minute / 60.0


TIER_2 = Limit(per_minute=20, burst=3)
TIER_3 = Limit(per_minute=50, burst=5)
TIER_4 = Limit(per_minute=100, burst=10)

# chat.postMessage: "1 message per second per channel, short bursts allowed". The workspace-wide ceiling Slack
# mentions ("several hundred messages per minute") is not modelled: two channels never reach it.
DEFAULT_LIMITS: dict[str, Limit] = {
    "chat.postMessage": Limit(per_minute=60, burst=4, per_channel=True),
    "chat.update": TIER_3,
    "chat.postEphemeral": TIER_4,
    "users.lookupByEmail": TIER_3,
    "users.info": TIER_4,
    "conversations.info": TIER_3,
    "conversations.create": TIER_2,
    "conversations.archive": TIER_2,
    "conversations.invite": TIER_3,
    "users.conversations": TIER_3,
    "views.open": TIER_4,
    "views.push": TIER_4,
    "views.update": TIER_4,
    "usergroups.create": TIER_2,
    "usergroups.list": TIER_2,
    "usergroups.users.list": TIER_2,
    "usergroups.users.update": TIER_2,
}


class TokenBucket:
    """Starts full; `take(now)` spends one token, or returns how many seconds until one is there."""

    def __init__(self, capacity: int, per_second: float, now: float) -> None:
        self.capacity = float(capacity)
        self.per_second = per_second
        self.tokens = float(capacity)
        self.updated = now

    def _refill(self, now: float) -> None:
        if now > self.updated:
            self.tokens = min(self.capacity, self.tokens + (now - self.updated) * self.per_second)
            self.updated = now

    def take(self, now: float) -> float:
        """0.0 if the call may go ahead (a token is spent), else the wait in seconds before the next token."""
        self._refill(now)
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return 0.0
        return (1.0 - self.tokens) / self.per_second


@dataclass
class MethodCount:
    """Calls of one method in one channel ("" when the call names none) and how many of them got a 429."""

    method: str
    channel: str
    calls: int = 0
    ratelimited: int = 0

    def to_api(self) -> dict[str, object]:
        return {"method": self.method, "channel": self.channel, "calls": self.calls, "ratelimited": self.ratelimited}


class RateLimiter:
    """Token buckets per (method, channel or workspace), plus call counts that are kept whether or not it is on.

    Not thread-safe by itself: the simulator calls it under its own lock.
    """

    def __init__(
        self, *, enabled: bool = False, clock: Clock = time.monotonic, limits: dict[str, Limit] | None = None
    ) -> None:
        self.enabled = enabled
        self.clock = clock
        self.limits = dict(DEFAULT_LIMITS if limits is None else limits)
        self._buckets: dict[tuple[str, str], TokenBucket] = {}
        self._counts: dict[tuple[str, str], MethodCount] = {}

    def check(self, method: str, channel: str | None) -> int | None:
        """Count the call; None if it may proceed, else the Retry-After in whole seconds (at least 1)."""
        where = channel or WORKSPACE
        count = self._counts.setdefault((method, where), MethodCount(method, where))
        count.calls += 1
        limit = self.limits.get(method)
        if not self.enabled or limit is None:
            return None
        scope = where if limit.per_channel else WORKSPACE
        now = self.clock()
        bucket = self._buckets.get((method, scope))
        if bucket is None:
            bucket = self._buckets[(method, scope)] = TokenBucket(limit.burst, limit.per_second, now)
        wait = bucket.take(now)
        if wait <= 0.0:
            return None
        count.ratelimited += 1
        return max(1, math.ceil(wait))

    def counts(self) -> list[MethodCount]:
        """Per method and channel, in first-call order; copies."""
        return [MethodCount(c.method, c.channel, c.calls, c.ratelimited) for c in self._counts.values()]

    def reset(self) -> None:
        """Full buckets and zero counts."""
        self._buckets.clear()
        self._counts.clear()
