"""Starting the on-call user groups' workflow: every worker at start signals it the config's `[oncall_groups]`
(signal-with-start, so several workers starting at once make one workflow, and the latest config wins)."""

from __future__ import annotations

import logging

from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode

from settings import BridgeConfig
from workflows.oncall import OncallGroupsWorkflow
from workflows.oncall_models import GroupRule, OncallConfig, OncallInput

log = logging.getLogger("bridge.worker")


def oncall_workflow_id(task_queue: str) -> str:
    return f"{task_queue}-oncall-groups"


def oncall_config(config: BridgeConfig) -> OncallConfig:
    rules = [GroupRule(handle=handle, schedule=group.schedule, escalation_policy=group.escalation_policy,
                       level=group.level) for handle, group in sorted(config.oncall_groups.items())]
    return OncallConfig(rules=rules, recheck_seconds=config.timing.oncall_recheck_seconds)


async def ensure_oncall_groups(client: Client, task_queue: str, config: BridgeConfig) -> str:
    """Returns what was done: "started" (or re-configured), "stopped" (no groups any more) or "none"."""
    wanted = oncall_config(config)
    workflow_id = oncall_workflow_id(task_queue)
    if not wanted.rules:
        try:  # a workflow left from a config that had groups ends with an empty one
            await client.get_workflow_handle(workflow_id).signal(OncallGroupsWorkflow.configure, wanted)
        except RPCError as exc:
            if exc.status is not RPCStatusCode.NOT_FOUND:
                raise
            return "none"
        return "stopped"
    await client.start_workflow(
        OncallGroupsWorkflow.run, OncallInput(config=wanted), id=workflow_id, task_queue=task_queue,
        start_signal="configure", start_signal_args=[wanted],
        static_summary="Keep the Slack user groups of [oncall_groups] equal to who is on call in PagerDuty")
    log.info("on-call user groups %s follow PagerDuty", ", ".join(f"@{r.handle}" for r in wanted.rules))
    return "started"
