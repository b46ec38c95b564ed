"""One line of the doctor's report: a named check, passed or failed, with the fix for a failure."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str
    fix: str = ""
    lines: tuple[str, ...] = ()  # a listing under the detail (the workflows a check found)


def passed(name: str, detail: str) -> Check:
    return Check(name, True, detail)


def failed(name: str, detail: str, fix: str, lines: tuple[str, ...] = ()) -> Check:
    return Check(name, False, detail, fix, lines)
