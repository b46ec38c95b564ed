"""`python -m ops.ctl` (or `python3 dev.py ctl …`): operator commands.

    subscribe  create the PagerDuty v3 webhook subscription(s) that feed the bridge, print their secrets once
    stuck      list incident workflows that are stuck or still carrying a Slack action to PagerDuty
    failing    list workflows whose workflow task keeps failing (a bad deploy), and a wedged budget or sweep
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from dataclasses import dataclass, field
from datetime import timedelta
from urllib.parse import quote, urlsplit

import httpx
from pydantic import ValidationError
from temporalio.client import Client, WorkflowExecution, WorkflowQueryFailedError, WorkflowQueryRejectedError
from temporalio.service import RPCError, RPCStatusCode

from activities.errors import PagerDutyAuthError, PagerDutyError
from activities.pagerduty_api import PagerDutyApi
from activities.pagerduty_auth import credentials_from
from activities.pagerduty_scopes import SUBSCRIBE_SCOPES
from ops.ctl_failing import add_parser as add_failing_parser
from ops.ctl_failing import cmd_failing
from ops.logs import PREFIX
from ops.stall import exit_without_teardown
from settings import ConfigError, Settings
from worker import connect
from workflows import search
from workflows.incident import IncidentWorkflow
from workflows.models import IncidentState

WEBHOOK_PATH = "/pagerduty/webhooks"
BASE_QUERY = 'WorkflowType = "IncidentWorkflow" AND ExecutionStatus = "Running"'
STUCK_QUERY = f"{BASE_QUERY} AND (IncidentStuck = true OR CommandPending = true)"
LOCAL_UI = "http://localhost:8233"
LOCAL_HOSTS = {"localhost", "127.0.0.1", "::1", "[::1]"}
QUERY_TIMEOUT = 3.0
# Bounds the state queries in flight at once, so `stuck --all` on a busy namespace stays polite.
QUERY_CONCURRENCY = 16


# ---- subscribe ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Target:
    filter_type: str
    filter_id: str | None

    @property
    def label(self) -> str:
        kind = self.filter_type.removesuffix("_reference")
        return f"{kind} {self.filter_id}" if self.filter_id else "whole account"


@dataclass(frozen=True)
class Created:
    target: Target
    subscription_id: str
    secret: str


def url_problem(url: str, allow_http: bool) -> str | None:
    parts = urlsplit(url)
    if not parts.netloc:
        return f"{url!r} is not an absolute URL such as https://bridge.example.com{WEBHOOK_PATH}"
    if parts.scheme == "https" or (parts.scheme == "http" and allow_http):
        return None
    if parts.scheme == "http":
        return "refusing a plain-http URL: webhooks carry incident data (use https, or --allow-http for local tests)"
    return f"unsupported URL scheme {parts.scheme!r}: use https"


def targets_from(args: argparse.Namespace) -> list[Target]:
    if args.account:
        return [Target("account_reference", None)]
    if args.team:
        return [Target("team_reference", team) for team in dict.fromkeys(args.team)]
    return [Target("service_reference", service) for service in dict.fromkeys(args.service)]


async def create_subscriptions(api: PagerDutyApi, url: str, targets: list[Target],
                               description: str) -> tuple[list[Created], str | None]:
    """Stops at the first failure but returns what was created: those secrets exist only in this answer."""
    created: list[Created] = []
    for target in targets:
        try:
            sub = await api.create_webhook_subscription(url, target.filter_type, target.filter_id, description)
        except PagerDutyError as exc:
            return created, f"{target.label}: {exc}\n{_subscribe_hint(exc)}"
        method = sub.get("delivery_method") or {}
        created.append(Created(target, str(sub.get("id")), str(method.get("secret") or "")))
    return created, None


def _subscribe_hint(exc: PagerDutyError) -> str:
    if isinstance(exc, PagerDutyAuthError):
        return "The PagerDuty credential (PAGERDUTY_API_TOKEN, or the app's PAGERDUTY_CLIENT_ID and secret) is wrong."
    return ("Creating subscriptions needs webhook_subscriptions.write (Scoped OAuth), a full-access REST API key, or "
            "a Manager/Admin user token; the ids must exist (services PS…, teams PT…).")


def format_created(created: list[Created], url: str) -> str:
    if not created:
        return ""
    lines = [f"Created {len(created)} webhook subscription(s) delivering to {url}:"]
    lines += [f"  {c.subscription_id}  {c.target.label}  secret: {c.secret or '(none returned)'}" for c in created]
    secrets = ",".join(c.secret for c in created if c.secret)
    lines += [
        "",
        "PagerDuty never shows these secrets again: store them in your secret manager now.",
        "Set on every bridge-api replica (comma-separated; while rotating, keep the old secret in the list",
        "until the old subscription is deleted, then remove it):",
        f"  PAGERDUTY_WEBHOOK_SECRETS={secrets}",
    ]
    if urlsplit(url).path.rstrip("/") != WEBHOOK_PATH:
        lines.append(f"note: the bridge receives webhooks at {WEBHOOK_PATH}; make sure your proxy maps this URL there.")
    return "\n".join(lines)


async def cmd_subscribe(settings: Settings, args: argparse.Namespace) -> int:
    problem = url_problem(args.url, args.allow_http)
    if problem:
        print(f"ctl subscribe: {problem}", file=sys.stderr)
        return 2
    async with httpx.AsyncClient(base_url=settings.pagerduty_api_url, timeout=20) as http:
        api = PagerDutyApi(http, credentials_from(settings, http, SUBSCRIBE_SCOPES))
        created, error = await create_subscriptions(api, args.url, targets_from(args), args.description)
    report = format_created(created, args.url)
    if report:
        print(report)
    if error:
        print(f"ctl subscribe: failed for {error}", file=sys.stderr)
        return 1
    return 0


# ---- stuck -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PendingCommand:
    action: str
    slack_user: str
    phase: str
    detail: str


@dataclass
class StuckIncident:
    workflow_id: str
    incident_id: str
    number: int | None
    status: str | None
    stuck: bool
    command_pending: bool
    commands: list[PendingCommand] = field(default_factory=list)
    problem: str | None = None
    unreadable: str | None = None  # why the state query failed (worker down…); the rest is from visibility


async def _query_state(client: Client, execution: WorkflowExecution, timeout: float) -> IncidentState | str:
    handle = client.get_workflow_handle(execution.id, run_id=execution.run_id)
    try:
        return await handle.query(IncidentWorkflow.state, rpc_timeout=timedelta(seconds=timeout))
    except RPCError as exc:
        # The client's own deadline surfaces as CANCELLED "Timeout expired", the server's as DEADLINE_EXCEEDED.
        timed_out = exc.status == RPCStatusCode.DEADLINE_EXCEEDED or (
            exc.status == RPCStatusCode.CANCELLED and "timeout" in exc.message.lower())
        if timed_out:
            return f"no worker answered the state query within {timeout:g} s: is the worker running?"
        return f"state query failed: {exc}"
    # Any other failure (old state shape, rejected query) must not hide the other incidents.
    except (WorkflowQueryFailedError, WorkflowQueryRejectedError, ValueError, TimeoutError) as exc:
        return f"state query failed: {exc}"


def _from_execution(execution: WorkflowExecution, state: IncidentState | str) -> StuckIncident:
    attrs = execution.typed_search_attributes
    item = StuckIncident(
        workflow_id=execution.id,
        incident_id=attrs.get(search.INCIDENT_ID) or execution.id.removeprefix(PREFIX),
        number=attrs.get(search.INCIDENT_NUMBER),
        status=attrs.get(search.STATUS),
        stuck=bool(attrs.get(search.STUCK)),
        command_pending=bool(attrs.get(search.COMMAND_PENDING)),
    )
    if isinstance(state, str):
        item.unreadable = state
        return item
    item.commands = [PendingCommand(c.action.value, c.slack_user, c.phase.value, c.detail)
                     for c in state.pending_commands()]
    item.problem = state.render_error or state.read_error
    if state.incident is not None:  # the query is fresher than eventually consistent visibility
        item.number, item.status = state.incident.number, state.incident.status.value
    return item


async def list_stuck(client: Client, include_all: bool, *, query_timeout: float = QUERY_TIMEOUT) -> list[StuckIncident]:
    executions = [e async for e in client.list_workflows(BASE_QUERY if include_all else STUCK_QUERY)]
    gate = asyncio.Semaphore(QUERY_CONCURRENCY)

    async def read(execution: WorkflowExecution) -> StuckIncident:
        async with gate:
            return _from_execution(execution, await _query_state(client, execution, query_timeout))

    return list(await asyncio.gather(*(read(e) for e in executions)))


def ui_base(settings: Settings, override: str | None) -> str | None:
    if override:
        return override.rstrip("/")
    host = (settings.temporal_address or "localhost").rsplit(":", 1)[0]
    return LOCAL_UI if host in LOCAL_HOSTS else None


def format_stuck(items: list[StuckIncident], namespace: str, ui: str | None, include_all: bool) -> str:
    if not items:
        return "No running incident workflows." if include_all else "No stuck incidents and no pending commands."
    lines: list[str] = []
    for item in items:
        flags = [f for f, on in (("STUCK", item.stuck), ("command pending", item.command_pending)) if on]
        number = f"#{item.number}" if item.number is not None else "#?"
        lines.append(f"{item.workflow_id}  {number}  {item.status or 'unknown'}  {', '.join(flags) or 'ok'}")
        if item.unreadable:
            lines.append(f"    state unavailable: {item.unreadable}")
        lines += [f"    pending: {c.action} by {c.slack_user}, {c.phase}" + (f": {c.detail}" if c.detail else "")
                  for c in item.commands]
        if item.problem:
            lines.append(f"    last problem: {item.problem}")
        if ui:
            lines.append(f"    {ui}/namespaces/{quote(namespace)}/workflows/{quote(item.workflow_id)}")
    if not ui:
        lines.append(f"Open them in your Temporal Web UI (namespace {namespace}), or pass --ui-url to print links.")
    return "\n".join(lines)


async def cmd_stuck(settings: Settings, args: argparse.Namespace) -> int:
    try:
        client = await asyncio.wait_for(connect(settings), 5)
        items = await list_stuck(client, args.all)
    except (RPCError, RuntimeError, OSError, TimeoutError) as exc:
        print(f"ctl stuck: cannot list incident workflows: {exc or type(exc).__name__}\n"
              "Run `python3 dev.py doctor` to check the Temporal address and search attributes.", file=sys.stderr)
        return 1
    print(format_stuck(items, settings.temporal_namespace, ui_base(settings, args.ui_url), args.all))
    return 0


# ---- command line ------------------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="ctl", description="pd-slack-bridge operator commands")
    commands = parser.add_subparsers(dest="command", required=True)
    sub = commands.add_parser("subscribe", help="create PagerDuty webhook subscription(s) for the bridge")
    sub.add_argument("--url", required=True, help=f"public HTTPS URL of the bridge's {WEBHOOK_PATH}")
    scope = sub.add_mutually_exclusive_group(required=True)
    scope.add_argument("--service", action="append", metavar="PSVC…", help="one subscription per service")
    scope.add_argument("--team", action="append", metavar="PT…", help="one subscription per team")
    scope.add_argument("--account", action="store_true", help="one subscription for the whole account")
    sub.add_argument("--description", default="pd-slack-bridge", help="shown in PagerDuty's webhook list")
    sub.add_argument("--allow-http", action="store_true", help="accept a plain-http URL (local testing only)")
    stuck = commands.add_parser("stuck", help="list incidents that are stuck or have a pending command")
    stuck.add_argument("--all", action="store_true", help="list every running incident workflow")
    stuck.add_argument("--ui-url", help="Temporal Web UI base URL (docker-compose.temporal.yml: "
                                        "http://localhost:8080); default localhost:8233 for a local server")
    add_failing_parser(commands)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        settings = Settings()
        run = {"subscribe": cmd_subscribe, "stuck": cmd_stuck, "failing": cmd_failing}[args.command]
        return asyncio.run(run(settings, args))
    except (ValidationError, ConfigError) as exc:
        print(f"ctl {args.command}: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    exit_without_teardown(main())
