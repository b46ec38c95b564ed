"""One entry point for people and CI: `python3 dev.py run` starts the bridge, `python3 dev.py test` checks it.

Each command first makes sure `.venv` holds the project and its dependencies (installed from PyPI through
pip), so a fresh machine with only Python needs nothing else.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PY = BIN / "python"
STAMP = VENV / ".installed"
TYPED_PACKAGES = ["api", "workflows", "activities", "simulators", "ops", "worker.py", "settings.py", "tests"]


def _fingerprint() -> str:
    return hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()


def ensure_venv() -> None:
    if not PY.exists():
        print("dev: creating .venv", flush=True)
        venv.EnvBuilder(with_pip=True).create(VENV)
    if STAMP.exists() and STAMP.read_text() == _fingerprint():
        return
    print("dev: installing the project and its dependencies into .venv", flush=True)
    pip = [str(PY), "-m", "pip", "install", "--disable-pip-version-check", "--quiet"]
    subprocess.run([*pip, "--upgrade", "pip"], check=True)
    subprocess.run([*pip, "-e", f"{ROOT}[dev]"], check=True)
    STAMP.write_text(_fingerprint())


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    env["VIRTUAL_ENV"] = str(VENV)
    return env


def _step(name: str, argv: list[str]) -> int:
    print(f"dev: {name}: {' '.join(argv)}", flush=True)
    return subprocess.run(argv, cwd=ROOT, env=_env()).returncode


def _step_interruptible(name: str, argv: list[str]) -> int:
    """A step that handles Ctrl-C itself (stopping what it started): wait for it instead of killing it."""
    print(f"dev: {name}: {' '.join(argv)}", flush=True)
    process = subprocess.Popen(argv, cwd=ROOT, env=_env())
    while True:
        try:
            return process.wait()
        except KeyboardInterrupt:
            continue


def cmd_test(extra: list[str]) -> int:
    checks = [
        ("lint", [str(PY), "-m", "ruff", "check", "."]),
        ("types", [str(PY), "-m", "mypy", *TYPED_PACKAGES]),
        ("tests", [str(PY), "-m", "pytest", "-q", "-p", "no:cacheprovider", *extra]),
    ]
    failed = [name for name, argv in checks if _step(name, argv) != 0]
    if failed:
        print(f"dev: FAILED: {', '.join(failed)}", flush=True)
        return 1
    print("dev: all checks passed", flush=True)
    return 0


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in {"run", "test", "bench", "soak", "doctor", "ctl", "upgrade-check"}:
        print("usage: python3 dev.py run | test [pytest args] | bench | soak [--minutes N] | doctor | ctl <args>"
              " | upgrade-check --from <commit>", file=sys.stderr)
        return 2
    ensure_venv()
    command, rest = argv[0], argv[1:]
    if command == "test":
        return cmd_test(rest)
    if command == "run":
        return _step("run", [str(PY), "-m", "ops.run", *rest])
    if command == "bench":
        return _step("bench", [str(PY), "-m", "ops.bench", *rest])
    if command == "soak":
        return _step("soak", [str(PY), "-m", "ops.soak", *rest])
    if command == "upgrade-check":
        return _step_interruptible("upgrade-check", [str(PY), "-m", "ops.upgrade_check", *rest])
    if command == "doctor":
        return _step("doctor", [str(PY), "-m", "ops.doctor", *rest])
    return _step("ctl", [str(PY), "-m", "ops.ctl", *rest])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
