"""`python3 dev.py soak --minutes N`: run simulated incident lives (tests/sim) until the time is up.

Each batch runs the state machine with every invariant on, under its own seed; a failure prints the seed,
the shrunk steps hypothesis found, and the invariant's message. Replay one with `--seed S --batches 1`.
Prints schedules per second at the end. Nothing here uses the wall clock inside a schedule: time only
bounds how many batches run.
"""

from __future__ import annotations

import argparse
import secrets
import sys
import time

from hypothesis import HealthCheck, settings
from hypothesis.stateful import run_state_machine_as_test

from tests.sim.machine import ALL_CHECKS, IncidentLife, machine_for


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="dev.py soak")
    parser.add_argument("--minutes", type=float, default=5.0)
    parser.add_argument("--seed", type=int, default=None, help="first seed (default: a fresh one, printed)")
    parser.add_argument("--batch", type=int, default=200, help="schedules per seed")
    parser.add_argument("--steps", type=int, default=40, help="steps per schedule")
    parser.add_argument("--batches", type=int, default=0, help="stop after this many batches (0: no limit)")
    parser.add_argument("--stop", action="store_true", help="stop at the first failure")
    args = parser.parse_args(argv)
    first = args.seed if args.seed is not None else secrets.randbelow(2**31)
    print(f"soak: first seed {first}, {args.batch} schedules per seed, {args.steps} steps each", flush=True)
    profile = settings(max_examples=args.batch, stateful_step_count=args.steps, deadline=None, database=None,
                       suppress_health_check=list(HealthCheck), report_multiple_bugs=False)
    started, batches = time.monotonic(), 0
    failures: dict[str, int] = {}
    counted = IncidentLife.lives
    while time.monotonic() - started < args.minutes * 60 and (not args.batches or batches < args.batches):
        seed = first + batches
        batches += 1
        try:
            run_state_machine_as_test(machine_for(*sorted(ALL_CHECKS), seed=seed), settings=profile)
        except AssertionError as failed:
            headline = str(failed).splitlines()[0][:160] if str(failed) else repr(failed)
            kind = headline.split(":")[0]
            print(f"soak: FAILED seed {seed}: {headline}", flush=True)
            for note in getattr(failed, "__notes__", []):  # the shrunk schedule, step by step
                print(f"    {note}", flush=True)
            failures.setdefault(kind, seed)
            if args.stop:
                break
    elapsed = time.monotonic() - started
    lives = IncidentLife.lives - counted
    print(f"soak: {lives} schedules in {elapsed:.0f} s ({lives / max(elapsed, 1e-9):.1f}/s), {batches} seeds",
          flush=True)
    for kind, seed in sorted(failures.items()):
        print(f"soak: {kind} first failed with seed {seed} (replay: python3 dev.py soak --seed {seed} "
              f"--batches 1 --batch {args.batch} --steps {args.steps})", flush=True)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
