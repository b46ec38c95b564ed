"""The account's priorities (`GET /priorities`), for the priority control, cached for a short while.

The incident message is rendered often; the list changes rarely. A failed read keeps the last list known
(or none: the control is then left out until PagerDuty answers), and never fails the rendering."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from activities.errors import BridgeError
from activities.identity import TtlCache
from activities.pagerduty_api import PagerDutyApi, ref
from workflows.models import Ref

log = logging.getLogger(__name__)


class Priorities:
    def __init__(self, pd: PagerDutyApi, ttl: float = 300.0, failure_ttl: float = 30.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._pd, self._failure_ttl = pd, min(failure_ttl, ttl)
        self._cache = TtlCache(ttl, clock)
        self._last: list[Ref] = []

    async def listed(self) -> list[Ref]:
        """Most to least severe, as PagerDuty orders them; [] when the account has none."""
        hit, value = self._cache.get("priorities")
        if hit:
            return list(value)
        try:
            found = [r for r in (ref(p) for p in await self._pd.list_priorities()) if r is not None]
        except BridgeError as exc:
            log.warning("could not list PagerDuty priorities (%s); keeping %d known", exc, len(self._last))
            self._cache.put("priorities", self._last, ttl=self._failure_ttl)
            return list(self._last)
        self._last = found
        self._cache.put("priorities", found)
        return list(found)
