"""The doctor's checks of a deploy: incident workflows whose task keeps failing, the Slack budget, the sweep."""

from __future__ import annotations

from temporalio.client import Client
from temporalio.service import RPCError

from ops.bridge_health import Survey, survey
from ops.checks import Check, failed, passed
from ops.workflow_tasks import TaskFailure, first_line, recovery_command

INCIDENTS, BUDGET, SWEEP = "Incident workflow tasks", "Slack budget workflow", "Sweep schedule"
README = 'README: "Recovering from a bad deploy".'
ROLL_BACK = ("Roll the worker back to the release before: a failing task appends nothing to history, so the old "
             "code takes each one on its next retry and nothing is lost. Or deploy a fix behind workflow.patched().")
TERMINATE_BUDGET = ("Terminating it is safe: `temporal workflow terminate --workflow-id {id} --reason \"{reason}\"`. "
                    "Incidents go on by themselves within ~25 s, and the first whose turn is late starts a new "
                    "budget (so does the worker when it starts).")


def since(failure: TaskFailure) -> str:
    return f"since {failure.since:%Y-%m-%d %H:%M:%S}Z" if failure.since else "since ?"


def failure_lines(failure: TaskFailure, namespace: str) -> list[str]:
    name = f"{failure.incident_id}  {failure.workflow_id}" if failure.incident_id else failure.workflow_id
    cause = f" ({failure.cause})" if failure.cause else ""
    label = "reset" if failure.reset_to is not None else "no reset point, terminate"
    return [f"{name}  attempt {failure.attempts}, failing {since(failure)}{cause}: {failure.message}",
            f"    {label}: {recovery_command(failure, namespace)}"]


def incident_check(report: Survey) -> Check:
    scan = report.incidents
    partial = "" if scan.complete else (f" (described {scan.checked}; the rest counted by the server's "
                                        "TemporalReportedProblems flag)")
    if scan.failing_total == 0:
        return passed(INCIDENTS, f"none of the {scan.running} running incident workflow(s) on task queue "
                                 f"{scan.task_queue} is failing its workflow task{partial}")
    lines = [line for f in scan.failures for line in failure_lines(f, report.namespace)]
    if scan.failing_total > len(scan.failures):
        lines.append(f"… and {scan.failing_total - len(scan.failures)} more: "
                     f"`python3 dev.py ctl failing --limit {scan.failing_total}` lists them")
    return failed(INCIDENTS, f"{scan.failing_total} of {scan.running} running incident workflow(s) on task queue "
                             f"{scan.task_queue} keep failing their workflow task{partial}",
                  f"{ROLL_BACK}\nReset what still fails with the command under it. {README}", tuple(lines))


def budget_check(report: Survey) -> Check:
    health = report.budget
    if not health.problem:
        return passed(BUDGET, f"{health.workflow_id}: {health.detail}")
    reason = "not granting" if health.problem == "not-granting" else "bad deploy"
    terminate = TERMINATE_BUDGET.format(id=health.workflow_id, reason=reason)
    lines = tuple(line for f in health.failures for line in failure_lines(f, report.namespace))
    fixes = {
        "task-failing": f"{ROLL_BACK}\n{terminate}\nOr reset it with the command above. {README}",
        "not-running": "Start or restart the worker (`python worker.py` starts it); an incident whose turn is late "
                       "starts it too.",
        "not-answering": "Start the worker (`python worker.py`) on this task queue; if it runs, look at the budget's "
                         "workflow task in the Web UI.",
        "not-granting": f"Its loop does not run. {terminate}\nOr reset it: `temporal workflow reset --workflow-id "
                        f"{health.workflow_id} --type LastWorkflowTask --reason \"not granting\"`. {README}",
    }
    return failed(BUDGET, f"{health.workflow_id}: {health.detail}", fixes[health.problem], lines)


def sweep_check(report: Survey) -> Check:
    health = report.sweep
    if not health.problem:
        return passed(SWEEP, health.detail)
    lines = tuple(line for f in health.failures for line in failure_lines(f, report.namespace))
    fixes = {
        "missing": "Start the worker: it creates the schedule at start (its log says why when it may not).",
        "paused": f"temporal schedule toggle --schedule-id {health.workflow_id} --unpause --reason \"resumed\"",
        "task-failing": f"{ROLL_BACK}\nA sweep run may simply be terminated (the next starts on schedule); the "
                        f"webhook warning workflow is reset with the command above. {README}",
    }
    return failed(SWEEP, health.detail, fixes[health.problem], lines)


async def deploy_checks(client: Client, namespace: str, task_queue: str) -> list[Check]:
    try:
        report = await survey(client, namespace, task_queue)
    except (RPCError, TimeoutError) as exc:
        why = first_line(str(exc)) or type(exc).__name__
        return [failed(INCIDENTS, f"cannot list the workflows of task queue {task_queue}: {why}",
                       "Run the doctor with a Temporal identity that may list, describe and query workflows.")]
    return [incident_check(report), budget_check(report), sweep_check(report)]
