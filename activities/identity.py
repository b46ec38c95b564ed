"""Who is who: Slack users to PagerDuty users (to act as them) and back (to mention them).

The explicit table in the config wins; otherwise emails must match exactly, ignoring case. A miss is
an `IdentityMiss` whose message tells the person what failed and where to add a mapping.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient
from temporalio import activity

from activities.errors import BridgeError, PagerDutyNotFound, SlackUnavailable, slack_error
from activities.metrics import MENTION_LOOKUP_FAILURES
from activities.pagerduty_api import PagerDutyApi
from settings import BridgeConfig
from workflows.models import ActorResolved, Model, Person
from workflows.policy import refusal

log = logging.getLogger(__name__)


class IdentityMiss(Exception):
    pass


class ResolveActorRequest(Model):
    incident_id: str
    command_id: str
    slack_user: str
    target_slack_user: str | None = None


MAPPING_HINT = "add it under [identity.slack_to_pagerduty] in the bridge config (BRIDGE_CONFIG)"
MAX_FAILED_REMEMBERED = 1000  # people whose recent lookup failed, remembered so a retry waits for the cache


class TtlCache:
    def __init__(self, ttl: float, clock: Callable[[], float] = time.monotonic) -> None:
        self._ttl, self._clock = ttl, clock
        self._items: dict[str, tuple[float, Any]] = {}

    def get(self, key: str) -> tuple[bool, Any]:
        hit = self._items.get(key)
        if hit is None or hit[0] < self._clock():
            self._items.pop(key, None)
            return False, None
        return True, hit[1]

    def put(self, key: str, value: Any, ttl: float | None = None) -> None:
        self._items[key] = (self._clock() + (self._ttl if ttl is None else ttl), value)


class Directory:
    def __init__(self, pd: PagerDutyApi, slack: AsyncWebClient, config: BridgeConfig, ttl: float = 300.0,
                 on_miss: Callable[[str], None] | None = None, clock: Callable[[], float] = time.monotonic,
                 failure_ttl: float = 30.0) -> None:
        self._pd, self._slack, self._config = pd, slack, config
        self._failure_ttl = min(failure_ttl, ttl)  # a failed lookup is retried soon, not after the full ttl
        self._people, self._slack_ids, self._teams = (TtlCache(ttl, clock) for _ in range(3))
        self._lookup_failed: dict[str, str] = {}  # why a recent lookup failed (its cache entry says until when)
        self._on_miss = on_miss or (lambda _direction: None)

    async def person(self, slack_user: str) -> tuple[Person, list[str]]:
        """The PagerDuty user (and their team ids) behind a Slack user, or IdentityMiss."""
        hit, value = self._people.get(slack_user)
        if hit:
            return value  # type: ignore[no-any-return]  # the cache stores exactly this tuple
        explicit = self._config.identity.slack_to_pagerduty.get(slack_user)
        if explicit:
            try:
                user = await self._pd.get_user(explicit)
            except PagerDutyNotFound:
                self._on_miss("slack_to_pagerduty")
                log.warning("%s is mapped to PagerDuty user %s in [identity.slack_to_pagerduty], but PagerDuty "
                            "has no such user; fix that entry in the bridge config", slack_user, explicit)
                raise IdentityMiss(
                    f"<@{slack_user}>, your Slack account is linked to a PagerDuty user that PagerDuty no longer "
                    f"has, so nothing was sent to PagerDuty. {self.ask_an_admin()} to link your account again."
                ) from None
        else:
            email = await self._slack_email(slack_user)
            found = await self._pd.find_user_by_email(email)
            if found is None:
                self._on_miss("slack_to_pagerduty")
                log.warning("no PagerDuty user has the login email of Slack user %s; align the emails, or %s "
                            '(e.g. %s = "P…")', slack_user, MAPPING_HINT, slack_user)
                raise IdentityMiss(
                    f"<@{slack_user}>, the bridge cannot find your PagerDuty account: no PagerDuty user logs in "
                    f"with {email}, the email of your Slack profile. Nothing was sent to PagerDuty. "
                    f"{self.ask_an_admin()} to link your account, or use the same email in both."
                )
            user = found
        person = Person(pd_id=str(user["id"]), email=str(user["email"]), name=str(user.get("name") or ""))
        teams = [str(t["id"]) for t in user.get("teams") or [] if isinstance(t, dict) and t.get("id")]
        self._people.put(slack_user, (person, teams))
        return person, teams

    async def _slack_email(self, slack_user: str) -> str:
        try:
            info = await self._slack.users_info(user=slack_user)
        except SlackApiError as exc:
            error = str(exc.response.get("error", ""))
            if error == "user_not_found":
                raise IdentityMiss(f"Slack does not know user {slack_user}.") from None
            raise slack_error(exc.response.status_code, error, exc.response.headers.get("Retry-After"),
                              "look up Slack user") from None
        email = ((info.get("user") or {}).get("profile") or {}).get("email")
        if not email:
            self._on_miss("slack_to_pagerduty")
            log.warning("Slack shared no email for %s (the app needs the users:read.email scope); %s",
                        slack_user, MAPPING_HINT)
            raise IdentityMiss(
                f"<@{slack_user}>, the bridge cannot find your PagerDuty account (Slack did not share your "
                f"email with it). Nothing was sent to PagerDuty. {self.ask_an_admin()} to link your account."
            )
        return str(email)

    def _known_slack_id(self, pd_user_id: str, strict: bool) -> tuple[bool, str | None]:
        """(True, the answer) when the config or the cache has it; a strict look-up that failed a moment ago
        raises instead of asking Slack again (rate limited or down) before its cache entry has passed."""
        reverse = self._config.identity.pagerduty_to_slack()
        if pd_user_id in reverse:
            return True, reverse[pd_user_id]
        hit, value = self._slack_ids.get(pd_user_id)
        if hit and (value is not None or not strict):
            return True, value
        if hit and strict and pd_user_id in self._lookup_failed:
            raise SlackUnavailable(f"looking up PagerDuty user {pd_user_id} in Slack failed a moment ago: "
                                   f"{self._lookup_failed[pd_user_id]}")
        return False, None

    async def slack_user_for(self, pd_user_id: str, strict: bool = False) -> str | None:
        """The Slack user to mention for a PagerDuty user, or None (then the name is shown).

        With `strict`, None means the person has no Slack account: a lookup that failed raises (retryably).
        """
        hit, value = self._known_slack_id(pd_user_id, strict)
        if hit:
            return value
        slack_id: str | None = None
        try:
            email = (await self._pd.get_user(pd_user_id)).get("email")
            if email:
                found = await self._slack.users_lookupByEmail(email=str(email))
                slack_id = str((found.get("user") or {}).get("id") or "") or None
        except PagerDutyNotFound:
            self._on_miss("pagerduty_to_slack")
        except SlackApiError as exc:
            if exc.response.get("error") != "users_not_found":
                self._mention_lookup_failed(pd_user_id, "slack", str(exc.response.get("error") or exc))
                if strict:
                    raise SlackUnavailable(f"looking up PagerDuty user {pd_user_id} in Slack failed: "
                                           f"{exc.response.get('error') or exc}") from None
                return None
            self._on_miss("pagerduty_to_slack")
        except BridgeError as exc:
            # A mention is worth a lookup, never the message: show the name and try again a little later.
            self._mention_lookup_failed(pd_user_id, "pagerduty", str(exc))
            if strict:
                raise
            return None
        except (aiohttp.ClientError, TimeoutError) as exc:
            self._mention_lookup_failed(pd_user_id, "slack", f"Slack unreachable ({type(exc).__name__})")
            if strict:
                raise SlackUnavailable(f"looking up PagerDuty user {pd_user_id}: Slack unreachable") from None
            return None
        self._slack_ids.put(pd_user_id, slack_id)
        self._lookup_failed.pop(pd_user_id, None)
        return slack_id

    def _mention_lookup_failed(self, pd_user_id: str, source: str, reason: str) -> None:
        log.warning("cannot look up PagerDuty user %s for a Slack mention (%s); showing the name: %s",
                    pd_user_id, source, reason)
        MENTION_LOOKUP_FAILURES.labels(source).inc()
        self._slack_ids.put(pd_user_id, None, ttl=self._failure_ttl)
        self._lookup_failed[pd_user_id] = reason[:200]
        while len(self._lookup_failed) > MAX_FAILED_REMEMBERED:
            self._lookup_failed.pop(next(iter(self._lookup_failed)))

    async def incident_teams(self, incident_id: str) -> list[str]:
        """The incident's own teams plus those of its service and escalation policy (DESIGN §3)."""
        return (await self.incident_owners(await self._pd.get_incident(incident_id))).team_ids

    async def owners_of(self, incident_id: str) -> Owners:
        return await self.incident_owners(await self._pd.get_incident(incident_id))

    def ask_an_admin(self) -> str:
        admins = [f"<@{u}>" for u in self._config.authorization.admin_slack_users]
        return f"Ask an admin of the bridge ({', '.join(admins)})" if admins else "Ask whoever runs the bridge"

    async def incident_owners(self, incident: dict[str, Any]) -> Owners:
        """Who owns an incident (its teams, those of its service and escalation policy) and who can help."""
        teams = {str(t["id"]): str(t.get("summary") or t["id"]) for t in incident.get("teams") or [] if t.get("id")}
        for kind, ref in (("service", incident.get("service")), ("policy", incident.get("escalation_policy"))):
            if not isinstance(ref, dict) or not ref.get("id"):
                continue
            key = f"{kind}:{ref['id']}"
            hit, cached = self._teams.get(key)
            if not hit:
                try:
                    obj = await (self._pd.get_service(ref["id"]) if kind == "service"
                                 else self._pd.get_escalation_policy(ref["id"]))
                    cached = {str(t["id"]): str(t.get("summary") or t["id"]) for t in obj.get("teams") or []
                              if t.get("id")}
                except PagerDutyNotFound:
                    cached = {}
                self._teams.put(key, cached)
            teams.update(cached)
        helpers = []
        for assignment in incident.get("assignments") or []:
            assignee = assignment.get("assignee") if isinstance(assignment, dict) else None
            if isinstance(assignee, dict) and assignee.get("id"):
                try:
                    slack_id = await self.slack_user_for(str(assignee["id"]))
                except BridgeError:
                    slack_id = None  # who can help is a courtesy: a failed lookup names nobody
                if slack_id:
                    helpers.append(slack_id)
        ids = sorted(teams)
        return Owners(team_ids=ids, team_names=sorted({teams[t] for t in ids}, key=str.lower),
                      helper_slack_users=helpers, admin_slack_users=list(self._config.authorization.admin_slack_users))


class Owners(Model):
    team_ids: list[str]
    team_names: list[str]
    helper_slack_users: list[str]
    admin_slack_users: list[str]


class IdentityActivities:
    def __init__(self, directory: Directory, config: BridgeConfig) -> None:
        self._directory, self._config = directory, config

    @activity.defn(name="resolve_actor")
    async def resolve_actor(self, request: ResolveActorRequest) -> ActorResolved:
        auth = self._config.authorization
        base = ActorResolved(command_id=request.command_id, is_admin=request.slack_user in auth.admin_slack_users,
                             allow_without_team=auth.allow_incidents_without_team)
        try:
            actor, actor_teams = await self._directory.person(request.slack_user)
            target = None
            if request.target_slack_user:
                try:
                    target, _ = await self._directory.person(request.target_slack_user)
                except IdentityMiss as miss:
                    return base.model_copy(update={
                        "error": f"Cannot reassign to <@{request.target_slack_user}>: {miss}"})
            owners = await self._directory.owners_of(request.incident_id)
        except IdentityMiss as miss:
            return base.model_copy(update={"error": str(miss)})
        facts = base.model_copy(update={
            "actor": actor, "target": target, "actor_team_ids": actor_teams, "incident_team_ids": owners.team_ids,
            "incident_team_names": owners.team_names, "helper_slack_users": owners.helper_slack_users,
            "admin_slack_users": owners.admin_slack_users})
        if refusal(facts, request.slack_user) is not None:
            log.info("incident %s: %s may not act (their teams %s, the incident's %s; admins are listed in "
                     "authorization.admin_slack_users)", request.incident_id, request.slack_user, actor_teams,
                     owners.team_ids, extra={"incident_id": request.incident_id})
        return facts
