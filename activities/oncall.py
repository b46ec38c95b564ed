"""On-call user group activities: read who is on call (`GET /oncalls`), set each Slack user group's members
(`usergroups.*`, Tier 2, paced here), and post the default channel's warning about a group."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from slack_sdk.web.async_client import AsyncWebClient
from temporalio import activity

from activities.errors import BridgeError
from activities.identity import Directory
from activities.pagerduty_api import PagerDutyApi, parse_time
from activities.slack import slack_call
from settings import BridgeConfig
from workflows.oncall_models import GroupRule, GroupStatus, SyncRequest, SyncResult, WarnRequest
from workflows.slack_text import Line, plain

# How far ahead `/oncalls` is read: the next shift start or end within it sets the workflow's timer.
LOOKAHEAD = timedelta(days=1)
# Slack's Tier 2: 20+ calls a minute per method; kept below it across this process, with a small burst.
TIER_2_PER_MINUTE, TIER_2_BURST = 18.0, 4


class Spacing:
    """A token bucket shared by every usergroups.* call of the process."""

    def __init__(self, per_minute: float, burst: int) -> None:
        self.interval, self.burst = 60.0 / per_minute, burst
        self._next = 0.0

    async def slot(self) -> None:
        now = time.monotonic()
        self._next = max(self._next, now) + self.interval
        wait = self._next - self.burst * self.interval - now
        if wait > 0:
            await asyncio.sleep(wait)


def on_call(entries: list[dict[str, Any]], rule: GroupRule, now: datetime) -> tuple[dict[str, str], datetime | None]:
    """(PagerDuty user id -> name of everyone on call at `now`, the next start or end after `now`)."""
    people: dict[str, str] = {}
    changes: list[datetime] = []
    for entry in entries:
        if rule.escalation_policy and entry.get("escalation_level") != rule.level:
            continue
        start, end = parse_time(entry.get("start")), parse_time(entry.get("end"))
        changes += [t for t in (start, end) if t is not None and t > now]
        user = entry.get("user") or {}
        if user.get("id") and (start is None or start <= now) and (end is None or end > now):
            people[str(user["id"])] = str(user.get("summary") or user.get("name") or user["id"])
    return people, min(changes, default=None)


class OncallActivities:
    def __init__(self, pd: PagerDutyApi, slack: AsyncWebClient, directory: Directory, config: BridgeConfig,
                 spacing: Spacing | None = None) -> None:
        self._pd, self._slack, self._directory, self._config = pd, slack, directory, config
        self._spacing = spacing or Spacing(TIER_2_PER_MINUTE, TIER_2_BURST)

    async def _usergroups(self, what: str, method: str, **kwargs: Any) -> Any:
        await self._spacing.slot()
        return await slack_call(what, lambda: self._slack.api_call(method, json=kwargs))

    @activity.defn(name="oncall_sync")
    async def sync(self, request: SyncRequest) -> SyncResult:
        """One round over every group: one usergroups.list, then an update only where the members differ."""
        now = datetime.now(UTC)
        listed = await self._usergroups("list user groups", "usergroups.list", include_users=True)
        groups = {str(g.get("handle")): g for g in listed.get("usergroups") or []}
        result = SyncResult(synced_at=now)
        for rule in request.rules:
            group = groups.get(rule.handle)
            try:
                result.groups[rule.handle] = await self._sync_group(rule, now, group)
            except BridgeError as exc:
                if exc.retryable:
                    raise
                # Slack refused this group (a disabled group with the same name, a missing permission): the
                # others are kept in step all the same, and the channel is told what to fix.
                line = Line().add("Slack refused to keep on-call group {t0} in step with PagerDuty: {t1}")
                result.groups[rule.handle] = GroupStatus(
                    usergroup_id=(group or {}).get("id"), members=list((group or {}).get("users") or []),
                    warning=Line(template=line.template, texts=[f"@{rule.handle}", exc.message]))
        return result

    async def _sync_group(self, rule: GroupRule, now: datetime, group: dict[str, Any] | None) -> GroupStatus:
        source = ([("schedule_ids[]", rule.schedule)] if rule.schedule
                  else [("escalation_policy_ids[]", rule.escalation_policy or "")])
        window = [("since", now.isoformat()), ("until", (now + LOOKAHEAD).isoformat())]
        try:
            entries = await self._pd.oncalls_between([*source, *window])
        except BridgeError as exc:
            if exc.retryable:
                raise
            line = Line().add(f"On-call group {{t0}} cannot follow {self._source(rule)}: {{t1}}")
            return GroupStatus(usergroup_id=(group or {}).get("id"), members=list((group or {}).get("users") or []),
                               warning=Line(template=line.template, texts=[f"@{rule.handle}", exc.message]))
        people, next_change = on_call(entries, rule, now)
        slack_ids: list[str] = []
        unmatched: list[str] = []
        for pd_id, name in people.items():
            slack_id = await self._directory.slack_user_for(pd_id, strict=True)
            if slack_id:
                slack_ids.append(slack_id)
            else:
                unmatched.append(name)
        if group is None:
            created = await self._usergroups(f"create user group @{rule.handle}", "usergroups.create",
                                             name=rule.handle, handle=rule.handle)
            group = dict(created["usergroup"])
        current = [str(u) for u in group.get("users") or []]
        wanted = sorted(set(slack_ids))
        if wanted and set(wanted) != set(current):
            await self._usergroups(f"set the members of @{rule.handle}", "usergroups.users.update",
                                   usergroup=str(group["id"]), users=",".join(wanted))
            current = wanted
        return GroupStatus(usergroup_id=str(group["id"]), members=current, next_change=next_change,
                           warning=self._warning(rule, people, unmatched, kept=not wanted))

    @staticmethod
    def _source(rule: GroupRule) -> str:
        if rule.schedule:
            return f"schedule {rule.schedule}"
        return f"escalation policy {rule.escalation_policy} level {rule.level}"

    def _warning(self, rule: GroupRule, people: dict[str, str], unmatched: list[str], *, kept: bool) -> Line | None:
        if not unmatched and not kept:
            return None
        line = Line()
        line.add(f"On-call group {line.typed('@' + rule.handle)} ({self._source(rule)}): ")
        if unmatched:
            names = ", ".join(line.typed(name) for name in sorted(unmatched))
            line.add(f"no Slack account found for {names}, on call in PagerDuty (their PagerDuty email matches "
                     "no Slack user and [identity] does not map them), so they are not in the group.")
        if kept:
            line.add(" " if unmatched else "")
            line.add("Nobody on call " if not people else "Nobody else on call ")
            line.add("in PagerDuty now " if not people else "has a Slack account ")
            line.add("and Slack cannot empty a group: it keeps its last members until someone is on call.")
        return line

    @activity.defn(name="oncall_warn")
    async def warn(self, request: WarnRequest) -> None:
        channel = self._config.routing.default_channel
        await slack_call(f"warn about @{request.handle}", lambda: self._slack.chat_postMessage(
            channel=channel, text=":warning: " + plain(request.warning), unfurl_links=False, unfurl_media=False))
