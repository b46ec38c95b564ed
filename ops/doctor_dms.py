"""The doctor's look at the scope direct messages need (the config's `[notifications]` table).

Opening a person's direct message (conversations.open) needs `im:write`; posting in it needs `chat:write`,
which every install has. An install with `direct_messages = "off"` sends none and needs nothing more.
"""

from __future__ import annotations

from ops.checks import Check, failed, passed
from settings import Notifications

NAME = "Slack direct message scope"
DM_SCOPE = "im:write"
DM_SCOPES = frozenset({DM_SCOPE})


def dm_scope_check(notifications: Notifications, scopes: set[str] | None) -> Check:
    mode = f'[notifications] direct_messages = "{notifications.direct_messages}"'
    if notifications.direct_messages == "off":
        return passed(NAME, f"none needed: {mode} sends no direct messages")
    if scopes is None:
        return failed(NAME, f"cannot tell whether the token has {DM_SCOPE}: Slack did not report its scopes",
                      f"Check on the app's OAuth & Permissions page that the bot token has {DM_SCOPE}.")
    if DM_SCOPE not in scopes:
        return failed(NAME, f"{mode} sends assignees direct messages, but the bot token lacks {DM_SCOPE}",
                      f"Add {DM_SCOPE} under oauth_config.scopes.bot as in slack-app-manifest.yml, then reinstall "
                      'the app so the token is granted it (or set [notifications] direct_messages = "off").')
    return passed(NAME, f"{DM_SCOPE} ({mode})")
