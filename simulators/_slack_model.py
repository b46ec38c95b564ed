"""Records of the simulated Slack workspace and their Web API renderings."""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass, field
from typing import Any


class SlackError(Exception):
    """A Web API error string (`{"ok": false, "error": ...}`), with any extra fields Slack adds to it
    (`missing_scope` names the `needed` and `provided` scopes)."""

    def __init__(self, error: str, **extra: str) -> None:
        super().__init__(error)
        self.error = error
        self.extra = extra


@dataclass
class SlackUser:
    id: str
    name: str
    email: str
    real_name: str

    def to_api(self, team_id: str) -> dict[str, Any]:
        profile = {"email": self.email, "real_name": self.real_name, "display_name": self.name}
        return {
            "id": self.id,
            "team_id": team_id,
            "name": self.name,
            "real_name": self.real_name,
            "deleted": False,
            "is_bot": False,
            "tz": "Etc/UTC",
            "profile": profile,
        }


@dataclass
class Channel:
    """A conversation; `members` holds the people in it (the bot is `bot_is_member`)."""

    id: str
    name: str
    bot_is_member: bool = True
    is_private: bool = False
    is_archived: bool = False
    created_by_bot: bool = False  # made through conversations.create (not seeded)
    created: int = 0
    creator: str = ""
    members: set[str] = field(default_factory=set)

    @property
    def is_im(self) -> bool:
        return self.name.startswith("@")

    def to_api(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "is_channel": not self.is_im,
            "is_im": self.is_im,
            "is_private": self.is_private,
            "is_archived": self.is_archived,
            "is_member": self.bot_is_member,
            "created": self.created,
            "creator": self.creator,
        }


@dataclass
class Message:
    ts: str
    channel: str
    text: str
    blocks: list[dict[str, Any]]
    user: str
    bot_id: str
    thread_ts: str | None = None  # set on replies only
    replies: list[Message] = field(default_factory=list)
    update_count: int = 0
    history: list[dict[str, Any]] = field(default_factory=list)  # earlier versions, oldest first
    deleted: bool = False

    def revise(self, text: str, blocks: list[dict[str, Any]]) -> None:
        self.history.append({"text": self.text, "blocks": self.blocks, "replaced_at": time.time()})
        self.text, self.blocks = text, blocks
        self.update_count += 1

    def to_api(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "type": "message",
            "ts": self.ts,
            "text": self.text,
            "blocks": self.blocks,
            "user": self.user,
            "bot_id": self.bot_id,
        }
        if self.thread_ts:
            out["thread_ts"] = self.thread_ts
        elif self.replies:
            out["thread_ts"], out["reply_count"] = self.ts, len(self.replies)
        if self.update_count:
            out["edited"] = {"user": self.user, "ts": self.ts}
        return out

    def to_page(self) -> dict[str, Any]:
        return {
            "ts": self.ts,
            "text": self.text,
            "blocks": self.blocks,
            "update_count": self.update_count,
            "replies": [r.to_page() for r in self.replies if not r.deleted],
        }


@dataclass
class Ephemeral:
    channel: str
    user: str
    ts: str
    text: str
    blocks: list[dict[str, Any]]
    thread_ts: str | None = None


@dataclass
class View:
    """A modal the bridge opened; `errors` holds the last `response_action: errors` answer."""

    id: str
    user_id: str
    view: dict[str, Any]
    hash: str = ""
    closed: bool = False
    errors: dict[str, str] = field(default_factory=dict)
    submissions: list[dict[str, Any]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.replace(self.view)

    @property
    def external_id(self) -> str | None:
        value = self.view.get("external_id")
        return str(value) if value else None

    @property
    def callback_id(self) -> str:
        return str(self.view.get("callback_id") or "")

    @property
    def private_metadata(self) -> str:
        return str(self.view.get("private_metadata") or "")

    def replace(self, view: dict[str, Any]) -> None:
        self.view = view
        self.hash = f"{int(time.time())}.{hashlib.sha1(repr(view).encode()).hexdigest()[:8]}"

    def to_api(self, team_id: str, app_id: str, bot_id: str) -> dict[str, Any]:
        return {
            **self.view,
            "id": self.id,
            "team_id": team_id,
            "type": self.view.get("type", "modal"),
            "callback_id": self.callback_id,
            "private_metadata": self.private_metadata,
            "hash": self.hash,
            "state": {"values": {}},
            "root_view_id": self.id,
            "previous_view_id": None,
            "app_id": app_id,
            "bot_id": bot_id,
            "external_id": self.external_id or "",
        }


@dataclass(frozen=True)
class Call:
    method: str
    params: dict[str, Any]
    time: float
    ok: bool
    error: str | None


@dataclass(frozen=True)
class Interaction:
    """One payload the simulated person sent to the bridge, and what the bridge answered."""

    type: str
    payload: dict[str, Any]
    status: int
    response: str
