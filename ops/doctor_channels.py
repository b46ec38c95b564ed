"""The doctor's look at the scopes dedicated incident channels need (the config's `[channels]` table).

Creating a channel, inviting people into it and archiving it (conversations.create / .invite / .archive) need
`channels:manage` for a public channel and `groups:write` for a private one. Only installs that create
incident channels need either, so they are not part of every install's required scopes.
"""

from __future__ import annotations

from settings import Channels

NAME = "Slack channel scopes"
PUBLIC_SCOPE, PRIVATE_SCOPE, PRIVATE_READ_SCOPE = "channels:manage", "groups:write", "groups:read"
CHANNEL_SCOPES = frozenset({PUBLIC_SCOPE, PRIVATE_SCOPE, PRIVATE_READ_SCOPE})


def needed_scope(channels: Channels) -> str | None:
    """The scope(s) this config's incident channels need, comma-separated; None when it creates none.

    Private channels also need groups:read: before a new one is made, the bridge looks for one an earlier
    attempt made already (users.conversations), so one incident never gets two channels.
    """
    if channels.dedicated == "never":
        return None
    return f"{PRIVATE_SCOPE}, {PRIVATE_READ_SCOPE}" if channels.private else PUBLIC_SCOPE


def channel_scope_check(channels: Channels, scopes: set[str] | None) -> tuple[bool, str, str]:
    """(ok, detail, fix) for the doctor's report."""
    mode = f'[channels] dedicated = "{channels.dedicated}"'
    scope = needed_scope(channels)
    if scope is None:
        return True, f"none needed: {mode} creates no incident channels", ""
    kind = "private" if channels.private else "public"
    if scopes is None:
        return False, f"cannot tell whether the token has {scope}: Slack did not report its scopes", (
            f"Check on the app's OAuth & Permissions page that the bot token has {scope}.")
    missing = [s for s in scope.split(", ") if s not in scopes]
    if missing:
        scope = ", ".join(missing)
        return False, f"{mode} creates {kind} incident channels, but the bot token lacks {scope}", (
            f"Add {scope} under oauth_config.scopes.bot as in slack-app-manifest.yml, then reinstall the app so "
            f'the token is granted it (or set [channels] dedicated = "never" in the config file).')
    return True, f"{scope} ({mode}, {kind} channels)", ""
