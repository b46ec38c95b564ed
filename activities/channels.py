"""Slack activities of the incident's dedicated channel: create it, invite people, post the summary, archive.

Permanent Slack answers are turned into sentences a person can act on (the scope to add, the workspace
setting that blocks it); transient ones (429, Slack down) are retried by the workflow's retry policy.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
import unicodedata
from collections.abc import Callable

from slack_sdk.web.async_client import AsyncWebClient
from temporalio import activity

from activities.channel_summary import summary_text
from activities.errors import PagerDutyError, SlackError, SlackRateLimited, SlackRefused
from activities.identity import Directory
from activities.pagerduty_api import PagerDutyApi
from activities.slack import slack_call
from workflows.channel_models import (
    ArchiveChannel,
    ChannelCreated,
    ChannelInvited,
    ConferenceLinkSet,
    CreateChannel,
    InviteToChannel,
    SetConferenceLink,
)
from workflows.channel_models import PostSummary as PostSummaryRequest

log = logging.getLogger(__name__)

MAX_NAME = 80  # Slack's limit on channel names
MAX_SUFFIX = 20  # inc-12-db, inc-12-db-2 … inc-12-db-20; then the creation is reported failed
SLUG_WORDS = 6
INVITE_BATCH = 100

HINTS = {
    "missing_scope": "the bridge's Slack app lacks the {scope} scope: add it under oauth_config.scopes.bot "
                     "(see slack-app-manifest.yml) and reinstall the app",
    "restricted_action": "this workspace lets only some members create channels, and the bridge's app is not "
                         "one of them: a Slack admin can allow it under Settings & permissions",
    "team_access_not_granted": "the bridge's app has no access to this workspace",
    "not_authed": "the bridge's Slack token was refused",
    "invalid_auth": "the bridge's Slack token was refused",
}


def slug(text: str, words: int = SLUG_WORDS) -> str:
    """Lowercase ascii words joined by hyphens: `DB down: 50% errors!` -> `db-down-50-errors`."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii").lower()
    return "-".join(re.findall(r"[a-z0-9]+", ascii_text)[:words])


def channel_name(request: CreateChannel) -> str:
    """The channel name from the template, with Slack's rules applied (lowercase, digits, - and _, ≤ 80).

    Too long, the slug is cut, never the number or id: wherever the template puts `{number}`, the name
    keeps it, so a second incident with the same title can never be taken for the first one's channel."""
    number = _token(request)
    limit = MAX_NAME - 3  # room for a -NN suffix
    words = slug(request.title)
    while True:
        name = _clean(request.name_template.format(number=number, slug=words, id=request.incident_id.lower(),
                                                   service=slug(request.service, 3)))
        if len(name) <= limit or not words:
            break
        words = words[: max(0, len(words) - (len(name) - limit))].rstrip("-")
    if not re.search(r"[a-z0-9]", name) or len(name) > limit:
        name = f"inc-{number}"
    return name


def _token(request: CreateChannel) -> str:
    return str(request.number) if request.number is not None else request.incident_id.lower()


def _clean(raw: str) -> str:
    name = re.sub(r"[^a-z0-9_-]+", "-", raw.lower())
    return re.sub(r"-{2,}", "-", name).strip("-_")


def names_incident(name: str, request: CreateChannel) -> bool:
    """Whether a channel name carries this incident's number (or id) as a word of its own."""
    tokens = {_token(request), request.incident_id.lower()}
    return any(re.search(rf"(^|[-_]){re.escape(t)}($|[-_])", name) for t in tokens)


def _explain(exc: SlackError, private: bool) -> str:
    code = str(exc.code or "")
    scope = "groups:write" if private else "channels:manage"
    hint = HINTS.get(code)
    return f"{hint.format(scope=scope)} (Slack said {code})" if hint else exc.message


class Spacing:
    """Calls of one Slack tier from this worker, spaced out: a storm of incidents that each get a channel
    (`dedicated = "always"`) waits here instead of drawing 429s (Tier 2 allows about 20 a minute)."""

    def __init__(self, per_minute: float, clock: Callable[[], float] = time.monotonic) -> None:
        self._gap, self._clock = 60.0 / per_minute, clock
        self._next = 0.0
        self._lock = asyncio.Lock()

    async def turn(self, max_wait: float = 20.0) -> None:
        """Wait for this call's slot; a slot further off than `max_wait` is a retry later (no Slack call)."""
        async with self._lock:
            wait = self._next - self._clock()
            if wait > max_wait:
                raise SlackRateLimited(f"Slack channel calls are spaced out here; next slot in {wait:.0f} s",
                                       retry_after=wait)
            self._next = max(self._next, self._clock()) + self._gap
        if wait > 0:
            await asyncio.sleep(wait)


class ChannelActivities:
    def __init__(self, client: AsyncWebClient, directory: Directory, pd: PagerDutyApi,
                 tier2_per_minute: float = 18, tier3_per_minute: float = 45) -> None:
        self._client, self._directory, self._pd = client, directory, pd
        self._tier2, self._tier3 = Spacing(tier2_per_minute), Spacing(tier3_per_minute)
        self._bot_user_id: str | None = None
        self._workspace_url: str | None = None

    @activity.defn(name="slack_create_channel")
    async def create_channel(self, request: CreateChannel) -> ChannelCreated:
        """Create the channel; a taken name gets -2, -3 …; a permanent refusal is explained, not raised."""
        base = channel_name(request)
        for attempt in range(1, MAX_SUFFIX + 1):
            name = base if attempt == 1 else f"{base}-{attempt}"
            await self._tier2.turn()
            try:
                response = await slack_call("create incident channel", lambda n=name: self._client.conversations_create(  # type: ignore[misc]
                    name=n, is_private=request.private))
            except SlackRefused as exc:
                if exc.code == "name_taken":
                    mine = await self._made_already(name, request.private) if names_incident(name, request) else None
                    if mine is not None:
                        # An earlier attempt made it (its answer was lost, or the click was retried): the same
                        # channel, never a second one.
                        log.info("incident %s: channel #%s made by an earlier attempt is kept", request.incident_id,
                                 name)
                        return ChannelCreated(channel=mine, name=name)
                    continue
                if str(exc.code or "").startswith("invalid_name") and name != f"inc-{request.incident_id.lower()}":
                    base = f"inc-{request.incident_id.lower()}"
                    continue
                return ChannelCreated(error=_explain(exc, request.private))
            except SlackError as exc:
                if exc.retryable:
                    raise
                return ChannelCreated(error=_explain(exc, request.private))
            channel = response.get("channel") or {}
            log.info("incident %s: created channel #%s (%s)", request.incident_id, channel.get("name"),
                     channel.get("id"))
            return ChannelCreated(channel=str(channel.get("id")), name=str(channel.get("name") or name))
        return ChannelCreated(error=f"every name from #{base} to #{base}-{MAX_SUFFIX} is taken in Slack; "
                                    "change [channels] name_template or free one of those names")

    async def _bot_user(self) -> str:
        if self._bot_user_id is None:
            await self._who_am_i()
        return self._bot_user_id or ""

    async def _who_am_i(self) -> None:
        response = await slack_call("who the bot is", lambda: self._client.auth_test())
        self._bot_user_id = str(response.get("user_id") or "")
        self._workspace_url = str(response.get("url") or "")

    async def channel_link(self, channel: str) -> str | None:
        """`https://<workspace>.slack.com/archives/<channel>`: opens the channel in Slack's app or browser."""
        if not self._workspace_url:
            await self._who_am_i()
        base = (self._workspace_url or "").rstrip("/")
        return f"{base}/archives/{channel}" if base.startswith("https://") else None

    @activity.defn(name="pd_set_conference_link")
    async def set_conference_link(self, request: SetConferenceLink) -> ConferenceLinkSet:
        """The incident's conference link in PagerDuty, as who asked for the channel; a refusal is explained
        (and logged), never raised: the channel works without it. Transient failures are retried."""
        url = await self.channel_link(request.channel)
        if url is None:
            log.warning("incident %s: no conference link set: Slack's auth.test gave no workspace URL",
                        request.incident_id, extra={"incident_id": request.incident_id})
            return ConferenceLinkSet(error="Slack did not say the workspace's address (auth.test url)")
        if not request.actor_email:
            # PagerDuty changes an incident only as a person (`From`, required by its API for this PUT), and nobody
            # asked for this channel (the policy made it): not tried, and never as someone who did not act.
            log.info("incident %s: conference link waits for a person to act from Slack (PagerDuty needs From)",
                     request.incident_id, extra={"incident_id": request.incident_id})
            return ConferenceLinkSet(url=url, needs_person=True)
        try:
            await self._pd.set_conference_url(request.incident_id, url, request.actor_email)
        except PagerDutyError as exc:
            if exc.retryable:
                raise
            log.warning("incident %s: conference link not set in PagerDuty: %s", request.incident_id, exc.message,
                        extra={"incident_id": request.incident_id})
            return ConferenceLinkSet(url=url, error=exc.message)
        log.info("incident %s: conference link set to %s", request.incident_id, url,
                 extra={"incident_id": request.incident_id})
        return ConferenceLinkSet(url=url)

    async def _made_already(self, name: str, private: bool) -> str | None:
        """The id of an open channel named `name` that this bot created, if there is one.

        Names carry the incident's number (or id), so such a channel is this incident's: an earlier attempt
        created it. Looked up among the bot's own channels (users.conversations), a few pages at most.
        """
        bot, cursor = await self._bot_user(), ""
        kind = "private_channel" if private else "public_channel"
        for _ in range(10):
            response = await slack_call("look for the incident channel", lambda c=cursor: (  # type: ignore[misc]
                self._client.users_conversations(types=kind, exclude_archived=True, limit=200, cursor=c or None)))
            for channel in response.get("channels") or []:
                if channel.get("name") == name and channel.get("creator") == bot:
                    return str(channel.get("id"))
            cursor = str((response.get("response_metadata") or {}).get("next_cursor") or "")
            if not cursor:
                return None
        return None

    @activity.defn(name="slack_invite_to_channel")
    async def invite(self, request: InviteToChannel) -> ChannelInvited:
        """Invite Slack users and the Slack accounts of PagerDuty users; unmapped people are skipped."""
        users = list(dict.fromkeys(request.slack_users))
        for pd_user_id in request.pd_user_ids:
            # Strict: a lookup that failed (PagerDuty or Slack unavailable) is retried, never taken for
            # "has no Slack account", or the on-call person would never be invited.
            slack_user = await self._directory.slack_user_for(pd_user_id, strict=True)
            if slack_user and slack_user not in users:
                users.append(slack_user)
        invited: list[str] = []
        for start in range(0, len(users), INVITE_BATCH):
            batch = users[start:start + INVITE_BATCH]
            await self._tier3.turn()
            try:
                await slack_call("invite to incident channel", lambda b=batch: self._client.conversations_invite(  # type: ignore[misc]
                    channel=request.channel, users=",".join(b), force=True))
            except SlackError as exc:
                if exc.retryable:
                    raise
                if exc.code != "already_in_channel":
                    # Refused for good (a guest, an external user, a missing scope): those asked are handled,
                    # so the invitation is not asked for again and again; the thread says why once.
                    return ChannelInvited(pd_user_ids=request.pd_user_ids, slack_users=users,
                                          error=_explain(exc, request.private))
            invited += batch
        return ChannelInvited(pd_user_ids=request.pd_user_ids, slack_users=invited)

    @activity.defn(name="slack_post_channel_summary")
    async def post_summary(self, request: PostSummaryRequest) -> None:
        """The final summary, from what PagerDuty recorded (the system of record), in the channel."""
        incident = await self._pd.get_incident(request.incident_id)
        entries = await self._pd.list_log_entries(request.incident_id, max_pages=5)
        text = summary_text(incident, entries)
        await slack_call("post incident summary", lambda: self._client.chat_postMessage(
            channel=request.channel, text=text, unfurl_links=False, unfurl_media=False))

    @activity.defn(name="slack_archive_channel")
    async def archive(self, request: ArchiveChannel) -> None:
        await self._tier2.turn()
        try:
            await slack_call("archive incident channel",
                             lambda: self._client.conversations_archive(channel=request.channel))
        except SlackError as exc:
            if exc.code != "already_archived":
                raise
