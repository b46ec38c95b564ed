"""Channels the bot manages: `conversations.create` / `.invite` / `.archive` / `.info` and their accessors.

Slack's rules as documented (see /work/shared/reference/slack.md §3.1, §4.1): a channel name is lowercase
letters, digits, `-` and `_`, at most 80 characters, and unique in the workspace (archived channels keep their
name); creating or managing a public channel needs `channels:manage`, a private one `groups:write`; the bot must
be a member of a channel to invite people into it or archive it; nothing can be posted in an archived channel.
"""

from __future__ import annotations

import itertools
import re
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from simulators._slack_model import Channel, Message, SlackError, SlackUser

NAME_MAX = 80
_NAME_CHARS = re.compile(r"[a-z0-9_-]+")
_PUNCTUATION = re.compile(r"[-_]+")

# Scopes that manage a public / a private channel; invitations also accept the narrower `*.invites` scopes.
MANAGE_SCOPE = {False: "channels:manage", True: "groups:write"}
INVITE_SCOPES = {False: ("channels:manage", "channels:write.invites"), True: ("groups:write", "groups:write.invites")}


def name_error(name: str) -> str | None:
    """The error Slack gives a channel name, or None if the name is valid."""
    if not name:
        return "invalid_name_required"
    if len(name) > NAME_MAX:
        return "invalid_name_maxlength"
    if not _NAME_CHARS.fullmatch(name):
        return "invalid_name_specials"
    if _PUNCTUATION.fullmatch(name):
        return "invalid_name_punctuation"
    return None


def _flag(value: Any) -> bool:
    """slack_sdk sends booleans as "1"/"0" in forms and as true/false in JSON."""
    return value is True or str(value).strip().lower() in {"1", "true"}


class ChannelMixin:
    if TYPE_CHECKING:
        lock: threading.RLock
        scopes: list[str]
        bot_user_id: str
        users: dict[str, SlackUser]
        channels: dict[str, Channel]
        _messages: dict[str, list[Message]]

        def channel(self, ref: Any) -> Channel: ...

    def __init__(self) -> None:
        self._channel_seq = itertools.count(1)

    # -- accessors for tests -------------------------------------------------------------------------

    def channel_by_name(self, name: str) -> Channel | None:
        """The channel called `name` (a leading '#' is ignored), archived ones included; None if there is none."""
        with self.lock:
            return next((c for c in self.channels.values() if c.name == name.lstrip("#")), None)

    def members(self, channel_id: str) -> set[str]:
        """Everyone in the channel, the bot included when it is a member; KeyError for an unknown id."""
        with self.lock:
            channel = self.channels[channel_id]
            return set(channel.members) | ({self.bot_user_id} if channel.bot_is_member else set())

    def created_channels(self) -> list[Channel]:
        """Channels made through conversations.create, oldest first."""
        with self.lock:
            return [c for c in self.channels.values() if c.created_by_bot]

    # -- checks shared with posting --------------------------------------------------------------------

    def writable(self, channel: Channel) -> Channel:
        """`channel` if the bot may post there; else the error Slack gives."""
        if channel.is_archived:
            raise SlackError("is_archived")
        if not channel.bot_is_member:
            raise SlackError("not_in_channel")
        return channel

    def _require_scope(self, *accepted: str) -> None:
        if not any(scope in self.scopes for scope in accepted):
            raise SlackError("missing_scope", needed=accepted[0], provided=",".join(self.scopes))

    def _conversation(self, p: dict[str, Any]) -> Channel:
        """A channel the conversations.* methods accept: named by id, not a DM."""
        channel = self.channels.get(str(p.get("channel") or ""))
        if channel is None:
            raise SlackError("channel_not_found")
        if channel.is_im:
            raise SlackError("method_not_supported_for_channel_type")
        return channel

    # -- Web API -------------------------------------------------------------------------------------

    def _conversation_methods(self) -> dict[str, Callable[[dict[str, Any]], dict[str, Any]]]:
        return {
            "conversations.create": self._conversations_create,
            "conversations.invite": self._conversations_invite,
            "conversations.archive": self._conversations_archive,
            "conversations.info": self._conversations_info,
            "users.conversations": self._users_conversations,
            "conversations.open": self._conversations_open,
        }

    def _conversations_open(self, p: dict[str, Any]) -> dict[str, Any]:
        """The bot's direct message with one person: the same D… conversation every time (scope im:write)."""
        self._require_scope("im:write")
        users = [u.strip() for u in str(p.get("users") or "").split(",") if u.strip()]
        if not users:
            raise SlackError("users_list_not_supplied")
        if len(users) > 1:
            raise SlackError("not_supported")  # group DMs (mpim) are not simulated
        if users[0] == self.bot_user_id:
            raise SlackError("cannot_dm_bot")
        if users[0] not in self.users:
            raise SlackError("user_not_found")
        opened = "D" + users[0][1:] in self.channels
        return {"channel": {"id": self.channel(users[0]).id}, "already_open": opened}

    def _users_conversations(self, p: dict[str, Any]) -> dict[str, Any]:
        """The channels the bot is a member of (one page: the simulator's workspaces are small)."""
        types = {t.strip() for t in str(p.get("types") or "public_channel").split(",") if t.strip()}
        if "public_channel" in types:
            self._require_scope("channels:read")
        if "private_channel" in types:
            self._require_scope("groups:read")
        hide_archived = _flag(p.get("exclude_archived"))
        found = [c.to_api() for c in self.channels.values()
                 if c.bot_is_member and not c.is_im and not (hide_archived and c.is_archived)
                 and ("private_channel" if c.is_private else "public_channel") in types]
        return {"channels": found, "response_metadata": {"next_cursor": ""}}

    def _conversations_create(self, p: dict[str, Any]) -> dict[str, Any]:
        private = _flag(p.get("is_private"))
        self._require_scope(MANAGE_SCOPE[private])
        name = str(p.get("name") or "")
        error = name_error(name)
        if error:
            raise SlackError(error)
        if self.channel_by_name(name) is not None:
            raise SlackError("name_taken")
        channel = Channel(
            f"C1{next(self._channel_seq):07d}", name, bot_is_member=True, is_private=private, created_by_bot=True,
            created=int(time.time()), creator=self.bot_user_id,
        )
        self.channels[channel.id] = channel
        self._messages.setdefault(channel.id, [])
        return {"channel": channel.to_api()}

    def _conversations_invite(self, p: dict[str, Any]) -> dict[str, Any]:
        channel = self._conversation(p)
        self._require_scope(*INVITE_SCOPES[channel.is_private])
        if channel.is_archived:
            raise SlackError("is_archived")
        if not channel.bot_is_member:
            raise SlackError("not_in_channel")
        named = [u.strip() for u in str(p.get("users") or "").split(",") if u.strip()]
        if not named:
            raise SlackError("no_user")
        if self.bot_user_id in named:
            raise SlackError("cant_invite_self")
        unknown = [u for u in named if u not in self.users]
        if unknown and not _flag(p.get("force")):
            raise SlackError("user_not_found")
        known = [u for u in named if u in self.users]
        if not known:
            raise SlackError("user_not_found")
        new = [u for u in known if u not in channel.members]
        if not new:
            raise SlackError("already_in_channel")
        channel.members.update(new)
        return {"channel": channel.to_api()}

    def _conversations_archive(self, p: dict[str, Any]) -> dict[str, Any]:
        channel = self._conversation(p)
        self._require_scope(MANAGE_SCOPE[channel.is_private])
        if channel.is_archived:
            raise SlackError("already_archived")
        if not channel.bot_is_member:
            raise SlackError("not_in_channel")
        channel.is_archived = True
        return {}

    def _conversations_info(self, p: dict[str, Any]) -> dict[str, Any]:
        channel = self.channels.get(str(p.get("channel") or ""))
        if channel is None:
            raise SlackError("channel_not_found")
        return {"channel": channel.to_api()}
