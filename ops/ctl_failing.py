"""`python3 dev.py ctl failing`: what the doctor reports of a deploy, for scripts.

One line per problem on stdout, tab-separated: kind (incident, budget, sweep, webhook-warning), workflow id,
incident id, problem (task-failing, not-running, not-answering, not-granting, missing, paused), attempts,
since, detail, recovery command; an empty field is "-". `--json` prints one JSON object instead. A summary
goes to stderr. Exit code 0: nothing failing; 1: something is; 2: could not check.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from dataclasses import asdict, dataclass

from temporalio.service import RPCError

from ops.bridge_health import Health, Survey, survey
from ops.workflow_tasks import SHOW, TaskFailure, recovery_command
from settings import Settings
from worker import connect

KINDS = {"IncidentWorkflow": "incident", "SlackBudgetWorkflow": "budget", "SweepWorkflow": "sweep",
         "WebhookWarningWorkflow": "webhook-warning"}


@dataclass(frozen=True)
class Finding:
    kind: str
    workflow_id: str
    incident_id: str
    problem: str
    attempts: int
    since: str
    detail: str
    command: str


def _from_failure(failure: TaskFailure, namespace: str) -> Finding:
    return Finding(KINDS.get(failure.workflow_type, failure.workflow_type), failure.workflow_id, failure.incident_id,
                   "task-failing", failure.attempts, failure.since.isoformat() if failure.since else "",
                   f"{failure.cause}: {failure.message}" if failure.cause else failure.message,
                   recovery_command(failure, namespace))


def _command(kind: str, health: Health) -> str:
    if health.problem == "paused":
        return f'temporal schedule toggle --schedule-id {health.workflow_id} --unpause --reason "resumed"'
    if kind == "budget" and health.problem == "not-granting":
        return f'temporal workflow terminate --workflow-id {health.workflow_id} --reason "not granting"'
    return ""


def findings(report: Survey) -> list[Finding]:
    found = [_from_failure(f, report.namespace) for f in report.incidents.failures]
    for kind, health in (("budget", report.budget), ("sweep", report.sweep)):
        if health.failures:
            found += [_from_failure(f, report.namespace) for f in health.failures]
        elif health.problem:
            found.append(Finding(kind, health.workflow_id, "", health.problem, 0, "", health.detail,
                                 _command(kind, health)))
    return found


def tsv(found: list[Finding]) -> str:
    def cell(value: object) -> str:
        text = " ".join(str(value).split())
        return text or "-"

    return "\n".join("\t".join(cell(v) for v in asdict(f).values()) for f in found)


def as_json(report: Survey, found: list[Finding]) -> str:
    scan = report.incidents
    return json.dumps({
        "namespace": report.namespace, "task_queue": scan.task_queue, "running_incidents": scan.running,
        "checked_incidents": scan.checked, "failing_incidents": scan.failing_total,
        "budget": {"workflow_id": report.budget.workflow_id, "problem": report.budget.problem,
                   "detail": report.budget.detail},
        "sweep": {"schedule_id": report.sweep.workflow_id, "problem": report.sweep.problem,
                  "detail": report.sweep.detail},
        "findings": [asdict(f) for f in found],
    }, indent=2)


def summary(report: Survey) -> str:
    scan = report.incidents
    partial = "" if scan.complete else f", {scan.checked} described, the rest counted by the server's flag"
    listed = (f" (the first {len(scan.failures)} listed: --limit to list more)"
              if scan.failing_total > len(scan.failures) else "")
    return (f"{scan.failing_total} of {scan.running} running incident workflow(s) on {scan.task_queue} failing "
            f"their workflow task{partial}{listed}; budget: {report.budget.problem or 'ok'}; "
            f"sweep: {report.sweep.problem or 'ok'}")


async def cmd_failing(settings: Settings, args: argparse.Namespace) -> int:
    try:
        client = await asyncio.wait_for(connect(settings), 5)
        report = await survey(client, settings.temporal_namespace, settings.temporal_task_queue, show=args.limit)
    except (RPCError, RuntimeError, OSError, TimeoutError) as exc:
        print(f"ctl failing: cannot check the workflows: {exc or type(exc).__name__}\n"
              "Run `python3 dev.py doctor` to check the Temporal address.", file=sys.stderr)
        return 2
    found = findings(report)
    if args.json:
        print(as_json(report, found))
    elif found:
        print(tsv(found))
    print(summary(report), file=sys.stderr)
    return 1 if found or report.incidents.failing_total else 0


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    failing = commands.add_parser(
        "failing", help="list workflows whose task keeps failing, and a Slack budget or sweep that is wedged",
        description="One tab-separated line per problem: kind, workflow id, incident id, problem, attempts, since, "
                    "detail, recovery command. Exit code 0: none; 1: some; 2: could not check.")
    failing.add_argument("--json", action="store_true", help="print one JSON object instead")
    failing.add_argument("--limit", type=int, default=SHOW, metavar="N",
                         help=f"list at most N failing incident workflows (default {SHOW})")
