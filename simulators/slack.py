"""A Slack Web API + interactivity simulator over in-memory state.

Serve `sim.app`, point slack_sdk at `<url>/api/` and the simulator's `interactions_url` at the bridge's
interactivity endpoint. `click()` / `submit_view()` play the human: they build realistic signed payloads from
the messages and modals the bridge created. Web API methods live here; routes and the interaction payload
builders are in `simulators._slack_api` and `simulators._slack_interact`, the conversations.* methods (create,
invite, archive, info) in `simulators._slack_channels`.
"""

from __future__ import annotations

import itertools
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI

from simulators._slack_api import build_app
from simulators._slack_channels import ChannelMixin
from simulators._slack_commands import CommandMixin, CommandRun
from simulators._slack_interact import InteractionMixin
from simulators._slack_limits import Clock, MethodCount, RateLimiter
from simulators._slack_model import Call, Channel, Ephemeral, Interaction, Message, SlackError, SlackUser, View
from simulators._slack_suggest import SuggestMixin
from simulators._slack_usergroups import UserGroup, UserGroupMixin

__all__ = [
    "Call",
    "Channel",
    "CommandRun",
    "Ephemeral",
    "Interaction",
    "Message",
    "MethodCount",
    "SlackError",
    "SlackSimulator",
    "SlackUser",
    "UserGroup",
    "View",
]

DEFAULT_SCOPES = [
    "chat:write", "chat:write.public", "commands", "users:read", "users:read.email", "channels:read",
    "channels:manage", "groups:write", "groups:read", "im:write",
]
# Only installs with on-call user groups need these (the sandbox grants them).
USERGROUP_SCOPES = ["usergroups:read", "usergroups:write"]


@dataclass
class _Faults:
    rate_limited: dict[str, list[int]] = field(default_factory=dict)  # method -> [remaining, retry_after]
    failing: dict[str, list[tuple[str, int]]] = field(default_factory=dict)  # method -> [(error, remaining)]


class SlackSimulator(InteractionMixin, CommandMixin, ChannelMixin, SuggestMixin, UserGroupMixin):
    """One simulated workspace with a single bot; thread-safe (the server thread and tests share it)."""

    def __init__(
        self,
        signing_secret: str,
        bot_token: str,
        interactions_url: str | None = None,
        *,
        public_url: str | None = None,
        rate_limits: bool = False,
        clock: Clock = time.monotonic,
    ) -> None:
        self.signing_secret = signing_secret
        self.bot_token = bot_token
        self.interactions_url = interactions_url
        self.public_url = public_url
        self.team_id, self.team_domain, self.api_app_id = "T0SIM", "sim-workspace", "A0SIMAPP"
        self.bot_user_id, self.bot_id = "U0BOT", "B0BOT"
        self.scopes = list(DEFAULT_SCOPES)
        self.lock = threading.RLock()
        self.users: dict[str, SlackUser] = {}
        self.channels: dict[str, Channel] = {}
        self.ephemerals: list[Ephemeral] = []
        self.views: list[View] = []
        self.calls: list[Call] = []
        self._messages: dict[str, list[Message]] = {}
        self._last_ts = 0
        self._view_ids = itertools.count(1)
        self._faults = _Faults()
        self.limiter = RateLimiter(enabled=rate_limits, clock=clock)  # Slack's own limits, off unless asked for
        self._app: FastAPI | None = None
        InteractionMixin.__init__(self)
        CommandMixin.__init__(self)
        ChannelMixin.__init__(self)
        SuggestMixin.__init__(self)
        UserGroupMixin.__init__(self)

    @property
    def app(self) -> FastAPI:
        if self._app is None:
            self._app = build_app(self)
        return self._app

    # -- seed data ---------------------------------------------------------------------------------

    def add_user(self, id: str, name: str, email: str, real_name: str | None = None) -> SlackUser:
        with self.lock:
            user = self.users[id] = SlackUser(id, name, email, real_name or name.title())
            return user

    def add_channel(
        self, id: str, name: str, bot_is_member: bool = True, *, members: set[str] | None = None,
        is_private: bool = False,
    ) -> Channel:
        with self.lock:
            channel = Channel(id, name.lstrip("#"), bot_is_member, is_private, members=set(members or ()))
            self.channels[id] = channel
            self._messages.setdefault(id, [])
            return channel

    def seed_demo(self) -> None:
        for uid, name, real in [
            ("U0ALICE", "alice", "Alice Adams"),
            ("U0BOB", "bob", "Bob Brown"),
            ("U0CAROL", "carol", "Carol Chen"),
            ("U0DAVE", "dave", "Dave Diaz"),
            ("U0EVE", "eve", "Eve Evans"),  # deliberately has no PagerDuty account
            ("U0LEAD", "lead", "Lee Lead"),
        ]:
            self.add_user(uid, name, f"{name}@example.com", real)
        for id, name in [("C0DEFAULT", "#incidents"), ("C0PAYMENTS", "#payments-oncall"),
                         ("C0PLATFORM", "#platform-oncall")]:
            self.add_channel(id, name, members=set(self.users))

    # -- state for assertions ------------------------------------------------------------------------

    def messages(self, channel: str) -> list[Message]:
        """Root messages of `channel`, oldest first (deleted ones left out)."""
        with self.lock:
            return [m for m in self._messages.get(channel, []) if not m.deleted]

    def thread(self, channel: str, ts: str) -> list[Message]:
        with self.lock:
            return [m for m in self.find_message(channel, ts).replies if not m.deleted]

    def find_message(self, channel: str, ts: str) -> Message:
        """A root message or a thread reply; LookupError if unknown."""
        with self.lock:
            for root in self._messages.get(channel, []):
                if root.ts == ts:
                    return root
                for reply in root.replies:
                    if reply.ts == ts:
                        return reply
        raise LookupError(f"no message {ts} in {channel}")

    def calls_to(self, method: str) -> list[Call]:
        with self.lock:
            return [c for c in self.calls if c.method == method]

    def call_counts(self) -> list[MethodCount]:
        """Web API calls and 429s per method and channel (counted whether or not the limits are on)."""
        with self.lock:
            return self.limiter.counts()

    def enforce_rate_limits(self, enabled: bool = True) -> None:
        """Switch Slack's documented limits on or off (see `simulators._slack_limits`)."""
        with self.lock:
            self.limiter.enabled = enabled

    # -- fault injection -----------------------------------------------------------------------------

    def rate_limit(self, method: str, count: int, retry_after: int = 1) -> None:
        """The next `count` calls of `method` get HTTP 429 + Retry-After, as Slack's per-method limiter does."""
        with self.lock:
            self._faults.rate_limited[method] = [count, retry_after]

    def fail(self, method: str, error: str, count: int = 1) -> None:
        """The next `count` calls of `method` answer `{"ok": false, "error": error}`."""
        with self.lock:
            self._faults.failing.setdefault(method, []).append((error, count))

    def clear_faults(self) -> None:
        with self.lock:
            self._faults = _Faults()

    # -- Web API -----------------------------------------------------------------------------------

    def call(
        self, method: str, params: dict[str, Any], token: str | None
    ) -> tuple[int, dict[str, Any], dict[str, str]]:
        """Run one Web API call; returns (HTTP status, JSON body, extra headers)."""
        headers = {"X-OAuth-Scopes": ",".join(self.scopes), "X-Accepted-OAuth-Scopes": ""}
        with self.lock:
            body = self._call_locked(method, params, token, headers)
            status = 429 if "Retry-After" in headers else 200
            self.calls.append(Call(method, dict(params), time.time(), bool(body["ok"]), body.get("error")))
            return status, body, headers

    def _call_locked(
        self, method: str, params: dict[str, Any], token: str | None, headers: dict[str, str]
    ) -> dict[str, Any]:
        if token != self.bot_token:
            return {"ok": False, "error": "invalid_auth"}
        retry_after = self.limiter.check(method, self._channel_id(params) if "channel" in params else None)
        if retry_after is not None:
            headers["Retry-After"] = str(retry_after)
            return {"ok": False, "error": "ratelimited"}
        limit = self._faults.rate_limited.get(method)
        if limit and limit[0] > 0:
            limit[0] -= 1
            headers["Retry-After"] = str(limit[1])
            return {"ok": False, "error": "ratelimited"}
        failing = self._faults.failing.get(method)
        if failing:
            error, remaining = failing[0]
            failing[0] = (error, remaining - 1)
            if remaining <= 1:
                failing.pop(0)
            return {"ok": False, "error": error}
        handler = self._methods().get(method)
        if handler is None:
            return {"ok": False, "error": "unknown_method"}
        try:
            return {"ok": True, **handler(params)}
        except SlackError as exc:
            return {"ok": False, "error": exc.error, **exc.extra}

    def _methods(self) -> dict[str, Callable[[dict[str, Any]], dict[str, Any]]]:
        return {
            "auth.test": self._auth_test,
            "chat.postMessage": self._post_message,
            "chat.update": self._update,
            "chat.delete": self._delete,
            "chat.postEphemeral": self._post_ephemeral,
            "views.open": self._views_open,
            "views.push": self._views_open,
            "views.update": self._views_update,
            "users.info": self._users_info,
            "users.lookupByEmail": self._lookup_by_email,
            "conversations.history": self._history,
            "conversations.replies": self._replies,
            **self._conversation_methods(),
            **self._usergroup_methods(),
        }

    def next_ts(self) -> str:
        """Like Slack's: the time of posting in microseconds, unique and increasing within the workspace."""
        with self.lock:
            self._last_ts = max(int(time.time() * 1_000_000), self._last_ts + 1)
            return f"{self._last_ts // 1_000_000}.{self._last_ts % 1_000_000:06d}"

    def channel(self, ref: Any) -> Channel:
        """By id, by name (with or without '#'), or a user id (the bot's DM with that user)."""
        key = str(ref or "")
        found = self.channels.get(key) or next((c for c in self.channels.values() if c.name == key.lstrip("#")), None)
        if found is None and key in self.users:
            dm_id = "D" + key[1:]  # like Slack, posting to a user id lands in the bot's DM (a D... channel)
            found = self.channels.get(dm_id) or self.add_channel(dm_id, f"@{self.users[key].name}", members={key})
        if found is None:
            raise SlackError("channel_not_found")
        return found

    def _channel_id(self, params: dict[str, Any]) -> str:
        try:
            return self.channel(params.get("channel")).id
        except SlackError:
            return str(params.get("channel"))

    def _auth_test(self, _: dict[str, Any]) -> dict[str, Any]:
        return {
            "url": f"https://{self.team_domain}.slack.com/",
            "team": "Sim Workspace",
            "user": "pd-bridge",
            "team_id": self.team_id,
            "user_id": self.bot_user_id,
            "bot_id": self.bot_id,
        }

    def _post_message(self, p: dict[str, Any]) -> dict[str, Any]:
        channel = self.writable(self.channel(p.get("channel")))
        text, blocks = str(p.get("text") or ""), _blocks(p.get("blocks"))
        if not text and not blocks:
            raise SlackError("no_text")
        thread_ts = str(p.get("thread_ts") or "") or None
        msg = Message(self.next_ts(), channel.id, text, blocks, self.bot_user_id, self.bot_id, thread_ts)
        if thread_ts:
            parent = self.find_message(channel.id, thread_ts) if self._has(channel.id, thread_ts) else None
            if parent is None:
                raise SlackError("thread_not_found")
            root = parent if parent.thread_ts is None else self.find_message(channel.id, parent.thread_ts)
            msg.thread_ts = root.ts  # Slack files a reply-to-a-reply under the thread's root
            root.replies.append(msg)
        else:
            self._messages[channel.id].append(msg)
        return {"channel": channel.id, "ts": msg.ts, "message": msg.to_api()}

    def _update(self, p: dict[str, Any]) -> dict[str, Any]:
        channel = self.channel(p.get("channel"))
        ts = str(p.get("ts") or "")
        if channel.is_archived:
            raise SlackError("is_archived")
        if not self._has(channel.id, ts):
            raise SlackError("message_not_found")
        msg = self.find_message(channel.id, ts)
        # Slack drops the old blocks when only text is sent, and keeps the old text when only blocks are.
        text = str(p["text"]) if "text" in p and p["text"] is not None else msg.text
        blocks = _blocks(p.get("blocks")) if "blocks" in p else []
        msg.revise(text, blocks)
        return {"channel": channel.id, "ts": msg.ts, "text": msg.text, "message": msg.to_api()}

    def _delete(self, p: dict[str, Any]) -> dict[str, Any]:
        channel = self.channel(p.get("channel"))
        ts = str(p.get("ts") or "")
        if not self._has(channel.id, ts):
            raise SlackError("message_not_found")
        self.find_message(channel.id, ts).deleted = True
        return {"channel": channel.id, "ts": ts}

    def _post_ephemeral(self, p: dict[str, Any]) -> dict[str, Any]:
        channel = self.channel(p.get("channel"))
        if not channel.bot_is_member:
            # Like Slack: the bot cannot post, even ephemerally, where it is not a member (a DM between two
            # people, a private channel it was not invited to).
            raise SlackError("channel_not_found")
        if channel.is_archived:
            raise SlackError("is_archived")
        user = str(p.get("user") or "")
        if user not in self.users:
            raise SlackError("user_not_found")
        ts = self.next_ts()
        thread_ts = str(p.get("thread_ts") or "") or None
        self.ephemerals.append(
            Ephemeral(channel.id, user, ts, str(p.get("text") or ""), _blocks(p.get("blocks")), thread_ts)
        )
        return {"message_ts": ts}

    def _views_open(self, p: dict[str, Any]) -> dict[str, Any]:
        user_id = self.consume_trigger(str(p.get("trigger_id") or ""))
        view = View(f"V{next(self._view_ids):08d}", user_id, _json_obj(p.get("view"), "invalid_arguments"))
        self.views.append(view)
        return {"view": view.to_api(self.team_id, self.api_app_id, self.bot_id)}

    def _views_update(self, p: dict[str, Any]) -> dict[str, Any]:
        view_id, external_id = p.get("view_id"), p.get("external_id")
        new = _json_obj(p.get("view"), "invalid_arguments")
        view = next((v for v in self.views if v.id == view_id or (external_id and v.external_id == external_id)), None)
        if view is None:
            raise SlackError("not_found")
        if p.get("hash") and p["hash"] != view.hash:
            raise SlackError("hash_conflict")
        view.replace(new)
        return {"view": view.to_api(self.team_id, self.api_app_id, self.bot_id)}

    def _users_info(self, p: dict[str, Any]) -> dict[str, Any]:
        user = self.users.get(str(p.get("user") or ""))
        if user is None:
            raise SlackError("user_not_found")
        return {"user": user.to_api(self.team_id)}

    def _lookup_by_email(self, p: dict[str, Any]) -> dict[str, Any]:
        email = str(p.get("email") or "").strip().lower()
        user = next((u for u in self.users.values() if u.email.lower() == email), None)
        if user is None:
            raise SlackError("users_not_found")
        return {"user": user.to_api(self.team_id)}

    def _history(self, p: dict[str, Any]) -> dict[str, Any]:
        channel = self.channel(p.get("channel"))
        roots = [m.to_api() for m in reversed(self._messages[channel.id]) if not m.deleted]
        return {"messages": roots[: int(p.get("limit") or 100)], "has_more": False}

    def _replies(self, p: dict[str, Any]) -> dict[str, Any]:
        channel = self.channel(p.get("channel"))
        ts = str(p.get("ts") or "")
        if not self._has(channel.id, ts):
            raise SlackError("thread_not_found")
        root = self.find_message(channel.id, ts)
        return {"messages": [root.to_api()] + [r.to_api() for r in root.replies if not r.deleted], "has_more": False}

    def _has(self, channel: str, ts: str) -> bool:
        try:
            self.find_message(channel, ts)
        except LookupError:
            return False
        return True


def _json_obj(value: Any, error: str) -> dict[str, Any]:
    """Form-encoded calls send nested objects as JSON strings; JSON calls send them as objects."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            raise SlackError(error) from None
    if not isinstance(value, dict):
        raise SlackError(error)
    return value


def _blocks(value: Any) -> list[dict[str, Any]]:
    if value is None or value == "":
        return []
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            raise SlackError("invalid_blocks") from None
    if not isinstance(value, list) or not all(isinstance(b, dict) for b in value):
        raise SlackError("invalid_blocks")
    return value
