"""The doctor against the simulators on loopback and the real Temporal dev server."""

from __future__ import annotations

import asyncio
import os
import socket
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from google.protobuf.duration_pb2 import Duration
from pydantic import SecretStr
from temporalio.api.workflowservice.v1 import RegisterNamespaceRequest
from temporalio.testing import WorkflowEnvironment

from activities.pagerduty_scopes import RUNTIME_SCOPES
from ops.doctor import (
    MANIFEST_SLACK_SCOPES,
    REQUIRED_SLACK_SCOPES,
    Check,
    exit_code,
    format_report,
    manifest_check,
    run_checks,
)
from settings import Settings
from simulators.pagerduty import PagerDutySimulator
from simulators.server import ServedApp, stop_all
from simulators.slack import SlackSimulator

ROOT = Path(__file__).resolve().parents[2]
PD_TOKEN, SLACK_TOKEN, SIGNING, HOOK_SECRET = "pd-doctor-token", "xoxb-doctor-token", "sign-doctor", "hook-doctor"
CONFIG = """
[routing]
default_channel = "C0DEFAULT"

[routing.services]
PSVC001 = "C0PAYMENTS"
{extra}
"""

MakeSettings = Callable[..., Settings]
BRIDGE_URL = "https://bridge.example.com/pagerduty/webhooks"


class Sims:
    def __init__(self) -> None:
        self.pd = PagerDutySimulator(token=PD_TOKEN)
        self.slack = SlackSimulator(signing_secret=SIGNING, bot_token=SLACK_TOKEN)
        self.pd.seed_demo()
        self.pd.webhook_url = BRIDGE_URL  # the bridge's subscription, as PagerDuty lists it
        self.slack.seed_demo()
        self.pd_server = ServedApp(self.pd.app).start()
        self.slack_server = ServedApp(self.slack.app).start()


@pytest.fixture
def sims() -> Iterator[Sims]:
    sims = Sims()
    yield sims
    stop_all(sims.pd_server, sims.slack_server)
    sims.pd.close()


@pytest.fixture
def make_settings(sims: Sims, dev_env: WorkflowEnvironment, tmp_path: Path) -> MakeSettings:
    """Settings pointing at the simulators and the dev server; keyword arguments override fields. The task queue
    is the test's own: nothing of another test's bridge is on it."""
    queue = f"doctor-{uuid.uuid4().hex[:8]}"

    def make(extra_routes: str = "", **overrides: Any) -> Settings:
        config = tmp_path / "bridge.toml"
        config.write_text(CONFIG.format(extra=extra_routes))
        fields: dict[str, Any] = {
            "temporal_address": dev_env.client.service_client.config.target_host,
            "pagerduty_api_token": SecretStr(PD_TOKEN), "pagerduty_api_url": sims.pd_server.url,
            "pagerduty_webhook_secrets": f"{HOOK_SECRET},{HOOK_SECRET}-next",
            "slack_bot_token": SecretStr(SLACK_TOKEN), "slack_signing_secret": SecretStr(SIGNING),
            "slack_api_url": f"{sims.slack_server.url}/api/", "bridge_config": config, "temporal_task_queue": queue,
        }
        return Settings(**{**fields, **overrides})

    return make


def by_name(checks: list[Check]) -> dict[str, Check]:
    return {c.name: c for c in checks}


def failures(checks: list[Check]) -> list[str]:
    return [c.name for c in checks if not c.ok]


def test_manifest_check_names_a_missing_command_and_scope(tmp_path: Path) -> None:
    manifest = yaml.safe_load((ROOT / "slack-app-manifest.yml").read_text())
    assert manifest_check(ROOT / "slack-app-manifest.yml").ok
    del manifest["features"]["slash_commands"]
    manifest["oauth_config"]["scopes"]["bot"].remove("commands")
    broken = tmp_path / "slack-app-manifest.yml"
    broken.write_text(yaml.safe_dump(manifest))
    check = manifest_check(broken)
    assert not check.ok
    assert check.detail == "slack-app-manifest.yml: no /pd slash command; missing bot scopes commands"


def test_required_scopes_match_the_manifest() -> None:
    manifest = yaml.safe_load((ROOT / "slack-app-manifest.yml").read_text())
    assert set(manifest["oauth_config"]["scopes"]["bot"]) == MANIFEST_SLACK_SCOPES
    # Every install needs these; the incident channel scopes only where the config creates channels, the user
    # group scopes only where it has [oncall_groups], the DM scope unless direct messages are off.
    optional = MANIFEST_SLACK_SCOPES - REQUIRED_SLACK_SCOPES
    assert optional == {"channels:manage", "groups:write", "groups:read", "usergroups:read", "usergroups:write",
                        "im:write"}


def test_manifest_check_names_a_missing_channel_scope(tmp_path: Path) -> None:
    manifest = yaml.safe_load((ROOT / "slack-app-manifest.yml").read_text())
    manifest["oauth_config"]["scopes"]["bot"].remove("groups:write")
    broken = tmp_path / "slack-app-manifest.yml"
    broken.write_text(yaml.safe_dump(manifest))
    check = manifest_check(broken)
    assert not check.ok
    assert check.detail == "slack-app-manifest.yml: missing bot scopes groups:write"


async def test_all_green_against_the_simulators(make_settings: MakeSettings) -> None:
    checks = await run_checks(make_settings())
    assert failures(checks) == []
    assert exit_code(checks) == 0
    assert set(by_name(checks)) == {
        "Config file", "Slack app manifest", "PagerDuty services",
        "Slack bot token", "Slack scopes", "Slack channel scopes", "Slack direct message scope",
        "Slack signing secret", "Slack channel C0DEFAULT",
        "Slack channel C0PAYMENTS", "PagerDuty credential", "PagerDuty API token", "PagerDuty incidents",
        "PagerDuty users",
        "PagerDuty webhook secrets", "PagerDuty webhook subscription", "Temporal server",
        "Temporal search attributes", "Memory of finished incidents", "Incident workflow tasks",
        "Slack budget workflow", "Sweep schedule"}
    # Nothing of the bridge has run on this task queue yet: no workflow to fail, nothing for the worker to mend.
    assert by_name(checks)["Incident workflow tasks"].detail.startswith("none of the 0 running incident workflow(s)")
    assert "never started" in by_name(checks)["Slack budget workflow"].detail
    assert "not created yet: the worker creates it when it starts" in by_name(checks)["Sweep schedule"].detail
    report = format_report(checks)
    assert f"All {len(checks)} checks passed." in report
    assert "2 secret(s) configured" in report
    assert HOOK_SECRET not in report and SIGNING not in report and SLACK_TOKEN not in report


async def test_wrong_slack_token_is_named(make_settings: MakeSettings) -> None:
    checks = await run_checks(make_settings(slack_bot_token=SecretStr("xoxb-revoked")))
    token = by_name(checks)["Slack bot token"]
    assert not token.ok
    assert "invalid_auth" in token.detail and "wrong or was revoked" in token.detail
    assert "SLACK_BOT_TOKEN" in token.fix
    assert failures(checks) == ["Slack bot token"]  # channel checks would only repeat it
    assert "✗ Slack bot token" in format_report(checks)
    assert exit_code(checks) == 1


async def test_missing_scope_is_named(sims: Sims, make_settings: MakeSettings) -> None:
    sims.slack.scopes = [s for s in sims.slack.scopes if s != "users:read.email"]
    checks = await run_checks(make_settings())
    scopes = by_name(checks)["Slack scopes"]
    assert failures(checks) == ["Slack scopes"]
    assert scopes.detail == "the bot token lacks users:read.email"
    assert "slack-app-manifest.yml" in scopes.fix


async def test_dedicated_channels_need_channels_manage(sims: Sims, make_settings: MakeSettings) -> None:
    sims.slack.scopes.remove("channels:manage")
    checks = await run_checks(make_settings())  # no [channels] table: dedicated = "on_demand", public channels
    check = by_name(checks)["Slack channel scopes"]
    assert failures(checks) == ["Slack channel scopes"]
    assert check.detail == ('[channels] dedicated = "on_demand" creates public incident channels, but the bot token '
                            "lacks channels:manage")
    assert "Add channels:manage under oauth_config.scopes.bot" in check.fix and "reinstall the app" in check.fix
    assert "✗ Slack channel scopes" in format_report(checks) and exit_code(checks) == 1


async def test_private_dedicated_channels_need_groups_write(sims: Sims, make_settings: MakeSettings) -> None:
    private = '\n[channels]\ndedicated = "always"\nprivate = true'
    sims.slack.scopes.remove("groups:write")
    checks = await run_checks(make_settings(private))
    check = by_name(checks)["Slack channel scopes"]
    assert failures(checks) == ["Slack channel scopes"]  # channels:manage does not make up for it
    assert "lacks groups:write" in check.detail and "private incident channels" in check.detail
    assert "Add groups:write under oauth_config.scopes.bot" in check.fix
    sims.slack.scopes = [s for s in sims.slack.scopes if s != "channels:manage"] + ["groups:write"]
    checks = await run_checks(make_settings(private))
    assert failures(checks) == []
    detail = by_name(checks)["Slack channel scopes"].detail
    assert detail == 'groups:write, groups:read ([channels] dedicated = "always", private channels)'


async def test_user_group_scopes_are_checked_only_when_oncall_groups_are_configured(
        sims: Sims, make_settings: MakeSettings) -> None:
    checks = await run_checks(make_settings())  # the simulated token has no usergroups:* scope
    assert failures(checks) == [] and "Slack user group scopes" not in by_name(checks)
    groups = '\n[oncall_groups]\npayments-oncall = { escalation_policy = "PEPPAY1", level = 1 }'
    checks = await run_checks(make_settings(groups))
    check = by_name(checks)["Slack user group scopes"]
    assert failures(checks) == ["Slack user group scopes"]
    assert check.detail == ("[oncall_groups] keeps @payments-oncall but the bot token lacks usergroups:read, "
                            "usergroups:write")
    assert "Add usergroups:read, usergroups:write under oauth_config.scopes.bot" in check.fix
    sims.slack.scopes += ["usergroups:read", "usergroups:write"]
    checks = await run_checks(make_settings(groups))
    assert failures(checks) == []
    assert by_name(checks)["Slack user group scopes"].detail == "usergroups:read, usergroups:write (@payments-oncall)"


async def test_direct_messages_need_im_write_unless_they_are_off(sims: Sims, make_settings: MakeSettings) -> None:
    sims.slack.scopes.remove("im:write")
    checks = await run_checks(make_settings())  # the default: "opt_in"
    check = by_name(checks)["Slack direct message scope"]
    assert failures(checks) == ["Slack direct message scope"]
    assert check.detail == ('[notifications] direct_messages = "opt_in" sends assignees direct messages, but the bot '
                            "token lacks im:write")
    assert "Add im:write under oauth_config.scopes.bot" in check.fix and "reinstall the app" in check.fix
    checks = await run_checks(make_settings('\n[notifications]\ndirect_messages = "off"'))
    assert failures(checks) == []
    assert by_name(checks)["Slack direct message scope"].detail == (
        'none needed: [notifications] direct_messages = "off" sends no direct messages')


async def test_no_channel_scopes_needed_when_dedicated_is_never(sims: Sims, make_settings: MakeSettings) -> None:
    sims.slack.scopes = [s for s in sims.slack.scopes if s not in {"channels:manage", "groups:write", "groups:read"}]
    checks = await run_checks(make_settings('\n[channels]\ndedicated = "never"'))
    assert failures(checks) == []
    check = by_name(checks)["Slack channel scopes"]
    assert check.ok and check.detail == 'none needed: [channels] dedicated = "never" creates no incident channels'


async def test_unknown_channel_names_channel_and_key(make_settings: MakeSettings) -> None:
    checks = await run_checks(make_settings('PSVC002 = "C0NOPE"'))
    channel = by_name(checks)["Slack channel C0NOPE"]
    assert failures(checks) == ["Slack channel C0NOPE"]
    assert "C0NOPE" in channel.detail and "routing.services.PSVC002" in channel.detail
    assert "routing.services.PSVC002" in channel.fix


async def test_wrong_pagerduty_token(make_settings: MakeSettings) -> None:
    checks = await run_checks(make_settings(pagerduty_api_token=SecretStr("not-the-token")))
    token = by_name(checks)["PagerDuty API token"]
    assert failures(checks) == ["PagerDuty API token"]
    assert "rejected PAGERDUTY_API_TOKEN (401)" in token.detail and "wrong or revoked" in token.detail


async def test_users_forbidden_names_the_permission(sims: Sims, make_settings: MakeSettings) -> None:
    sims.pd.fail("/users", 403)
    checks = await run_checks(make_settings())
    assert failures(checks) == ["PagerDuty users"]
    assert "users.read" in by_name(checks)["PagerDuty users"].fix


async def test_disabled_subscription_is_reported_with_the_fix(sims: Sims, make_settings: MakeSettings) -> None:
    sims.pd.disable_subscription("PSIMSUB")
    checks = await run_checks(make_settings())
    check = by_name(checks)["PagerDuty webhook subscription"]
    assert failures(checks) == ["PagerDuty webhook subscription"]
    assert "PSIMSUB" in check.detail and "disabled" in check.detail
    assert "POST /webhook_subscriptions/PSIMSUB/enable" in check.fix and "Generic Webhooks (v3)" in check.fix


async def test_a_subscription_that_differs_from_the_routes_is_warned_about(sims: Sims,
                                                                          make_settings: MakeSettings) -> None:
    # The subscription covers the Platform team; payments-api is routed but neither webhooks nor the sweep see it.
    sims.pd.scope_subscription("PSIMSUB", "team_reference", "PTPLAT1")
    checks = await run_checks(make_settings())
    check = by_name(checks)["PagerDuty webhook subscription"]
    report = format_report(checks)
    assert check.lines[0] == "the subscriptions, and so the sweep, cover team PTPLAT1 (1 service)"
    assert ("warning: routed but not covered by the bridge's webhook subscriptions: PSVC001 (their incidents "
            "reach Slack neither by webhook nor by the sweep)") in check.lines
    assert "warning: covered by the subscriptions but not routed: PSVC002" in report
    # Scoped to exactly the routed service: nothing to warn about.
    sims.pd.scope_subscription("PSIMSUB", "service_reference", "PSVC001")
    agreed = by_name(await run_checks(make_settings()))["PagerDuty webhook subscription"]
    assert agreed.lines == ("the subscriptions, and so the sweep, cover service PSVC001",)


async def test_missing_subscription_is_reported_with_the_fix(sims: Sims, make_settings: MakeSettings) -> None:
    sims.pd.webhook_url = "https://elsewhere.example.com/hooks"  # someone else's subscription
    checks = await run_checks(make_settings())
    check = by_name(checks)["PagerDuty webhook subscription"]
    assert failures(checks) == ["PagerDuty webhook subscription"]
    assert "no webhook subscription delivers to" in check.detail
    assert "dev.py ctl subscribe" in check.fix


async def test_missing_webhook_secrets(make_settings: MakeSettings) -> None:
    checks = await run_checks(make_settings(pagerduty_webhook_secrets=" , "))
    assert failures(checks) == ["PagerDuty webhook secrets"]
    assert "PAGERDUTY_WEBHOOK_SECRETS" in by_name(checks)["PagerDuty webhook secrets"].detail


async def test_missing_config_file(make_settings: MakeSettings, tmp_path: Path) -> None:
    checks = await run_checks(make_settings(bridge_config=tmp_path / "absent.toml"))
    assert failures(checks) == ["Config file"]
    assert "absent.toml" in by_name(checks)["Config file"].detail


async def test_unreachable_temporal_fails_fast(make_settings: MakeSettings) -> None:
    with socket.socket() as sock:  # a port that was free a moment ago: nothing listens there
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    started = time.monotonic()
    checks = await run_checks(make_settings(temporal_address=f"127.0.0.1:{port}"))
    assert time.monotonic() - started < 8
    assert failures(checks) == ["Temporal server"]
    assert f"127.0.0.1:{port}" in by_name(checks)["Temporal server"].detail


async def test_missing_search_attributes_print_the_commands(make_settings: MakeSettings,
                                                            dev_env: WorkflowEnvironment) -> None:
    namespace = f"doctor-{uuid.uuid4().hex[:8]}"
    await dev_env.client.workflow_service.register_namespace(RegisterNamespaceRequest(
        namespace=namespace, workflow_execution_retention_period=Duration(seconds=86400)))
    checks = await run_checks(make_settings(temporal_namespace=namespace))
    attributes = by_name(checks)["Temporal search attributes"]
    assert failures(checks) == ["Temporal search attributes"]
    assert "PdIncidentId" in attributes.detail and "IncidentStuck" in attributes.detail
    assert (f"temporal operator search-attribute create --namespace {namespace} --name IncidentStuck --type Bool"
            in attributes.fix)


async def test_a_retention_too_short_for_late_deliveries_is_reported(dev_env: WorkflowEnvironment) -> None:
    from ops.doctor_memory import memory_check

    namespace = f"doctor-{uuid.uuid4().hex[:8]}"
    await dev_env.client.workflow_service.register_namespace(RegisterNamespaceRequest(
        namespace=namespace, workflow_execution_retention_period=Duration(seconds=12 * 3600)))
    short = await memory_check(dev_env.client, namespace, linger_seconds=3600)
    assert not short.ok
    assert "13 h after resolve" in short.detail and "48 h" in short.detail
    assert f"temporal operator namespace update --namespace {namespace} --retention 168h" in short.fix
    enough = await memory_check(dev_env.client, namespace, linger_seconds=86400 * 2)
    assert enough.ok, enough.detail


async def test_command_line_exit_codes(make_settings: MakeSettings, tmp_path: Path) -> None:
    settings = make_settings()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "PAGERDUTY_", "TEMPORAL_"))}
    env.update({
        "TEMPORAL_ADDRESS": str(settings.temporal_address), "PAGERDUTY_API_TOKEN": PD_TOKEN,
        "PAGERDUTY_API_URL": settings.pagerduty_api_url, "PAGERDUTY_WEBHOOK_SECRETS": HOOK_SECRET,
        "SLACK_BOT_TOKEN": SLACK_TOKEN, "SLACK_SIGNING_SECRET": SIGNING, "SLACK_API_URL": settings.slack_api_url,
        "BRIDGE_CONFIG": str(settings.bridge_config), "TEMPORAL_TASK_QUEUE": settings.temporal_task_queue,
    })
    green, out = await run_doctor(env)
    assert green == 0, out
    assert "✓ Temporal search attributes" in out and "checks passed" in out
    failing, out = await run_doctor({**env, "SLACK_SIGNING_SECRET": "", "PAGERDUTY_API_TOKEN": "changeme"})
    assert failing == 1
    assert "✗ Environment" in out and "PAGERDUTY_API_TOKEN" in out and "placeholder" in out


async def run_doctor(env: dict[str, str]) -> tuple[int, str]:
    proc = await asyncio.create_subprocess_exec(sys.executable, "-m", "ops.doctor", cwd=ROOT, env=env,
                                                stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
    out, _ = await asyncio.wait_for(proc.communicate(), timeout=timedelta(seconds=30).total_seconds())
    return int(proc.returncode or 0), out.decode()


APP_ID, APP_SECRET = "bridge-app", "app-secret-doctor"


def app_settings(sims: Sims, make_settings: MakeSettings, scopes: set[str]) -> Settings:
    sims.pd.register_app(APP_ID, APP_SECRET, scopes)
    return make_settings(pagerduty_api_token=None, pagerduty_client_id=APP_ID,
                         pagerduty_client_secret=SecretStr(APP_SECRET), pagerduty_subdomain="sandbox",
                         pagerduty_oauth_url=f"{sims.pd_server.url}/oauth/token")


async def test_account_key_is_named_with_the_least_privilege_choice(make_settings: MakeSettings) -> None:
    checks = await run_checks(make_settings())
    credential = by_name(checks)["PagerDuty credential"]
    assert credential.ok and "account REST API key" in credential.detail
    advice = " ".join(credential.lines)
    assert "least privilege: a Scoped OAuth app" in advice
    assert "App Registration → New App" in advice and "PAGERDUTY_CLIENT_ID" in advice
    assert all(scope in advice for scope in RUNTIME_SCOPES)
    assert "PagerDuty scopes" not in by_name(checks)


async def test_complete_app_shows_scopes_per_feature_and_lifetime(sims: Sims, make_settings: MakeSettings) -> None:
    checks = await run_checks(app_settings(sims, make_settings, set(RUNTIME_SCOPES)))
    assert failures(checks) == []
    named = by_name(checks)
    assert "PagerDuty API token" not in named  # the app's token is the credential
    assert named["PagerDuty credential"].detail.startswith(f"Scoped OAuth app {APP_ID} (as_account-us.sandbox): "
                                                           "token valid for 23 h 59 min")
    scopes = named["PagerDuty scopes"]
    assert scopes.detail.startswith(f"granted all {len(RUNTIME_SCOPES)} scopes the bridge asks for")
    assert "✓ escalate: escalation_policies.read oncalls.read" in scopes.lines
    assert APP_SECRET not in format_report(checks)


async def test_app_missing_a_scope_names_it_the_feature_and_the_fix(sims: Sims, make_settings: MakeSettings) -> None:
    checks = await run_checks(app_settings(sims, make_settings, set(RUNTIME_SCOPES) - {"oncalls.read"}))
    assert failures(checks) == ["PagerDuty scopes"]
    scopes = by_name(checks)["PagerDuty scopes"]
    assert scopes.detail == ("the app was not granted oncalls.read: escalate; /pd open, oncall, trigger will be "
                             "refused by PagerDuty (403)")
    assert "✗ escalate: escalation_policies.read oncalls.read (missing)" in scopes.lines
    assert f"App Registration → {APP_ID} → edit the scopes and add oncalls.read" in scopes.fix
    assert exit_code(checks) == 1


async def test_wrong_app_secret_is_named(sims: Sims, make_settings: MakeSettings) -> None:
    settings = app_settings(sims, make_settings, set(RUNTIME_SCOPES))
    checks = await run_checks(settings.model_copy(update={"pagerduty_client_secret": SecretStr("wrong")}))
    credential = by_name(checks)["PagerDuty credential"]
    assert failures(checks) == ["PagerDuty credential"]
    assert "invalid_client" in credential.detail and "PAGERDUTY_CLIENT_SECRET" in credential.detail
