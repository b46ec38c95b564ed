"""User groups (`@payments-oncall`): `usergroups.create` / `.list` / `.users.list` / `.users.update`.

Slack's rules as documented: `usergroups.users.update` replaces the whole member list and refuses an empty one
(`no_users_provided`: a group cannot be emptied, only disabled); members must be people of the workspace
(`invalid_users`); handles and names are unique (`name_already_exists`); creating and updating need
`usergroups:write`, listing needs `usergroups:read`. All four methods are Tier 2.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from simulators._slack_model import SlackError, SlackUser


@dataclass
class UserGroup:
    id: str
    handle: str
    name: str
    users: list[str] = field(default_factory=list)
    # Every member list the group had, oldest first, with when it was set (for tests: "never empty").
    history: list[tuple[float, tuple[str, ...]]] = field(default_factory=list)

    def to_api(self, team_id: str, *, with_users: bool = False) -> dict[str, Any]:
        data: dict[str, Any] = {"id": self.id, "team_id": team_id, "is_usergroup": True, "name": self.name,
                                "handle": self.handle, "date_delete": 0, "user_count": len(self.users)}
        if with_users:
            data["users"] = list(self.users)
        return data


class UserGroupMixin:
    if TYPE_CHECKING:
        lock: threading.RLock
        scopes: list[str]
        team_id: str
        users: dict[str, SlackUser]

        def _require_scope(self, *accepted: str) -> None: ...

    def __init__(self) -> None:
        self.usergroups: dict[str, UserGroup] = {}
        self._usergroup_seq = itertools.count(1)

    # -- seed data and accessors for tests -------------------------------------------------------------

    def add_usergroup(self, handle: str, users: list[str] | None = None, name: str | None = None) -> UserGroup:
        with self.lock:
            group = UserGroup(f"S0{next(self._usergroup_seq):07d}", handle, name or handle, list(users or []))
            group.history.append((time.time(), tuple(group.users)))
            self.usergroups[group.id] = group
            return group

    def usergroup(self, handle: str) -> UserGroup | None:
        with self.lock:
            return next((g for g in self.usergroups.values() if g.handle == handle.lstrip("@")), None)

    def usergroup_view(self) -> list[dict[str, Any]]:
        """Each group's handle and its members' names, as the sandbox's index page lists them."""
        with self.lock:
            names = {u.id: u.real_name for u in self.users.values()}
            return [{"handle": g.handle, "members": [names.get(u, u) for u in g.users]}
                    for g in sorted(self.usergroups.values(), key=lambda g: g.handle)]

    def usergroup_members(self, handle: str) -> list[str] | None:
        with self.lock:
            group = self.usergroup(handle)
            return None if group is None else list(group.users)

    # -- Web API ----------------------------------------------------------------------------------------

    def _usergroup_methods(self) -> dict[str, Callable[[dict[str, Any]], dict[str, Any]]]:
        return {
            "usergroups.create": self._usergroups_create,
            "usergroups.list": self._usergroups_list,
            "usergroups.users.list": self._usergroups_users_list,
            "usergroups.users.update": self._usergroups_users_update,
        }

    def _group(self, p: dict[str, Any]) -> UserGroup:
        group = self.usergroups.get(str(p.get("usergroup") or ""))
        if group is None:
            raise SlackError("no_such_subteam")
        return group

    def _usergroups_create(self, p: dict[str, Any]) -> dict[str, Any]:
        self._require_scope("usergroups:write")
        name = str(p.get("name") or "").strip()
        handle = str(p.get("handle") or name).strip().lstrip("@")
        if not name:
            raise SlackError("invalid_name")
        if any(g.name == name or g.handle == handle for g in self.usergroups.values()):
            raise SlackError("name_already_exists")
        return {"usergroup": self.add_usergroup(handle, name=name).to_api(self.team_id, with_users=True)}

    def _usergroups_list(self, p: dict[str, Any]) -> dict[str, Any]:
        self._require_scope("usergroups:read")
        with_users = str(p.get("include_users") or "").lower() in {"1", "true"}
        return {"usergroups": [g.to_api(self.team_id, with_users=with_users) for g in self.usergroups.values()]}

    def _usergroups_users_list(self, p: dict[str, Any]) -> dict[str, Any]:
        self._require_scope("usergroups:read")
        return {"users": list(self._group(p).users)}

    def _usergroups_users_update(self, p: dict[str, Any]) -> dict[str, Any]:
        self._require_scope("usergroups:write")
        group = self._group(p)
        users = list(dict.fromkeys(u.strip() for u in str(p.get("users") or "").split(",") if u.strip()))
        if not users:
            raise SlackError("no_users_provided")  # a group cannot be emptied
        if any(u not in self.users for u in users):
            raise SlackError("invalid_users")
        group.users = users
        group.history.append((time.time(), tuple(users)))
        return {"usergroup": group.to_api(self.team_id, with_users=True)}
