"""The README's run command as a real process: embedded Temporal, sandbox mode, the demo, a clean stop."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from temporalio.client import Client

ROOT = Path(__file__).resolve().parents[2]
FREE_PORTS = ["--ephemeral", "--temporal-port", "0", "--ui-port", "0", "--api-port", "0", "--slack-port", "0",
              "--pagerduty-port", "0"]


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if k not in {"TEMPORAL_ADDRESS", "SLACK_BOT_TOKEN", "PAGERDUTY_API_TOKEN", "BRIDGE_CONFIG"}}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    return env


def test_sandbox_demo_plays_end_to_end_and_exits_cleanly(tmp_path: Path) -> None:
    log = tmp_path / "bridge.log"
    done = subprocess.run([sys.executable, "-m", "ops.run", "--exit-after-demo", "--log-file", str(log),
                           *FREE_PORTS], cwd=ROOT, env=_env(), capture_output=True, text=True, timeout=120,
                          check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    out = done.stdout
    # A narration for people: the JSON log lines went to the file it names.
    assert f"Logs (JSON lines): {log}" in out
    assert not [line for line in (out + done.stderr).splitlines() if line.lstrip().startswith('{"ts"')]
    lines = [json.loads(line) for line in log.read_text().splitlines()]
    assert any(line["logger"] == "bridge.worker" for line in lines)
    assert "Sandbox mode" in out
    assert "Incident message now: [RESOLVED] #1 Checkout API: p99 latency above 2 s (payments-api)" in out
    timeline = out.split("Thread timeline:")[1].splitlines()[1:5]
    assert timeline == [
        "  - :heavy_check_mark: Acknowledged by @alice from Slack",
        "  - :memo: Note by @bob in PagerDuty: Cache hit rate fell",
        "  - :arrow_double_up: Escalated by @alice from Slack, now assigned to @bob",
        "  - :heavy_check_mark: Resolved by @bob from Slack",
    ]


def test_sigterm_stops_the_bridge_and_its_embedded_temporal() -> None:
    process = subprocess.Popen([sys.executable, "-m", "ops.run", *FREE_PORTS], cwd=ROOT, env=_env(),
                               stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    assert process.stdout is not None
    deadline = time.monotonic() + 90
    said: list[str] = []
    for line in process.stdout:
        said.append(line)
        if "Ctrl-C stops the bridge" in line or time.monotonic() > deadline:
            break
    # The sandbox's on-call group follows its short-shift schedule: someone is in it, as its index page shows.
    slack = next(line.split("simulated Slack: ")[1].split()[0] for line in said if "simulated Slack: " in line)
    assert any("@payments-oncall follows PagerDuty schedule" in line for line in said)
    members = _until(lambda: _usergroup(slack, "payments-oncall"), deadline=time.monotonic() + 30)
    assert members in (["Alice Adams"], ["Bob Brown"])
    children = subprocess.run(["pgrep", "-P", str(process.pid)], capture_output=True, text=True).stdout.split()
    assert children, "the embedded Temporal server should run as a child process"
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=30) == 0
    for child in children:
        assert not Path(f"/proc/{child}").exists() or "zombie" in Path(f"/proc/{child}/status").read_text().lower()


def _usergroup(slack: str, handle: str) -> list[str] | None:
    with urllib.request.urlopen(f"{slack}/_sim/usergroups", timeout=5) as answer:
        groups = json.load(answer)["usergroups"]
    return next((g["members"] for g in groups if g["handle"] == handle and g["members"]), None)


def _until(check: Callable[[], list[str] | None], deadline: float) -> list[str] | None:
    while (value := check()) is None and time.monotonic() < deadline:
        time.sleep(0.2)
    return value


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def _incident_workflows(address: str, at_least: int) -> list[tuple[str, datetime]]:
    """Every incident workflow, once the run's own `at_least` are listed (visibility lags a little)."""
    client = await Client.connect(address)
    deadline = time.monotonic() + 60
    while True:
        found = [(w.id, w.start_time) async for w in client.list_workflows('WorkflowType = "IncidentWorkflow"')]
        if len(found) >= at_least or time.monotonic() > deadline:
            return found
        await asyncio.sleep(0.2)


def test_a_second_sandbox_run_starts_without_the_first_runs_incidents(tmp_path: Path) -> None:
    """The simulators start empty at every run; Temporal's kept workflows would be ghosts following incidents
    the simulated PagerDuty no longer has."""
    env = {**_env(), "PYTHONPATH": str(ROOT)}
    ports = ["--api-port", "0", "--slack-port", "0", "--pagerduty-port", "0", "--ui-port", "0"]
    first = subprocess.run([sys.executable, "-m", "ops.run", "--exit-after-demo", "--temporal-port", "0", *ports],
                           cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120, check=False)
    assert first.returncode == 0, first.stderr[-2000:]
    temporal_port = _free_port()
    second_started = datetime.now(UTC)
    process = subprocess.Popen([sys.executable, "-m", "ops.run", "--no-demo", "--temporal-port", str(temporal_port),
                                *ports], cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                               text=True)
    assert process.stdout is not None
    try:
        for line in process.stdout:
            if "Ctrl-C stops the bridge" in line:
                break
        workflows = asyncio.run(_incident_workflows(f"127.0.0.1:{temporal_port}", 1))
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)
    assert workflows, "the second run's own incidents have workflows"
    assert [w for w, started in workflows if started < second_started] == []


def test_sigterm_in_production_mode_stops_the_worker_gracefully(tmp_path: Path) -> None:
    """With credentials (no simulators), a SIGTERM reaches the worker's graceful stop, not only uvicorn's."""
    config = tmp_path / "bridge.toml"
    config.write_text('[routing]\ndefault_channel = "C0DEFAULT"\n')
    log = tmp_path / "bridge.log"
    env = {**_env(), "SLACK_BOT_TOKEN": "xoxb-production-mode", "SLACK_SIGNING_SECRET": "signing-secret",
           "PAGERDUTY_API_TOKEN": "pd-production-mode", "BRIDGE_CONFIG": str(config),
           # Nothing is called at start; were it, it would reach nobody.
           "PAGERDUTY_API_URL": "http://127.0.0.1:9", "SLACK_API_URL": "http://127.0.0.1:9/api/"}
    process = subprocess.Popen([sys.executable, "-m", "ops.run", "--log-file", str(log), *FREE_PORTS], cwd=ROOT,
                               env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 90
        while "worker polling task queue" not in (log.read_text() if log.exists() else ""):
            assert process.poll() is None and time.monotonic() < deadline, "the worker never started polling"
            time.sleep(0.2)
        process.send_signal(signal.SIGTERM)
        code = process.wait(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
    messages = [json.loads(line)["msg"] for line in log.read_text().splitlines()]
    assert code == 0 and "stopped" in messages, messages[-10:]
