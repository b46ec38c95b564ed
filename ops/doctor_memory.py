"""The doctor's check of how long a finished incident is remembered: the linger, then the namespace's retention.

An event after an incident's workflow finished is handled with what the finished run knew, read from the
closed run (activities/recall.py); Temporal keeps it for the namespace's retention. PagerDuty retries a
delivery for up to 48 h, so the linger and the retention together must cover at least that.
"""

from __future__ import annotations

from datetime import timedelta

from temporalio.api.workflowservice.v1 import DescribeNamespaceRequest
from temporalio.client import Client
from temporalio.service import RPCError

from ops.checks import Check, failed, passed

NAME = "Memory of finished incidents"
PAGERDUTY_RETRIES = timedelta(hours=48)


def _hours(span: timedelta) -> str:
    return f"{span.total_seconds() / 3600:g} h"


async def memory_check(client: Client, namespace: str, linger_seconds: int) -> Check:
    try:
        described = await client.workflow_service.describe_namespace(DescribeNamespaceRequest(namespace=namespace))
    except RPCError as exc:
        return failed(NAME, f"cannot read namespace {namespace}'s retention: {exc.message}",
                      "Run the doctor with a Temporal identity that may describe the namespace.")
    retention = described.config.workflow_execution_retention_ttl.ToTimedelta()
    linger = timedelta(seconds=linger_seconds)
    memory = linger + retention
    detail = (f"{_hours(memory)} after resolve (linger {_hours(linger)} + namespace {namespace}'s retention "
              f"{_hours(retention)})")
    if memory < PAGERDUTY_RETRIES:
        return failed(NAME, f"{detail}: shorter than PagerDuty's 48 h of retries, so a late delivery or a note "
                            "added later may start over without the incident's message",
                      f"temporal operator namespace update --namespace {namespace} --retention 168h "
                      "(or raise timing.linger_after_resolve_seconds). README: \"Incidents outlive their "
                      "workflows\".")
    return passed(NAME, detail)
