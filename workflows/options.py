"""Timeouts and retry policies, named once and used by every activity call of the incident workflow."""

from __future__ import annotations

from datetime import timedelta

from temporalio.common import RetryPolicy

# Each attempt of an HTTP call: a little above the clients' own timeouts.
CALL_TIMEOUT = timedelta(seconds=30)

PAGERDUTY_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(seconds=30),
)
SLACK_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(seconds=60),
)
# Slack calls made on the shared budget's turn: a 429 comes back to the workflow at once, so the budget
# can make the whole channel wait instead of this one call.
SLACK_PACED_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(seconds=60),
    non_retryable_error_types=["SlackRateLimited"],
)
# The first try of a user's action is alone, so the message can say "retrying, and why" before the
# durable retries (with PAGERDUTY_RETRY, up to the action deadline) take over.
SINGLE_TRY = RetryPolicy(maximum_attempts=1)

READ_DEADLINE = timedelta(minutes=10)
SLACK_DEADLINE = timedelta(hours=1)
TELL_DEADLINE = timedelta(minutes=2)
RECALL_DEADLINE = timedelta(minutes=1)  # then the run goes on from PagerDuty alone
