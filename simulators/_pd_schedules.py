"""On-call schedules: shifts, overrides, and what `GET /oncalls?schedule_ids[]=…&since=…&until=…` answers.

A schedule here is its final layer: shifts (a person from `start` to `end`, `end` None for "until further
notice") with overrides on top (an override replaces every shift for its time). `/oncalls` gives one entry per
person per unbroken stretch on call that overlaps `since`..`until` (default: now), each with its real `start`
and `end`, as PagerDuty does. PagerDuty sends no webhook when any of this changes.
"""

from __future__ import annotations

import itertools
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from simulators._pd_model import PDError, not_found

FOREVER = datetime.max.replace(tzinfo=UTC)
EPOCH = datetime.min.replace(tzinfo=UTC)


@dataclass
class Shift:
    user_id: str
    start: datetime
    end: datetime | None


@dataclass
class Schedule:
    id: str
    name: str
    escalation_policy_id: str | None = None
    shifts: list[Shift] = field(default_factory=list)
    overrides: list[Shift] = field(default_factory=list)


def parse_time(value: str | None, default: datetime) -> datetime:
    if not value:
        return default
    try:
        stamp = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise PDError(400, 2001, "Invalid Input Provided", [f"not a date: {value}"]) from None
    return stamp if stamp.tzinfo else stamp.replace(tzinfo=UTC)


def iso(stamp: datetime) -> str | None:
    return None if stamp in (FOREVER, EPOCH) else stamp.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def stretches(schedule: Schedule) -> list[tuple[str, datetime, datetime]]:
    """(user, start, end) of every unbroken stretch on call, overrides taking the place of shifts."""
    layers = [(s.user_id, s.start, s.end or FOREVER) for s in schedule.shifts]
    overrides = [(o.user_id, o.start, o.end or FOREVER) for o in schedule.overrides]
    cuts = sorted({t for _, a, b in layers + overrides for t in (a, b)} | {EPOCH, FOREVER})
    out: list[tuple[str, datetime, datetime]] = []
    open_: dict[str, datetime] = {}
    for a, b in itertools.pairwise(cuts):
        covering = [u for u, s, e in overrides if s <= a and b <= e] or [u for u, s, e in layers if s <= a and b <= e]
        for user in list(open_):
            if user not in covering:
                out.append((user, open_.pop(user), a))
        for user in covering:
            open_.setdefault(user, a)
    out += [(user, start, FOREVER) for user, start in open_.items()]
    return out


class ScheduleMixin:
    if TYPE_CHECKING:
        lock: threading.RLock

        def user_ref(self, user_id: str) -> dict[str, Any]: ...
        def ep_ref(self, ep_id: str) -> dict[str, Any]: ...

    def __init__(self) -> None:
        self.schedules: dict[str, Schedule] = {}

    def add_schedule(self, id: str, name: str, shifts: list[tuple[str, datetime, datetime | None]] | None = None,
                     escalation_policy_id: str | None = None) -> Schedule:
        with self.lock:
            schedule = Schedule(id, name, escalation_policy_id, [Shift(*s) for s in shifts or []])
            self.schedules[id] = schedule
            return schedule

    def add_override(self, schedule_id: str, user_id: str, start: datetime, end: datetime) -> None:
        """An override in PagerDuty's web UI: `user_id` is on call from `start` to `end`, whoever's shift it is."""
        with self.lock:
            if schedule_id not in self.schedules:
                raise not_found()
            self.schedules[schedule_id].overrides.append(Shift(user_id, start, end))

    def schedule_oncalls(self, schedule_ids: list[str], since: datetime, until: datetime) -> list[dict[str, Any]]:
        entries: list[dict[str, Any]] = []
        for schedule in self.schedules.values():
            if schedule.id not in schedule_ids:
                continue
            ep = self.ep_ref(schedule.escalation_policy_id) if schedule.escalation_policy_id else None
            entries += [
                {"user": self.user_ref(user), "schedule": self._schedule_ref(schedule), "escalation_policy": ep,
                 "escalation_level": 1, "start": iso(start), "end": iso(end)}
                for user, start, end in sorted(stretches(schedule), key=lambda s: (s[1], s[0]))
                if start <= until and end > since
            ]
        return entries

    def _schedule_ref(self, schedule: Schedule) -> dict[str, Any]:
        return {"id": schedule.id, "type": "schedule_reference", "summary": schedule.name}
