"""Prometheus metrics of the bridge. The API serves them at /metrics; a separate worker process serves
its own on WORKER_METRICS_PORT (see README, Operations)."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

WEBHOOKS = Counter("bridge_pagerduty_webhooks_total", "PagerDuty webhooks received, by outcome and reason",
                   ["outcome", "reason"])
INTERACTIONS = Counter("bridge_slack_interactions_total", "Slack interactions received, by outcome and reason",
                       ["outcome", "reason"])
ACTIONS = Counter("bridge_actions_total", "Slack actions on incidents, by kind and outcome", ["kind", "outcome"])
PD_CALLS = Histogram("bridge_pagerduty_call_seconds", "PagerDuty API call latency", ["operation", "outcome"])
SLACK_CALLS = Histogram("bridge_slack_call_seconds", "Slack API call latency", ["method", "outcome"])
SLACK_ERRORS = Counter("bridge_slack_errors_total", "Slack errors an operator must fix (channel, auth)",
                       ["method", "error"])
IDENTITY_MISSES = Counter("bridge_identity_misses_total", "Slack/PagerDuty users that could not be mapped",
                          ["direction"])
MENTION_LOOKUP_FAILURES = Counter("bridge_mention_lookup_failures_total",
                                  "Mentions shown as a plain name because looking the person up failed",
                                  ["source"])
OLDEST_PENDING = Gauge("bridge_oldest_pending_command_seconds",
                       "Age of the oldest unsettled Slack action, from the last scan of open incidents")
WEBHOOK_SUBSCRIPTION = Gauge("bridge_pagerduty_webhook_subscription",
                             "1 for the state of the bridge's PagerDuty webhook subscription at the last sweep "
                             "(active, disabled, missing)", ["state"])
