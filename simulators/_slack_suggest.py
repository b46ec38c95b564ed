"""The simulated person typing in an `external_select` of an open modal: Slack sends a signed
`block_suggestion` to the app's options load URL (`options_url`) and shows the options it answers."""

from __future__ import annotations

import json
import threading
from typing import TYPE_CHECKING, Any

from simulators._slack_interact import find_element
from simulators._slack_model import View

DEFAULT_MIN_QUERY_LENGTH = 3  # Slack's default for an external_select


class SuggestMixin:
    if TYPE_CHECKING:
        lock: threading.RLock
        team_id: str
        team_domain: str
        api_app_id: str
        bot_id: str
        views: list[View]

        def user_payload(self, user_id: str) -> dict[str, Any]: ...
        async def _post(self, kind: str, payload: dict[str, Any], url: str | None = None) -> tuple[int, str]: ...

    def __init__(self) -> None:
        self.options_url: str | None = None  # the app's "Select Menus" Options Load URL

    async def suggest(self, view_id: str, user_id: str, action_id: str, typed: str) -> list[dict[str, Any]]:
        """Type `typed` into the modal's external_select `action_id`; returns the options Slack would show
        (none when the app does not answer 200 with `{"options": [...]}`, as Slack shows "no results")."""
        with self.lock:
            view = next((v for v in self.views if v.id == view_id and not v.closed), None)
            if view is None:
                raise LookupError(f"no open view {view_id}")
            found = find_element(list(view.view.get("blocks") or []), action_id)
            if found is None or found[2].get("type") != "external_select":
                raise LookupError(f"no external_select {action_id} in view {view_id}")
            _, block, element = found
            if len(typed) < int(element.get("min_query_length", DEFAULT_MIN_QUERY_LENGTH)):
                return []
            payload = {
                "type": "block_suggestion",
                "user": self.user_payload(user_id),
                "container": {"type": "view", "view_id": view.id},
                "api_app_id": self.api_app_id,
                "token": "sim-verification-token",
                "team": {"id": self.team_id, "domain": self.team_domain},
                "action_id": action_id,
                "block_id": block.get("block_id"),
                "value": typed,
                "view": view.to_api(self.team_id, self.api_app_id, self.bot_id),
            }
        if not self.options_url:
            return []
        status, text = await self._post("block_suggestion", payload, self.options_url)
        try:
            answer = json.loads(text) if status == 200 else {}
        except ValueError:
            return []
        groups = answer.get("option_groups") or [] if isinstance(answer, dict) else []
        options = (answer.get("options") or []) if isinstance(answer, dict) else []
        return [o for o in [*options, *(o for g in groups for o in g.get("options") or [])] if isinstance(o, dict)]
