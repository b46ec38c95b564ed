"""What Slack would show: the ONE place that turns the workflow's view, replies and tells into final text.

It runs the real `activities/slack.py` methods (rendering, mention lookup, placeholder filling) against a
recording Slack client and a directory of the cast, driving their coroutines to the end synchronously
(nothing here ever waits). When the reply API changes, this is the module to adapt.
"""

from __future__ import annotations

from collections.abc import Coroutine
from dataclasses import dataclass, field
from typing import Any, TypeVar, cast

from slack_sdk.web.async_client import AsyncWebClient

from activities.identity import Directory
from activities.slack import PostRequest, ReplyRequest, SlackActivities, UpdateRequest
from settings import BridgeConfig, Routing
from tests.sim.people import BY_PD_ID, CHANNEL, RESPONSE_URL
from workflows.models import MessagePosted, Reply, TellUser
from workflows.view import MessageView

T = TypeVar("T")


def finish(coro: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine that never suspends, to its result."""
    try:
        coro.send(None)
    except StopIteration as done:
        return cast(T, done.value)
    coro.close()
    raise RuntimeError("a simulated Slack call tried to wait")


@dataclass
class Told:
    slack_user: str
    action: str | None
    outcome: str
    text: str


@dataclass
class SlackChannel:
    """The channel as people see it: the incident message(s), the thread, and ephemeral answers."""

    messages: dict[str, list[str]] = field(default_factory=dict)  # ts -> mrkdwn texts (fallback first)
    views: dict[str, MessageView] = field(default_factory=dict)
    replies: list[str] = field(default_factory=list)
    told: list[Told] = field(default_factory=list)
    by_response_url: list[str] = field(default_factory=list)  # answers to typed commands
    latest_ts: str | None = None  # the incident message posted or updated last, in a channel
    dm_ts: dict[str, str] = field(default_factory=dict)  # each direct message's conversation -> its incident message
    by_dm: list[str] = field(default_factory=list)  # answers the bot sent a person directly (no other way)

    async def chat_postMessage(self, **kw: Any) -> dict[str, Any]:
        channel = str(kw["channel"])
        if kw.get("thread_ts"):
            if channel.startswith("D"):
                raise AssertionError(f"attributed: a thread reply in a direct message: {kw['text']}")
            self.replies.append(str(kw["text"]))
            return {"ok": True, "channel": channel, "ts": f"r{len(self.replies)}"}
        if channel.startswith("U"):  # to a person: Slack opens (or finds) their conversation with the bot
            self.by_dm.append(str(kw["text"]))
            return {"ok": True, "channel": f"D{channel}", "ts": f"d{len(self.by_dm)}"}
        ts = f"1700000000.{len(self.messages) + 1:06d}"
        self.messages[ts] = _texts(kw)
        self._shown(channel, ts)
        return {"ok": True, "channel": channel, "ts": ts}

    async def chat_update(self, **kw: Any) -> dict[str, Any]:
        ts = str(kw["ts"])
        self.messages[ts] = _texts(kw)
        self._shown(str(kw["channel"]), ts)
        return {"ok": True}

    def _shown(self, channel: str, ts: str) -> None:
        if channel.startswith("D"):
            self.dm_ts[channel] = ts
        else:
            self.latest_ts = ts

    async def chat_postEphemeral(self, **kw: Any) -> dict[str, Any]:
        if str(kw.get("channel", "")).startswith("D"):
            raise AssertionError(f"answered: an ephemeral in a direct message the bot is not in: {kw.get('text')}")
        return {"ok": True}


def _texts(kw: dict[str, Any]) -> list[str]:
    """Everything in a message Slack parses as mrkdwn: the fallback text and mrkdwn blocks and fields."""
    texts = [str(kw["text"])]
    for block in kw.get("blocks") or []:
        parts = [block.get("text"), *(block.get("fields") or []), *(block.get("elements") or [])]
        texts += [str(p["text"]) for p in parts if isinstance(p, dict) and p.get("type") == "mrkdwn"]
    return texts


class _Directory:
    async def slack_user_for(self, pd_user_id: str) -> str | None:
        human = BY_PD_ID.get(pd_user_id)
        return human.slack_id if human else None


class SlackShows:
    """Posts, updates, replies and tells through the real Slack activities into a `SlackChannel`."""

    def __init__(self) -> None:
        self.channel = SlackChannel()
        config = BridgeConfig(routing=Routing(default_channel=CHANNEL))
        self._acts = SlackActivities(cast(AsyncWebClient, self.channel), cast(Directory, _Directory()), config)

    def post(self, view: MessageView, channel: str | None = None) -> MessagePosted:
        posted = finish(self._acts.post_message(PostRequest(view=view, channel=channel)))
        self.channel.views[posted.ts] = view
        return posted

    def update(self, channel: str, ts: str, view: MessageView) -> None:
        finish(self._acts.update_message(UpdateRequest(channel=channel, ts=ts, view=view)))
        self.channel.views[ts] = view

    def reply(self, channel: str, ts: str, replies: list[Reply]) -> None:
        """Replies that waited together go out as one, one line each (as the workflow sends them)."""
        finish(self._acts.post_reply(ReplyRequest(channel=channel, ts=ts, replies=replies)))

    def tell(self, effect: TellUser) -> None:
        if effect.response_url and effect.response_url.startswith(RESPONSE_URL):
            self.channel.by_response_url.append(effect.text)  # Slack takes it: the person reads it where they typed
        else:
            finish(self._acts.tell_user(effect))
        self.channel.told.append(Told(effect.slack_user, effect.action.value if effect.action else None,
                                      effect.outcome, effect.text))

    def all_text(self) -> list[str]:
        """Every mrkdwn text in Slack now: messages (direct messages too), thread replies, private answers."""
        return [*(t for texts in self.channel.messages.values() for t in texts), *self.channel.replies,
                *(t.text for t in self.channel.told), *self.channel.by_dm]
