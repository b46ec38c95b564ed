"""Keeping a process's PagerDuty requests under PagerDuty's rate limit (960 a minute per account for an app).

Every request takes a slot first: slots are spaced evenly at the process's rate, with a small burst. When
PagerDuty answers 429 anyway (another process shares the account's limit), every request of the process waits
until its `ratelimit-reset`. A request that would wait longer than `max_wait` is not sent: it fails as rate
limited, with the wait as its retry delay, so an activity never outlives its timeout waiting here.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

from activities.errors import PagerDutyRateLimited

# PagerDuty's limit for an app token per account (and for an account key): requests a minute.
PAGERDUTY_LIMIT = 960
# A worker's and an API replica's own shares by default (`[pagerduty]` in bridge.toml): two workers and one API
# take 720 together, leaving room for the doctor and ctl.
WORKER_RATE = 300
API_RATE = 120
MAX_WAIT = 20.0


class Pace:
    def __init__(self, per_minute: float, *, burst: int = 10, max_wait: float = MAX_WAIT,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.interval = 60.0 / per_minute
        self.burst, self.max_wait, self._clock = burst, max_wait, clock
        self._next = 0.0  # when the bucket is empty again: slots are taken up to `burst` intervals before it
        self._held_until = 0.0

    def hold(self, seconds: float) -> None:
        """PagerDuty said to wait (429 with `ratelimit-reset`): nothing of this process goes out before then."""
        self._held_until = max(self._held_until, self._clock() + seconds)

    async def slot(self, what: str) -> float:
        """Wait for this request's turn; returns how long it waited."""
        now = self._clock()
        start = max(now, self._held_until)
        self._next = max(self._next, start) + self.interval
        at = max(start, self._next - self.burst * self.interval)
        wait = at - now
        if wait > self.max_wait:
            self._next -= self.interval  # not sent: the slot is free for another
            raise PagerDutyRateLimited(f"{what}: PagerDuty rate limit reached (the bridge is holding its requests "
                                       f"for {wait:.0f} s)", retry_after=wait)
        if wait > 0:
            await asyncio.sleep(wait)
        return max(wait, 0.0)
