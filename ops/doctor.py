"""`python -m ops.doctor` (or `python3 dev.py doctor`): is this deployment able to work?

Reads the environment and the config file, then asks Slack, PagerDuty and Temporal the questions the bridge
depends on (Temporal also about the workflows of its task queue after a deploy: ops/doctor_deploy.py), and
prints one line per check with, for every failure, what is wrong and what to do. It only reads: nothing is
posted, changed or registered. Exit code 0 when every check passed, 1 otherwise.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import aiohttp
from pydantic import ValidationError
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.web.async_slack_response import AsyncSlackResponse
from temporalio.api.operatorservice.v1 import ListSearchAttributesRequest
from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode

from activities import errors
from ops.checks import Check as Check  # re-exported: the report's line type lives there
from ops.checks import failed, passed
from ops.doctor_channels import CHANNEL_SCOPES, channel_scope_check
from ops.doctor_channels import NAME as CHANNEL_SCOPE_CHECK
from ops.doctor_deploy import deploy_checks
from ops.doctor_dms import DM_SCOPES, dm_scope_check
from ops.doctor_memory import memory_check
from ops.doctor_pagerduty import pagerduty_checks
from ops.stall import exit_without_teardown
from settings import BridgeConfig, ConfigError, Settings, load_config
from worker import INDEXED_TYPES, _wanted, connect, register_command

# On-call user groups ([oncall_groups]): checked against the token only when the config has some.
USERGROUP_SCOPES = frozenset({"usergroups:read", "usergroups:write"})
USERGROUP_CHECK = "Slack user group scopes"
# Every network question gets this long: a doctor that hangs is worse than one that says "unreachable".
TIMEOUT = 3.0
REQUIRED_SLACK_SCOPES = frozenset({"chat:write", "chat:write.public", "commands", "users:read", "users:read.email",
                                   "channels:read"})
# What the repository's manifest declares: every install's scopes plus those dedicated incident channels need
# (checked against the token only when the config creates such channels).
MANIFEST_SLACK_SCOPES = REQUIRED_SLACK_SCOPES | CHANNEL_SCOPES | USERGROUP_SCOPES | DM_SCOPES
MANIFEST = Path(__file__).resolve().parent.parent / "slack-app-manifest.yml"
SLASH_COMMAND, COMMANDS_PATH = "/pd", "/slack/commands"
SLACK_TOKEN_FIX = ("Copy the Bot User OAuth Token (xoxb-…) from the Slack app's OAuth & Permissions page into "
                   "SLACK_BOT_TOKEN; if the app was uninstalled, reinstall it from slack-app-manifest.yml first.")


def load_settings() -> tuple[Settings | None, Check]:
    try:
        settings = Settings()
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc']).upper()}: {e['msg']}" for e in exc.errors())
        return None, failed("Environment", problems, "Fix these environment variables (DESIGN.md §4 lists them all).")
    except ConfigError as exc:
        return None, failed("Environment", str(exc), "Fix these environment variables (DESIGN.md §4 lists them all).")
    return settings, passed("Environment", f"settings loaded (namespace {settings.temporal_namespace}, "
                                           f"task queue {settings.temporal_task_queue})")


def config_check(settings: Settings) -> tuple[BridgeConfig | None, Check]:
    try:
        config = load_config(settings.bridge_config)
    except ConfigError as exc:
        return None, failed("Config file", str(exc), "Fix the file (bridge.example.toml shows every key) or point "
                                                     "BRIDGE_CONFIG at the right one.")
    routes = len(config.routing.services)
    return config, passed("Config file", f"{settings.bridge_config}: default channel "
                                         f"{config.routing.default_channel}, {routes} service route(s)")



async def slack_call(what: str, call: Callable[[], Awaitable[AsyncSlackResponse]]) -> AsyncSlackResponse:
    """Classified like the activities' calls, but without their metrics and error logs: a doctor's probe
    failing is its report, not an incident of the running bridge."""
    try:
        return await call()
    except SlackApiError as exc:
        raise errors.slack_error(exc.response.status_code, str(exc.response.get("error", "")), None, what) from None
    except (aiohttp.ClientError, TimeoutError) as exc:
        raise errors.SlackUnavailable(f"{what}: Slack unreachable ({type(exc).__name__})") from None


def _granted_scopes(headers: Any) -> set[str] | None:
    """From auth.test's X-OAuth-Scopes header, whose name aiohttp keeps in the server's spelling."""
    raw = next((str(v) for k, v in dict(headers or {}).items() if str(k).lower() == "x-oauth-scopes"), None)
    return None if raw is None else {s.strip() for s in raw.split(",") if s.strip()}


async def slack_token_check(client: AsyncWebClient, api_url: str) -> tuple[Check, set[str] | None]:
    name = "Slack bot token"
    try:
        response = await slack_call("auth.test", client.auth_test)
    except errors.SlackAuthError as exc:
        return failed(name, f"Slack rejected SLACK_BOT_TOKEN ({exc.code}): the token is wrong or was revoked",
                      SLACK_TOKEN_FIX), None
    except errors.SlackError as exc:
        return failed(name, f"cannot use Slack at {api_url}: {exc}", "Check SLACK_API_URL and that this host "
                                                                     "can reach Slack (proxy, firewall)."), None
    return passed(name, f"bot {response.get('user')} ({response.get('user_id')}) in workspace "
                        f"{response.get('team')}"), _granted_scopes(response.headers)


def slack_scope_check(scopes: set[str] | None) -> Check:
    name = "Slack scopes"
    if scopes is None:
        return failed(name, "Slack did not report the token's scopes (no X-OAuth-Scopes header)",
                      "Compare the app's OAuth & Permissions page with slack-app-manifest.yml by hand.")
    missing = sorted(REQUIRED_SLACK_SCOPES - scopes)
    if missing:
        return failed(name, f"the bot token lacks {', '.join(missing)}",
                      "Add them under oauth_config.scopes.bot as in slack-app-manifest.yml, then reinstall the app "
                      "so the token is granted them.")
    return passed(name, ", ".join(sorted(REQUIRED_SLACK_SCOPES)))


def manifest_check(path: Path = MANIFEST) -> Check:
    """The Slack app manifest in the repository declares `/pd` and every scope the bridge uses."""
    name = "Slack app manifest"
    try:
        import yaml  # a dev dependency: deployments without it skip this check

        manifest = yaml.safe_load(path.read_text())
    except ImportError:
        return passed(name, "not checked (PyYAML is not installed here)")
    except (OSError, ValueError) as exc:
        return failed(name, f"cannot read {path.name}: {exc}", "Restore slack-app-manifest.yml from the repository.")
    manifest = manifest if isinstance(manifest, dict) else {}
    commands = (manifest.get("features") or {}).get("slash_commands") or []
    pd = next((c for c in commands if isinstance(c, dict) and c.get("command") == SLASH_COMMAND), None)
    scopes = set(((manifest.get("oauth_config") or {}).get("scopes") or {}).get("bot") or [])
    problems = []
    if pd is None:
        problems.append(f"no {SLASH_COMMAND} slash command")
    elif not str(pd.get("url", "")).endswith(COMMANDS_PATH):
        problems.append(f"{SLASH_COMMAND} does not point at …{COMMANDS_PATH}")
    if missing := sorted(MANIFEST_SLACK_SCOPES - scopes):
        problems.append("missing bot scopes " + ", ".join(missing))
    if problems:
        return failed(name, f"{path.name}: " + "; ".join(problems),
                      f"Declare {SLASH_COMMAND} (request URL https://<bridge host>{COMMANDS_PATH}) and the scopes "
                      "as in the repository's slack-app-manifest.yml, then reinstall the app.")
    return passed(name, f"{SLASH_COMMAND} → {pd['url'] if pd else ''}; {len(scopes)} bot scopes")


def signing_secret_check(settings: Settings) -> Check:
    if settings.slack_signing_secret is None:
        return failed("Slack signing secret", "SLACK_SIGNING_SECRET is not set: every Slack click would get 401",
                      "Copy the Signing Secret from the Slack app's Basic Information page into SLACK_SIGNING_SECRET.")
    return passed("Slack signing secret", "set")


def routed_channels(config: BridgeConfig) -> dict[str, list[str]]:
    """Channel id -> the config keys that route to it, so a failure names the line to edit."""
    keys: dict[str, list[str]] = {config.routing.default_channel: ["routing.default_channel"]}
    for service, channel in config.routing.services.items():
        keys.setdefault(channel, []).append(f"routing.services.{service}")
    return keys


async def channel_check(client: AsyncWebClient, channel: str, keys: list[str]) -> Check:
    name, where = f"Slack channel {channel}", " and ".join(keys)
    try:
        response = await slack_call("conversations.info", lambda: client.conversations_info(channel=channel))
    except errors.SlackError as exc:
        if exc.code == "channel_not_found":
            return failed(name, f"channel {channel} (set in {where}) does not exist or the bot cannot see it",
                          f"Put the channel's id (not its name) in {where}: Slack → channel details → the id at "
                          "the bottom. A private channel must invite the bot first (/invite @pd-bridge).")
        if exc.code == "missing_scope":
            return failed(name, "conversations.info needs the channels:read scope",
                          "Add channels:read as in slack-app-manifest.yml and reinstall the app.")
        return failed(name, f"{where}: {exc}", "Check the channel in Slack and retry.")
    info = response.get("channel") or {}
    if info.get("is_archived"):
        return failed(name, f"#{info.get('name')} (set in {where}) is archived: nothing can be posted there",
                      f"Unarchive it or route {where} to another channel.")
    return passed(name, f"#{info.get('name')} ({where})")


async def slack_checks(settings: Settings, config: BridgeConfig | None) -> list[Check]:
    secret = signing_secret_check(settings)
    if settings.slack_bot_token is None:
        return [failed("Slack bot token", "SLACK_BOT_TOKEN is not set", SLACK_TOKEN_FIX), secret]
    client = AsyncWebClient(token=settings.secret("slack_bot_token"), base_url=settings.slack_api_url,
                            timeout=int(TIMEOUT))
    token, scopes = await slack_token_check(client, settings.slack_api_url)
    if not token.ok:
        # Every further call would fail the same way and only repeat the token problem.
        return [token, secret]
    channels = routed_channels(config) if config else {}
    results = await asyncio.gather(*(channel_check(client, ch, keys) for ch, keys in channels.items()))
    dedicated = [Check(CHANNEL_SCOPE_CHECK, *channel_scope_check(config.channels, scopes))] if config else []
    groups = [usergroup_scope_check(scopes, sorted(config.oncall_groups))] if config and config.oncall_groups else []
    dms = [dm_scope_check(config.notifications, scopes)] if config else []
    return [token, slack_scope_check(scopes), *dedicated, *groups, *dms, secret, *results]


def usergroup_scope_check(scopes: set[str] | None, handles: list[str]) -> Check:
    groups = ", ".join(f"@{h}" for h in handles)
    if scopes is None:
        return failed(USERGROUP_CHECK, "Slack did not report the token's scopes",
                      "Check on the app's OAuth & Permissions page that the bot token has usergroups:read and "
                      "usergroups:write.")
    if missing := sorted(USERGROUP_SCOPES - scopes):
        return failed(USERGROUP_CHECK, f"[oncall_groups] keeps {groups} but the bot token lacks {', '.join(missing)}",
                      f"Add {', '.join(missing)} under oauth_config.scopes.bot as in slack-app-manifest.yml, then "
                      "reinstall the app so the token gets them (user group edits must also be open to everyone "
                      "in the workspace's settings, or Slack answers permission_denied).")
    return passed(USERGROUP_CHECK, f"usergroups:read, usergroups:write ({groups})")



def _temporal_reason(exc: Exception) -> str:
    """The core SDK's connect errors are long transport dumps; the common cases get a plain phrase."""
    text = str(exc)
    if isinstance(exc, TimeoutError):
        return f"no answer within {TIMEOUT:g} s"
    if "Connection refused" in text:
        return "connection refused (nothing listens at that address)"
    return text or type(exc).__name__


async def _temporal_client(settings: Settings) -> tuple[Client | None, Check]:
    name, address = "Temporal server", settings.temporal_address or "localhost:7233"
    fix = ("Start Temporal (`python3 dev.py run` embeds a dev server when TEMPORAL_ADDRESS is unset; "
           "docker-compose.temporal.yml runs a full one) or set TEMPORAL_ADDRESS to its frontend host:port.")
    try:
        client = await asyncio.wait_for(connect(settings), TIMEOUT)
        healthy = await client.service_client.check_health(timeout=timedelta(seconds=TIMEOUT))
    except (RPCError, RuntimeError, OSError, TimeoutError) as exc:
        return None, failed(name, f"cannot reach Temporal at {address}: {_temporal_reason(exc)}", fix)
    if not healthy:
        return None, failed(name, f"Temporal at {address} answers but reports it is not serving", fix)
    return client, passed(name, f"{address} is serving")


async def search_attribute_check(client: Client, namespace: str) -> Check:
    name = "Temporal search attributes"
    try:
        listed = await client.operator_service.list_search_attributes(
            ListSearchAttributesRequest(namespace=namespace), timeout=timedelta(seconds=TIMEOUT))
    except RPCError as exc:
        if exc.status == RPCStatusCode.NOT_FOUND:
            return failed(name, f"namespace {namespace} does not exist",
                          f"temporal operator namespace create --namespace {namespace}  (or fix TEMPORAL_NAMESPACE)")
        return failed(name, f"cannot list them in namespace {namespace}: {exc}",
                      "Run the doctor with a Temporal identity that may read the namespace.")
    wanted = _wanted()
    missing = {n: kind for n, kind in wanted.items() if n not in listed.custom_attributes}
    wrong = sorted(n for n, kind in wanted.items()
                   if n in listed.custom_attributes and listed.custom_attributes[n] != INDEXED_TYPES[kind])
    if wrong:
        return failed(name, f"registered with the wrong type in {namespace}: {', '.join(wrong)}",
                      "Delete them (temporal operator search-attribute delete --name …) and re-create them:\n"
                      + register_command(namespace, {n: wanted[n] for n in wrong}))
    if missing:
        return failed(name, f"missing in namespace {namespace}: {', '.join(missing)}",
                      "Start the worker once (it registers them), or, where it may not, run:\n"
                      + register_command(namespace, missing))
    return passed(name, f"all {len(wanted)} registered in namespace {namespace}")


async def temporal_checks(settings: Settings, linger_seconds: int = 86400) -> list[Check]:
    client, reachable = await _temporal_client(settings)
    if client is None:
        return [reachable]
    return [reachable, await search_attribute_check(client, settings.temporal_namespace),
            await memory_check(client, settings.temporal_namespace, linger_seconds),
            *await deploy_checks(client, settings.temporal_namespace, settings.temporal_task_queue)]



async def run_checks(settings: Settings) -> list[Check]:
    config, loaded = config_check(settings)
    webhook_url = config.pagerduty.webhook_url if config else None
    routed = sorted(config.routing.services) if config else []
    groups = await asyncio.gather(slack_checks(settings, config),
                                  pagerduty_checks(settings, webhook_url, TIMEOUT, routed),
                                  temporal_checks(settings, config.timing.linger_after_resolve_seconds
                                                  if config else 86400))
    return [loaded, manifest_check(), *(check for group in groups for check in group)]


def format_report(checks: list[Check]) -> str:
    width = max((len(c.name) for c in checks), default=0)
    lines = ["pd-slack-bridge doctor", ""]
    for check in checks:
        lines.append(f"{'✓' if check.ok else '✗'} {check.name.ljust(width)}  {check.detail}")
        lines.extend(f"{' ' * (width + 4)}{line}" for line in check.lines)
        if not check.ok and check.fix:
            pad = " " * (width + 4)
            fix_lines = check.fix.splitlines()
            lines.append(f"{pad}fix: {fix_lines[0]}")
            lines.extend(f"{pad}     {line}" for line in fix_lines[1:])
    problems = sum(not c.ok for c in checks)
    lines += ["", f"All {len(checks)} checks passed." if not problems
              else f"{problems} of {len(checks)} checks failed."]
    return "\n".join(lines)


def exit_code(checks: list[Check]) -> int:
    return 0 if all(c.ok for c in checks) else 1


def main() -> int:
    settings, environment = load_settings()
    checks = [environment]
    if settings is not None:
        checks += asyncio.run(run_checks(settings))
    print(format_report(checks))
    return exit_code(checks)


if __name__ == "__main__":
    exit_without_teardown(main())
