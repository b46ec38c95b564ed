"""What each `/pd` subcommand does. Reads go to PagerDuty directly (they change nothing); creating an
incident is one idempotent write as the person; acting on an incident is handed to its workflow.

Every answer is private to the person (ephemeral). Text people typed is escaped wherever it is shown."""

from __future__ import annotations

import hashlib
import logging
import re
from dataclasses import dataclass, field
from typing import Any

from slack_sdk.web.async_client import AsyncWebClient

from activities.errors import PagerDutyError, PagerDutyNotFound, PagerDutyRefused
from activities.identity import Directory, IdentityMiss
from activities.incident_rows import incident_rows, link
from activities.pagerduty_api import PagerDutyApi, snapshot
from api import command_text as ct
from api.gateway import TemporalGateway
from api.incident_channel import incident_channel_services
from settings import BridgeConfig
from workflows.models import ActionKind, ActorResolved, ChannelPolicy, Person, SlackAction, Status, Timing
from workflows.policy import refusal
from workflows.slack_text import escape

log = logging.getLogger("bridge.api")
OPEN = ["triggered", "acknowledged"]
PD_ID = re.compile(r"^P[A-Z0-9]{5,13}$")

USAGE = "\n".join([
    "*PagerDuty from Slack* — everything you do here is done in PagerDuty as you.",
    "`/pd mine` — your open incidents, with their controls",
    "`/pd open [service]` — open incidents of this channel's service, or of the one you name",
    "`/pd oncall [service or escalation policy]` — who is on call now, level by level",
    "`/pd trigger <service> <title> [--low]` — page a service (no arguments: a form asks)",
    "`/pd ack <number>`, `/pd resolve <number>` — act on an incident by its number",
    "`/pd notify on|off` — a direct message when an incident is assigned to you, or none; `/pd notify` says which",
    'Write a service name with spaces in quotes: `/pd trigger "payments api" Card payments failing`.',
])


class Refusal(Exception):
    """A clear answer to the person instead of the result; nothing was sent to PagerDuty."""


@dataclass(frozen=True)
class Invocation:
    user: str
    channel: str
    text: str
    trigger_id: str | None = None
    response_url: str | None = None


@dataclass
class Reply:
    text: str
    blocks: list[dict[str, Any]] = field(default_factory=list)

    def payload(self) -> dict[str, Any]:
        body: dict[str, Any] = {"response_type": "ephemeral", "text": self.text}
        if self.blocks:
            body["blocks"] = self.blocks
        return body


@dataclass
class Commands:
    pd: PagerDutyApi
    directory: Directory
    config: BridgeConfig
    slack: AsyncWebClient
    gateway: TemporalGateway
    timing: Timing
    channels: ChannelPolicy = field(default_factory=ChannelPolicy)

    # -- lookups -------------------------------------------------------------------------------------

    def routed_services(self, channel: str) -> list[str]:
        return sorted(sid for sid, ch in self.config.routing.services.items() if ch == channel)

    async def services_here(self, channel: str) -> list[str]:
        """The services a channel stands for: those routed to it, or in an incident's own channel its service."""
        return self.routed_services(channel) or await incident_channel_services(self.slack, self.pd, self.channels,
                                                                                channel)

    async def service(self, name: str) -> dict[str, Any]:
        """A service by id, or by name (exact, ignoring case; else the only partial match)."""
        if PD_ID.match(name):
            try:
                return await self.pd.get_service(name)
            except PagerDutyNotFound:
                pass
        found = await self.pd.find_services(name)
        exact = [s for s in found if str(s.get("name", "")).lower() == name.lower()]
        if len(exact) == 1 or len(found) == 1:
            return exact[0] if exact else found[0]
        if not found:
            raise Refusal(f"PagerDuty has no service named “{escape(name)}”. Nothing was sent to PagerDuty.")
        names = ", ".join(escape(str(s.get("name"))) for s in found[:8])
        raise Refusal(f"Several services match “{escape(name)}”: {names}. Give the exact name (in quotes if it "
                      "has spaces) or the service id.")

    async def person(self, user: str) -> tuple[Person, list[str]]:
        try:
            return await self.directory.person(user)
        except IdentityMiss as miss:
            raise Refusal(str(miss)) from None

    async def authorize(self, user: str, person_teams: list[str], service: dict[str, Any]) -> None:
        auth = self.config.authorization
        if user in auth.admin_slack_users:
            return
        teams = {str(t["id"]) for t in service.get("teams") or [] if isinstance(t, dict) and t.get("id")}
        policy = service.get("escalation_policy")
        if isinstance(policy, dict) and policy.get("id"):
            try:
                ep = await self.pd.get_escalation_policy(str(policy["id"]))
                teams |= {str(t["id"]) for t in ep.get("teams") or [] if isinstance(t, dict) and t.get("id")}
            except PagerDutyNotFound:
                pass
        if (not teams and auth.allow_incidents_without_team) or teams & set(person_teams):
            return
        name = escape(str(service.get("name") or service.get("id")))
        names = sorted({escape(str(t.get("summary") or t["id"])) for t in service.get("teams") or []
                        if isinstance(t, dict) and t.get("id")})
        owners = f"the {' and '.join(names)} team{'s' if len(names) > 1 else ''}" if names else "the teams that own it"
        log.info("%s may not trigger on %s (their teams %s, the service's %s; admins are listed in "
                 "authorization.admin_slack_users)", user, service.get("id"), person_teams, sorted(teams))
        raise Refusal(f"<@{user}>, only people on {owners} can trigger incidents on {name}, and you are not on "
                      f"{'it' if len(names) == 1 else 'any of them'} in PagerDuty. Nothing was sent to PagerDuty. "
                      f"{self.directory.ask_an_admin()}, or someone on {owners}.")

    async def mention(self, user_ref: dict[str, Any]) -> str:
        slack_id = await self.directory.slack_user_for(str(user_ref.get("id")))
        return f"<@{slack_id}>" if slack_id else escape(str(user_ref.get("summary") or user_ref.get("id")))

    # -- subcommands -----------------------------------------------------------------------------------

    async def mine(self, inv: Invocation) -> Reply:
        person, _ = await self.person(inv.user)
        found = [snapshot(i) for i in await self.pd.find_incidents(user_ids=[person.pd_id], statuses=OPEN)]
        if not found:
            return Reply("You have no open incidents assigned to you in PagerDuty.")
        head = f"Your open incidents in PagerDuty ({len(found)}):"
        return Reply(head, [{"type": "section", "text": {"type": "mrkdwn", "text": f"*{head}*"}},
                            *incident_rows(found)])

    async def open_incidents(self, inv: Invocation, name: str | None) -> Reply:
        if name:
            service = await self.service(name)
            ids, label = [str(service["id"])], escape(str(service.get("name") or service["id"]))
        else:
            ids = await self.services_here(inv.channel)
            if not ids:
                raise Refusal("No PagerDuty service is routed to this channel; name one, e.g. "
                              "`/pd open payments-api`.")
            label = ("the services routed to this channel" if self.routed_services(inv.channel)
                     else "this incident's service")
        found = [snapshot(i) for i in await self.pd.find_incidents(service_ids=ids, statuses=OPEN)]
        if not found:
            return Reply(f"No open incidents on {label}.")
        head = f"Open incidents on {label} ({len(found)}):"
        return Reply(head, [{"type": "section", "text": {"type": "mrkdwn", "text": f"*{head}*"}},
                            *incident_rows(found)])

    async def policies_for(self, inv: Invocation, target: str | None) -> list[tuple[str, str]]:
        """(policy id, policy name) pairs to show on-call for."""
        if target is None:
            ids = await self.services_here(inv.channel)
            if not ids:
                raise Refusal("No PagerDuty service is routed to this channel; name a service or escalation "
                              "policy, e.g. `/pd oncall payments-api`.")
            services = [await self.pd.get_service(sid) for sid in ids]
        else:
            try:
                services = [await self.service(target)]
            except Refusal:
                policies = await self.pd.find_escalation_policies(target)
                exact = [p for p in policies if str(p.get("name", "")).lower() == target.lower()]
                chosen = exact or policies
                if len(chosen) != 1:
                    raise Refusal(f"No single service or escalation policy is named “{escape(target)}”.") from None
                return [(str(chosen[0]["id"]), str(chosen[0].get("name") or chosen[0]["id"]))]
        refs = [s.get("escalation_policy") for s in services]
        pairs = {str(r["id"]): str(r.get("summary") or r["id"]) for r in refs if isinstance(r, dict) and r.get("id")}
        return sorted(pairs.items())

    async def oncall(self, inv: Invocation, target: str | None) -> Reply:
        lines: list[str] = []
        group_ids = await self.gateway.oncall_group_ids() if self.config.oncall_groups else {}
        for policy_id, policy_name in await self.policies_for(inv, target):
            levels: dict[int, list[str]] = {}
            entries = await self.pd.list_oncalls(policy_id)
            for entry in entries:
                user = entry.get("user")
                if not isinstance(user, dict):
                    continue
                who = await self.mention(user)
                level = levels.setdefault(int(entry.get("escalation_level") or 0), [])
                if who not in level:
                    level.append(who)
            lines.append(f"*On call now for {escape(policy_name)}*")
            lines += [f"Level {n}: {', '.join(people)}" for n, people in sorted(levels.items())]
            if not levels:
                lines.append("Nobody is on call.")
            groups = self.groups_for(policy_id, entries, group_ids)
            if groups:
                lines.append(f"Reach them in Slack: {', '.join(groups)}")
        return Reply("\n".join(lines))

    def groups_for(self, policy_id: str, entries: list[dict[str, Any]], ids: dict[str, str]) -> list[str]:
        """The on-call user groups kept for this policy (its levels, or a schedule on call in it), as mentions
        (this answer is the person's alone: nobody is notified)."""
        schedules = {str((e.get("schedule") or {}).get("id")) for e in entries if isinstance(e.get("schedule"), dict)}
        found = [handle for handle, rule in sorted(self.config.oncall_groups.items())
                 if rule.escalation_policy == policy_id or (rule.schedule and rule.schedule in schedules)]
        return [f"<!subteam^{ids[h]}|@{escape(h)}>" if h in ids else f"@{escape(h)}" for h in found]

    async def trigger(self, inv: Invocation, service_name: str, title: str, urgency: str) -> Reply:
        person, teams = await self.person(inv.user)
        service = await self.service(service_name)
        return await self.trigger_on(inv.user, person, teams, service, title, urgency)

    async def trigger_on(self, user: str, person: Person, teams: list[str], service: dict[str, Any], title: str,
                         urgency: str) -> Reply:
        """Create the incident once per request: PagerDuty holds the key, so a retry on any API process, after
        a restart or a lost answer, finds the open incident instead of paging again."""
        await self.authorize(user, teams, service)
        sid = str(service["id"])
        key = trigger_key(user, sid, title)
        existing = await self.pd.find_incidents(service_ids=[sid], incident_key=key, statuses=OPEN)
        again = bool(existing)
        if not existing:
            try:
                existing = [await self.pd.create_incident(sid, title, urgency, key, person.email)]
            except PagerDutyRefused:
                # Refused as a duplicate when an earlier attempt landed after all; anything else is real.
                existing = await self.pd.find_incidents(service_ids=[sid], incident_key=key, statuses=OPEN)
                if not existing:
                    raise
                again = True
        inc = snapshot(existing[0])
        label = link(inc.html_url, f"#{inc.number} {escape(inc.title)}")
        where = escape(str(service.get("name") or sid))
        if again:
            return Reply(f"Already triggered {label} on {where} a moment ago; no second incident was created.")
        return Reply(f"Triggered {label} on {where} ({escape(urgency)} urgency) as you. Its message appears in "
                     "the service's channel.")

    async def act(self, inv: Invocation, request: ct.Act) -> Reply:
        """Decided here first (the incident's status, who the person is, whether they may act), so the person
        reads one answer: the refusal, or that it is under way. The workflow decides again; anything it says
        later comes through the command's response_url, which reaches a DM or a channel without the bot."""
        try:
            raw = await self.pd.get_incident(str(request.number))
        except PagerDutyNotFound:
            raise Refusal(f"PagerDuty has no incident #{request.number}. Nothing was sent to PagerDuty.") from None
        inc = snapshot(raw)
        kind = ActionKind(request.action)
        label = f"#{inc.number} {escape(inc.title)}"
        if inc.status is Status.RESOLVED:
            raise Refusal(f"{label} is already resolved in PagerDuty; reopen it there first. Nothing was sent.")
        if kind is ActionKind.ACKNOWLEDGE and inc.status is Status.ACKNOWLEDGED:
            raise Refusal(f"{label} is already acknowledged in PagerDuty; nothing was sent.")
        person, teams = await self.person(inv.user)
        owners = await self.directory.incident_owners(raw)
        auth = self.config.authorization
        problem = refusal(ActorResolved(
            command_id="-", actor=person, actor_team_ids=teams, incident_team_ids=owners.team_ids,
            incident_team_names=owners.team_names, helper_slack_users=owners.helper_slack_users,
            admin_slack_users=owners.admin_slack_users, is_admin=inv.user in auth.admin_slack_users,
            allow_without_team=auth.allow_incidents_without_team), inv.user)
        if problem is not None:
            raise Refusal(problem)
        action = SlackAction(key=f"cmd:{kind.value}:{inv.trigger_id or inv.text}:{inv.user}", action=kind,
                             incident_id=inc.id, slack_user=inv.user, channel=inv.channel, message_ts=None,
                             response_url=inv.response_url)
        await self.gateway.deliver(inc.id, "slack_action", action, self.timing, 2.0, channels=self.channels)
        verb = "Acknowledging" if kind is ActionKind.ACKNOWLEDGE else "Resolving"
        return Reply(f"{verb} {label} in PagerDuty as you; the incident's message shows the outcome, and you hear "
                     "back here if it cannot be done.")


def trigger_key(slack_user: str, service_id: str, title: str) -> str:
    """The incident key of a `/pd trigger` request: who asked, on which service, for what. No clock: the same
    request is the same incident for as long as it is open, whenever and wherever it is retried."""
    seed = "\n".join([slack_user, service_id, " ".join(title.split())])
    return "slack-" + hashlib.sha256(seed.encode()).hexdigest()[:32]


def pagerduty_failed(exc: PagerDutyError, trigger: bool) -> str:
    retry = ("Run the same command again: it will not create a second incident." if trigger
             else "Nothing was changed; try again in a minute.")
    return f"PagerDuty could not answer ({escape(str(exc))}). {retry}"
