"""The simulated person: signed `block_actions` / `view_submission` payloads, response_url, page state."""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import secrets
import threading
import time
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

import httpx

from simulators._slack_model import Channel, Ephemeral, Interaction, Message, SlackError, SlackUser, View

__all__ = ["InteractionMixin", "SlackError", "sign_slack_request"]

RESPONSE_URL_MAX_USES = 5


def sign_slack_request(signing_secret: str, timestamp: str, body: str) -> str:
    base = f"v0:{timestamp}:{body}".encode()
    return "v0=" + hmac.new(signing_secret.encode(), base, hashlib.sha256).hexdigest()


def find_element(blocks: list[dict[str, Any]], action_id: str) -> tuple[int, dict[str, Any], dict[str, Any]] | None:
    """(block index, block, element) of the interactive element carrying `action_id`."""
    for index, block in enumerate(blocks):
        candidates = list(block.get("elements") or []) if block.get("type") == "actions" else []
        candidates += [block[k] for k in ("accessory", "element") if isinstance(block.get(k), dict)]
        for element in candidates:
            if isinstance(element, dict) and element.get("action_id") == action_id:
                return index, block, element
    return None


def _as_message(ephemeral: Ephemeral) -> Message:
    return Message(ephemeral.ts, ephemeral.channel, ephemeral.text, ephemeral.blocks, "", "", ephemeral.thread_ts)


def _options(element: dict[str, Any]) -> list[dict[str, Any]]:
    groups = element.get("option_groups") or []
    return list(element.get("options") or []) + [o for g in groups for o in g.get("options") or []]


class InteractionMixin:
    if TYPE_CHECKING:
        lock: threading.RLock
        signing_secret: str
        interactions_url: str | None
        public_url: str | None
        team_id: str
        team_domain: str
        api_app_id: str
        bot_id: str
        users: dict[str, SlackUser]
        channels: dict[str, Channel]
        views: list[View]
        ephemerals: list[Ephemeral]

        def messages(self, channel: str) -> list[Message]: ...
        def find_message(self, channel: str, ts: str) -> Message: ...
        def channel(self, ref: Any) -> Channel: ...
        def next_ts(self) -> str: ...
        def _post_message(self, p: dict[str, Any]) -> dict[str, Any]: ...

    def __init__(self) -> None:
        self.trigger_ttl_seconds: float | None = None  # None: any issued trigger_id works, any number of times
        self.request_timestamp_offset = 0  # seconds added to X-Slack-Request-Timestamp (test replay windows)
        self.sign_requests = True  # False sends a wrong signature
        self.interactions: list[Interaction] = []
        self.responses: list[dict[str, Any]] = []  # everything POSTed to a response_url
        self._triggers: dict[str, tuple[str, float]] = {}
        self._response_urls: dict[str, dict[str, Any]] = {}
        self._seen_base: str | None = None
        self._trigger_seq = itertools.count(1)

    @property
    def base_url(self) -> str:
        return (self.public_url or self._seen_base or "http://127.0.0.1").rstrip("/")

    def note_base_url(self, url: str) -> None:
        """Learn where we are served from the first request, for response_url when no public_url is set."""
        if self._seen_base is None:
            self._seen_base = url.rstrip("/")

    def issue_trigger(self, user_id: str) -> str:
        trigger_id = f"{next(self._trigger_seq)}{int(time.time())}.1700000000.{secrets.token_hex(16)}"
        self._triggers[trigger_id] = (user_id, time.monotonic())
        return trigger_id

    def consume_trigger(self, trigger_id: str) -> str:
        """The user a trigger_id was issued to; Slack's errors for unknown or expired ones."""
        issued = self._triggers.get(trigger_id)
        if issued is None:
            raise SlackError("invalid_trigger_id")
        if self.trigger_ttl_seconds is not None and time.monotonic() - issued[1] > self.trigger_ttl_seconds:
            raise SlackError("expired_trigger_id")
        return issued[0]

    def user_payload(self, user_id: str) -> dict[str, Any]:
        user = self.users.get(user_id)
        name = user.name if user else user_id
        return {"id": user_id, "username": name, "name": name, "team_id": self.team_id}

    def open_view_for(self, user_id: str) -> View | None:
        with self.lock:
            return next((v for v in reversed(self.views) if v.user_id == user_id and not v.closed), None)

    async def click(
        self,
        channel: str,
        ts: str,
        action_id: str,
        user_id: str,
        *,
        selected_user: str | None = None,
        selected_option: str | None = None,
    ) -> tuple[int, str]:
        """Click a button / pick from a select on a stored message; returns the bridge's (status, body)."""
        with self.lock:
            payload = self._block_actions(channel, ts, action_id, user_id, selected_user, selected_option)
        return await self._post("block_actions", payload)

    def _block_actions(
        self, channel_id: str, ts: str, action_id: str, user_id: str, user: str | None, option: str | None
    ) -> dict[str, Any]:
        channel = self.channel(channel_id)
        ephemeral = next((e for e in self.ephemerals if e.ts == ts and e.channel == channel.id), None)
        msg = self.find_message(channel.id, ts) if ephemeral is None else _as_message(ephemeral)
        found = find_element(msg.blocks, action_id)
        if found is None:
            raise LookupError(f"no element with action_id {action_id!r} on message {ts}")
        index, block, element = found
        # Slack fills in block_ids the app left out; a stable stand-in keeps repeated clicks comparable.
        block_id = str(block.get("block_id") or hashlib.sha1(f"{ts}:{index}".encode()).hexdigest()[:5])
        kind = str(element.get("type"))
        action: dict[str, Any] = {
            "action_id": action_id,
            "block_id": block_id,
            "type": kind,
            "action_ts": f"{time.time():.6f}",
        }
        state: dict[str, Any] = {}
        if kind == "button":
            action["text"] = element.get("text")
            action.update({k: element[k] for k in ("value", "style", "url") if k in element})
        elif kind == "users_select":
            if user is None:
                raise ValueError("selected_user is required for a users_select")
            action["selected_user"] = state["selected_user"] = user
        else:
            chosen = next((o for o in _options(element) if o.get("value") == option), None)
            if chosen is None:
                raise ValueError(f"selected_option {option!r} is not one of the element's options")
            action["selected_option"] = state["selected_option"] = chosen
        response_id = secrets.token_hex(12)
        self._response_urls[response_id] = {
            "channel": channel.id,
            "ts": msg.ts,
            "user": user_id,
            "uses": 0,
            "thread_ts": msg.thread_ts,
        }
        container = {"type": "message", "message_ts": msg.ts, "channel_id": channel.id,
                     "is_ephemeral": ephemeral is not None}
        if msg.thread_ts:
            container["thread_ts"] = msg.thread_ts
        return {
            "type": "block_actions",
            "user": self.user_payload(user_id),
            "api_app_id": self.api_app_id,
            "token": "sim-verification-token",
            "container": container,
            "trigger_id": self.issue_trigger(user_id),
            "team": {"id": self.team_id, "domain": self.team_domain},
            "enterprise": None,
            "is_enterprise_install": False,
            "channel": {"id": channel.id, "name": "directmessage" if channel.is_im else channel.name},
            # Slack sends no `message` for a click on an ephemeral message, only the container.
            **({} if ephemeral is not None else {"message": msg.to_api()}),
            "state": {"values": {block_id: {action_id: {"type": kind, **state}}} if state else {}},
            "response_url": f"{self.base_url}/_sim/response/{response_id}",
            "actions": [action],
        }

    async def submit_view(
        self, view_id: str, user_id: str, values: dict[str, dict[str, dict[str, Any]]]
    ) -> tuple[int, str]:
        """Submit an open modal with `values[block_id][action_id] = {"type": ..., "value"/...}`."""
        with self.lock:
            view = next((v for v in self.views if v.id == view_id and not v.closed), None)
            if view is None:
                raise LookupError(f"no open view {view_id}")
            view.submissions.append(values)
            payload: dict[str, Any] = {
                "type": "view_submission",
                "team": {"id": self.team_id, "domain": self.team_domain},
                "user": self.user_payload(user_id),
                "api_app_id": self.api_app_id,
                "token": "sim-verification-token",
                "trigger_id": self.issue_trigger(user_id),
                "view": {**view.to_api(self.team_id, self.api_app_id, self.bot_id), "state": {"values": values}},
                "response_urls": [],
                "enterprise": None,
                "is_enterprise_install": False,
            }
        status, text = await self._post("view_submission", payload)
        if status == 200:
            with self.lock:
                self._apply_view_response(view, text)
        return status, text

    async def close_view(self, view_id: str, user_id: str) -> None:
        """The person closes a modal (its close button, Escape, a reload): Slack tells the app only when the
        view asked for it (`notify_on_close`), with a `view_closed` payload."""
        with self.lock:
            view = next((v for v in self.views if v.id == view_id and v.user_id == user_id and not v.closed), None)
            if view is None:
                raise LookupError(f"no open view {view_id}")
            view.closed = True
            if not view.view.get("notify_on_close"):
                return
            payload = {"type": "view_closed", "team": {"id": self.team_id, "domain": self.team_domain},
                       "user": self.user_payload(user_id), "api_app_id": self.api_app_id,
                       "view": view.to_api(self.team_id, self.api_app_id, self.bot_id), "is_cleared": False}
        await self._post("view_closed", payload)

    def _apply_view_response(self, view: View, text: str) -> None:
        if not text.strip():
            view.closed = True  # an empty 200 closes the submitted view
            return
        try:
            answer = json.loads(text)
        except ValueError:
            return
        match answer.get("response_action"):
            case "errors":
                view.errors = dict(answer.get("errors") or {})
            case "update":
                view.replace(dict(answer.get("view") or {}))
                view.errors = {}
            case "push":
                self.views.append(View(f"{view.id}P{len(self.views)}", view.user_id, dict(answer.get("view") or {})))
            case "clear":
                for other in self.views:
                    if other.user_id == view.user_id:
                        other.closed = True
            case _:
                view.closed = True

    async def _post(self, kind: str, payload: dict[str, Any], url: str | None = None) -> tuple[int, str]:
        url = url or self.interactions_url
        if not url:
            raise RuntimeError("SlackSimulator has no interactions_url to post to")
        body = urlencode({"payload": json.dumps(payload)})
        timestamp = str(int(time.time()) + self.request_timestamp_offset)
        signature = sign_slack_request(self.signing_secret if self.sign_requests else "wrong", timestamp, body)
        headers = {
            "Content-Type": "application/x-www-form-urlencoded",
            "X-Slack-Request-Timestamp": timestamp,
            "X-Slack-Signature": signature,
            "User-Agent": "Slackbot 1.0 (+https://api.slack.com/robots)",
        }
        async with httpx.AsyncClient(timeout=10.0) as client:
            response = await client.post(url, content=body.encode(), headers=headers)
        with self.lock:
            self.interactions.append(Interaction(kind, payload, response.status_code, response.text))
        return response.status_code, response.text

    def respond(self, response_id: str, body: dict[str, Any]) -> tuple[int, str]:
        """A POST to a response_url: replace/delete the source message, or post in channel / ephemerally."""
        with self.lock:
            ctx = self._response_urls.get(response_id)
            if ctx is None:
                return 404, "no_active_hooks"
            ctx["uses"] += 1
            if ctx["uses"] > RESPONSE_URL_MAX_USES:
                return 404, "used_url"
            self.responses.append({"response_id": response_id, **body})
            text, blocks = str(body.get("text") or ""), list(body.get("blocks") or [])
            # A slash command's response_url has no source message (ts None): it can only add answers.
            source = None
            if ctx["ts"]:
                try:
                    source = self.find_message(ctx["channel"], ctx["ts"])
                except LookupError:
                    source = None  # the click came from an ephemeral message: answers are added, not replaced
            if body.get("delete_original") and source is not None:
                source.deleted = True
            if body.get("replace_original") and source is not None:
                source.revise(text, blocks)
            elif body.get("response_type") == "in_channel":
                params = {"channel": ctx["channel"], "text": text, "blocks": blocks, "thread_ts": body.get("thread_ts")}
                try:
                    self._post_message(params)  # direct: not a Web API call the bridge made
                except SlackError as exc:
                    return 404, exc.error
            elif not body.get("delete_original"):
                self.channel(ctx["channel"])
                thread_ts = str(body["thread_ts"]) if body.get("thread_ts") else None
                self.ephemerals.append(Ephemeral(ctx["channel"], ctx["user"], self.next_ts(), text, blocks, thread_ts))
            return 200, "ok"

    def page_state(self, channel_id: str, user_id: str) -> dict[str, Any]:
        """What the channel page renders; only `user_id`'s ephemerals and open modal are included."""
        with self.lock:
            channel = self.channel(channel_id)
            view = self.open_view_for(user_id)
            return {
                "channel": channel.to_api(),
                "channels": [c.to_api() for c in self.channels.values() if c.id[0] in "CG"],
                "users": [{"id": u.id, "name": u.name, "real_name": u.real_name} for u in self.users.values()],
                "messages": [m.to_page() for m in self.messages(channel.id)],
                "ephemerals": [
                    {"ts": e.ts, "text": e.text, "blocks": e.blocks}
                    for e in self.ephemerals
                    if e.channel == channel.id and e.user == user_id
                ],
                "view": None if view is None else {"id": view.id, "user": view.user_id, "view": view.view,
                                                   "errors": view.errors},
            }
