"""A channel's alert storm (workflows/budget.py): what its one notice counts and says.

When more new incidents wait to be posted in a channel than the budget's `storm_threshold`, the channel gets
one notice, updated as the queue drains and finished when every one of them is posted. Pure rules: time
comes in as `now`.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from pydantic import Field

from workflows.models import Model
from workflows.slack_text import escape

SERVICES_KEPT = 20  # service names a storm keeps (the notice shows three and counts the rest)
AWAIT_DROPPED = timedelta(minutes=2)  # how long posts dropped at continue-as-new are awaited (they ask again
# within about half a minute, workflows/turns.py); past it, the storm may end without them


class Storm(Model):
    channel: str
    started: datetime
    total: int = 0  # new incidents that waited to be posted during the storm
    posted: int = 0
    services: list[str] = Field(default_factory=list)
    more_services: int = 0  # services beyond SERVICES_KEPT
    link: str = ""
    ts: str | None = None  # the notice message, once posted
    shown: str = ""  # the notice text Slack shows
    shown_at: datetime | None = None
    over: bool = False
    awaited: int = 0  # waiting posts the budget did not carry through continue-as-new: they ask again
    awaited_until: datetime | None = None


def storm_joined(storms: dict[str, Storm], channel: str, service: str, html_url: str, now: datetime) -> None:
    """A new incident waits to be posted in `channel` (one that was dropped and asks again is not new)."""
    storm = storms.get(channel)
    if storm is not None and not storm.over and storm.awaited > 0 and storm.awaited_until and now < storm.awaited_until:
        storm.awaited -= 1
        return
    if storm is None or storm.over:
        storm = storms[channel] = Storm(channel=channel, started=now)
    storm.total += 1
    if service and service not in storm.services:
        if len(storm.services) < SERVICES_KEPT:
            storm.services.append(service)
        else:
            storm.more_services += 1
    if html_url and not storm.link:
        storm.link = html_url.rsplit("/incidents/", 1)[0] + "/incidents" if "/incidents/" in html_url else ""


def storm_posted(storms: dict[str, Storm], channel: str) -> None:
    storm = storms.get(channel)
    if storm is not None and not storm.over:
        storm.posted += 1


def notice_text(storm: Storm, now: datetime) -> str:
    """The storm notice as Slack text (service names are typed text: escaped)."""
    services = ", ".join(escape(s) for s in storm.services[:3]) or "several services"
    more = len(storm.services) - 3 + storm.more_services
    if more > 0:
        services += f" and {more} more"
    minutes = max(1, round((now - storm.started).total_seconds() / 60))
    link = f"<{storm.link}|open incidents in PagerDuty>" if storm.link else "PagerDuty"
    if storm.over:
        return (f":white_check_mark: Alert storm over: all {storm.total} new incidents on {services} are posted "
                "below, each with its controls.")
    return (f":rotating_light: *Alert storm:* {storm.total} new incidents on {services} in the last "
            f"{minutes} minute{'s' if minutes != 1 else ''}; {storm.posted} posted, the rest follow "
            f"(most urgent first) — newest state in {link}")


class NoticeStep(Model):
    channel: str
    text: str
    ts: str | None = None  # None: post a new notice; else update this one
