"""`python3 dev.py upgrade-check --from <commit>`: rehearse replacing the release in production by the
working tree, in place, with incidents in every phase.

The old release is built from git in a temporary folder (a worktree and a venv of its own). One Temporal dev
server and the simulated PagerDuty and Slack run here; the old release's `python worker.py` and `uvicorn
api.app:app` run as processes of that tree. Incidents are put in each phase (open; acknowledged with the
PagerDuty write retrying; a note whose webhook echo is held back; resolved and lingering; with a channel of
its own; a storm waiting in the Slack budget; a trigger whose webhook was lost). Then the old worker and API
get SIGTERM and the working tree's take their place on the same Temporal, task queue and API port. Faults
clear, held webhooks go out, every incident is driven to the end, and one line per incident says whether it
converged. Exit status 1 when anything did not.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import shutil
import signal
import sys
import tempfile
import time
from pathlib import Path

from temporalio.client import Client

from ops.upgrade_phases import Case, by_key, drive, lose_trigger, note_at_swap, plan, prepare, start_storm
from ops.upgrade_procs import (
    Procs,
    Release,
    build_release,
    commit_of,
    describe_tree,
    free_port,
    remove_release,
    start_bridge,
    start_temporal,
    wait_api,
    wait_worker,
)
from ops.upgrade_temporal import TaskHealth, budget_waiting, health, run_sweep, running, wait_closed
from ops.upgrade_verdict import converge, dump, incident_line
from ops.upgrade_world import World

ROOT = Path(__file__).resolve().parents[1]
TASK_QUEUE = "pd-slack-bridge"
LINGER = 90
CONFIG = f"""[routing]
default_channel = "C0DEFAULT"

[routing.services]
PSVC001 = "C0PAYMENTS"
PSVC002 = "C0PLATFORM"

[authorization]
admin_slack_users = ["U0LEAD"]

[timing]
action_deadline_seconds = 300
linger_after_resolve_seconds = {LINGER}
sweep_interval_seconds = 604800  # the sweep runs when this command triggers its schedule
"""


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="dev.py upgrade-check", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--from", dest="commit", required=True, help="the release in production (a git commit)")
    parser.add_argument("--to", type=Path, default=None,
                        help="the new release's tree, run with this tree's .venv (default: this working tree)")
    parser.add_argument("--timeout", type=float, default=240.0,
                        help="seconds the incidents get to converge after the swap")
    parser.add_argument("--log-dir", type=Path, default=ROOT / ".bridge-data" / "upgrade-check",
                        help="where the processes' logs and the bridge's config are kept")
    return parser.parse_args(argv)


def say(text: str) -> None:
    print(text, flush=True)


def search_attributes() -> dict[str, str]:
    from workflows import search

    return {key.name: key.indexed_value_type.name for key in search.ALL_KEYS}


def new_release(tree: Path | None) -> Release:
    python = ROOT / ".venv" / "bin" / "python"
    root = (tree or ROOT).resolve()
    return Release("the working tree" if root == ROOT else str(root), root,
                   python if python.exists() else Path(sys.executable))


async def bring_up(procs: Procs, release: Release, tag: str, settings: dict[str, str], api_port: int,
                   client: Client) -> float:
    started = time.monotonic()
    worker_pid, _ = start_bridge(procs, release, settings, api_port, tag)
    await asyncio.gather(wait_api(procs, tag, f"http://127.0.0.1:{api_port}"),
                         wait_worker(procs, tag, client, TASK_QUEUE, worker_pid))
    return time.monotonic() - started


async def swap(procs: Procs, new: Release, settings: dict[str, str], api_port: int, client: Client) -> str:
    """SIGTERM the old worker and API, wait for them, start the new ones in their place."""
    started = time.monotonic()
    codes = await asyncio.gather(asyncio.to_thread(procs.stop, "old-worker"), asyncio.to_thread(procs.stop, "old-api"))
    stopped = time.monotonic() - started
    up = await bring_up(procs, new, "new", settings, api_port, client)
    return (f"old worker and API stopped by SIGTERM in {stopped:.1f} s (exit codes {codes[0]}, {codes[1]}); "
            f"{new.name}'s worker polling and API ready on the same port in {up:.1f} s")


def print_at_swap(cases: list[Case]) -> None:
    say("At the swap:")
    shown: set[str] = set()
    for case in cases:
        if case.phase in shown:
            continue
        shown.add(case.phase)
        note = case.at_swap.split(" (", 1)[1].rstrip(")") if case.key.startswith("f") else case.at_swap
        say(f"  {case.phase:<26} {'storm' if case.key.startswith('f') else '#' + str(case.number)}: {note}")


async def rehearse(args: argparse.Namespace, procs: Procs, world: World, tmp: Path, log_dir: Path) -> int:
    began = time.monotonic()
    commit = commit_of(ROOT, args.commit)
    new = new_release(args.to)
    where = ", ".join(filter(None, [str(new.root), describe_tree(new.root)]))
    say(f"upgrade-check: {commit} (in production) -> {new.name} ({where}); logs in {log_dir}")
    old = await asyncio.to_thread(build_release, procs, ROOT, commit, tmp)
    say(f"  old release {commit} built in {time.monotonic() - began:.1f} s (git worktree and venv in {tmp})")
    address, client = await start_temporal(procs, search_attributes())
    api_port = free_port()
    world.start(f"http://127.0.0.1:{api_port}")
    config = log_dir / "bridge.toml"
    config.write_text(CONFIG)
    settings = world.bridge_settings(address, TASK_QUEUE, str(config))
    known = (old.root / "settings.py").read_text().lower()
    for name in [n for n in settings if n.lower() not in known]:
        say(f"  warning: the old release's settings.py does not read {name}")
    up = await bring_up(procs, old, "old", settings, api_port, client)
    say(f"  Temporal dev server {address}; old worker polling and API on :{api_port} in {up:.1f} s")

    cases = plan()
    k = by_key(cases)
    storm = [c for c in cases if c.key.startswith("f")]
    await prepare(world, cases)
    sweep_before = await run_sweep(client, TASK_QUEUE)
    await lose_trigger(world, k["h"])
    queued = await start_storm(world, storm, lambda: budget_waiting(client))
    note_at_swap(world, cases, queued)
    lingering = await health(client, k["d"].workflow_id)
    k["d"].at_swap += f" (workflow {lingering.status})"
    print_at_swap(cases)
    say(f"  sweep by the old release: {sweep_before.describe()}")
    old_live = await running(client)
    budget_before = [t.workflow_id for t in old_live if t.workflow_type == "SlackBudgetWorkflow"]
    say(f"  running workflows: {len(old_live)}, {sum(t.failing for t in old_live)} with failing tasks; "
        f"budget {', '.join(budget_before) or 'NONE'}")

    say(f"Swap: {await swap(procs, new, settings, api_port, client)}")
    swapped = time.monotonic()
    await world.clear_faults()
    released = await world.hold_webhooks(k["c"].incident, hold=False)
    say(f"  PagerDuty faults cleared, {released['released']} held webhook(s) released")

    sweep_done = asyncio.Event()

    async def sweep_after() -> TaskHealth:
        try:
            return await run_sweep(client, TASK_QUEUE)
        finally:
            sweep_done.set()

    sweep_task = asyncio.create_task(sweep_after())
    await drive(world, cases, sweep_done)
    sweep_new = await sweep_task
    took = await converge(world, cases, args.timeout)
    after_swap = time.monotonic() - swapped
    linger_left = max(10.0, args.timeout - took)
    tasks = {c.key: await (wait_closed(client, c.workflow_id, linger_left) if c.must_complete
                           else health(client, c.workflow_id)) for c in cases}
    waited = "the deadline passed" if took >= args.timeout else "all converged"
    say(f"Incidents ({waited} {after_swap:.0f} s after the swap):")
    converged, unconverged = 0, []
    for case in sorted(cases, key=lambda c: (c.key.startswith("f"), c.number)):
        ok, line = incident_line(world, case, tasks[case.key])
        converged += ok
        unconverged += [] if ok else [dump(world, case, tasks[case.key])]
        say(line)
    if unconverged:
        (log_dir / "unconverged.txt").write_text("\n".join(unconverged) + "\n")
        say(f"  what Slack and PagerDuty show of those: {log_dir / 'unconverged.txt'}")
    return await report(client, cases, converged, (sweep_before, sweep_new), budget_before, began)


async def report(client: Client, cases: list[Case], converged: int, sweeps: tuple[TaskHealth, TaskHealth],
                 budget_before: list[str], began: float) -> int:
    sweep_before, sweep_new = sweeps
    live = await running(client)
    budget = [t for t in live if t.workflow_type == "SlackBudgetWorkflow"]
    failing = {t.workflow_id: t for t in live if t.failing}
    failing.update({f"pd-incident-{c.incident}": t for c in cases
                    if (t := await health(client, c.workflow_id)).failing})
    sweep_ok = sweep_new.status == "COMPLETED" and not sweep_new.failing
    budget_ok = len(budget) == 1 and not budget[0].failing and [b.workflow_id for b in budget] == budget_before
    waiting = await budget_waiting(client)
    say(f"Budget: {budget[0].describe() if budget else 'no SlackBudgetWorkflow running'}"
        f"{' (the one running before the swap)' if budget_ok else ''}; {waiting} asks waiting in its queue now")
    say(f"Sweep: by the old release {sweep_before.status}; by the new release {sweep_new.describe()}")
    for t in failing.values():
        say(f"  failing: {t.describe()}")
    say(f"  running workflows now: {len(live)} ({', '.join(sorted({t.workflow_type for t in live}))})")
    say(f"upgrade-check: {converged}/{len(cases)} incidents converged; {len(failing)} workflows with failing tasks"
        f"{'' if budget_ok else '; the budget workflow is not healthy'}{'' if sweep_ok else '; the sweep failed'}"
        f" ({time.monotonic() - began:.0f} s)")
    return 0 if converged == len(cases) and not failing and budget_ok and sweep_ok else 1


async def main_async(args: argparse.Namespace) -> int:
    task = asyncio.current_task()
    assert task is not None
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, task.cancel)
    log_dir = (args.log_dir / time.strftime("%Y%m%d-%H%M%S")).resolve()
    log_dir.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix="upgrade-check-"))
    procs, world = Procs(log_dir), World()
    try:
        return await rehearse(args, procs, world, tmp, log_dir)
    except Exception as exc:  # a stall or a process that died: say what, and where its log is
        say(f"upgrade-check: FAILED: {type(exc).__name__}: {exc}\n  logs: {log_dir}")
        return 1
    finally:
        await asyncio.to_thread(procs.close)
        await world.close()
        remove_release(ROOT, tmp)
        shutil.rmtree(tmp, ignore_errors=True)


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    try:
        return asyncio.run(main_async(args))
    except (KeyboardInterrupt, asyncio.CancelledError):
        print("upgrade-check: interrupted; every process it started is stopped", file=sys.stderr)
        return 130


if __name__ == "__main__":
    with contextlib.suppress(BrokenPipeError):
        sys.exit(main(sys.argv[1:]))
