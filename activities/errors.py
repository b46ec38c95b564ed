"""Errors from PagerDuty and Slack, classified once into what Temporal should retry.

    BridgeError                      (ApplicationError: its `type` is the class name, for retry policies)
    ├── PagerDutyError
    │   ├── PagerDutyUnavailable     503, 408: PagerDuty answered, nothing was done   retried
    │   │   └── PagerDutyNoAnswer    timeouts, connection errors, other 5xx: it may    retried
    │   │                            have been done (a retry looks before it writes)
    │   ├── PagerDutyRateLimited     429, waits `ratelimit-reset` / `Retry-After`      retried
    │   ├── PagerDutyAuthError       401: the API token is wrong or revoked           not retried
    │   ├── PagerDutyNotFound        404                                              not retried
    │   ├── PagerDutyRefused         any other 4xx, with PagerDuty's own message       not retried
    │   │   ├── PagerDutyScopeMissing  403: the app's token lacks the call's scope      not retried
    │   │   └── RefusedNothingLanded   a refused retry whose earlier attempts never     not retried
    │   │                              landed (PagerDuty's log)
    │   ├── EscalationExhausted      escalate clicked at the policy's last level      not retried
    │   └── StatusUpdateUnsure       a status update that may have been published     not retried
    └── SlackError
        ├── SlackUnavailable         5xx, timeouts, Slack's transient error codes     retried
        ├── SlackRateLimited         429, waits exactly `Retry-After`                  retried
        ├── SlackAuthError           invalid_auth, token_revoked, missing_scope …     not retried
        ├── SlackChannelError        channel_not_found, not_in_channel, is_archived   not retried
        ├── SlackMessageGone         message_not_found, cant_update_message           not retried
        └── SlackRefused             any other error code                             not retried
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from temporalio.exceptions import ApplicationError


class BridgeError(ApplicationError):
    retryable = False

    def __init__(self, message: str, *, retry_after: float | None = None, code: int | str | None = None) -> None:
        super().__init__(
            message,
            type=type(self).__name__,
            non_retryable=not self.retryable,
            next_retry_delay=timedelta(seconds=retry_after) if retry_after else None,
        )
        self.code = code


class PagerDutyError(BridgeError):
    pass


class PagerDutyUnavailable(PagerDutyError):
    retryable = True


class PagerDutyNoAnswer(PagerDutyUnavailable):
    """No answer that says nothing was done: the request may have been applied."""


class PagerDutyRateLimited(PagerDutyError):
    retryable = True


class PagerDutyAuthError(PagerDutyError):
    pass


class PagerDutyNotFound(PagerDutyError):
    pass


class PagerDutyRefused(PagerDutyError):
    pass


class RefusedNothingLanded(PagerDutyRefused):
    """A refused retry of an acknowledge or resolve whose earlier attempts PagerDuty's log shows never landed:
    the refusal is the whole story (a later webhook of that change is someone's own, not the click's)."""


class StatusUpdateUnsure(PagerDutyError):
    """A status update whose publication PagerDuty did not confirm: it is not sent again (subscribers would be
    notified twice), and nothing lists status updates to look for it."""


class PagerDutyScopeMissing(PagerDutyRefused):
    """403 to a Scoped OAuth app whose token was not granted the scope the call needs."""

    @classmethod
    def for_scope(cls, what: str, scope: str) -> PagerDutyScopeMissing:
        return cls(f"{what}: the bridge's PagerDuty app lacks the scope {scope}. A PagerDuty admin adds {scope} "
                   "to the app (Integrations → App Registration → the app → Scopes); the bridge then asks for it "
                   "again by itself. `dev.py doctor` lists every scope the app lacks",
                   code=scope)


class EscalationExhausted(PagerDutyError):
    """The incident is at the last level of its escalation policy (decided by the bridge, not a 4xx)."""


class SlackError(BridgeError):
    pass


class SlackUnavailable(SlackError):
    retryable = True


class SlackRateLimited(SlackError):
    retryable = True


class SlackAuthError(SlackError):
    pass


class SlackChannelError(SlackError):
    pass


class SlackMessageGone(SlackError):
    pass


class SlackRefused(SlackError):
    pass


RETRYABLE_TYPES = [cls.__name__ for cls in (PagerDutyUnavailable, PagerDutyNoAnswer, PagerDutyRateLimited,
                                            SlackUnavailable, SlackRateLimited)]
# Failures that are PagerDuty's own answer that it did nothing: a retry after one of these cannot find an
# earlier attempt of its own (any other failure, a timeout of the activity too, may hide a landed one).
NOT_DONE_TYPES = [cls.__name__ for cls in (PagerDutyUnavailable, PagerDutyRateLimited)]

# PagerDuty error codes that mean "the incident is already in the state you asked for".
PD_ALREADY_CODES = {1001: "already resolved", 1002: "already acknowledged"}

PD_CODE_HINTS = {
    1006: "the incident cannot be escalated further",
    1007: "the person to assign to was not found in PagerDuty",
    1008: "PagerDuty does not know the acting person's email (From header)",
    1018: "the acting person is not allowed to do this in PagerDuty",
    1012: "the incident is not acknowledged in PagerDuty, and only an acknowledged incident can be snoozed",
    1013: "PagerDuty refused the snooze length",
    1019: "the incident was already merged into another incident",
    1020: "that priority does not exist in PagerDuty",
    2014: "the PagerDuty account lacks that feature (responder requests need coordinated_responding)",
    2016: "PagerDuty requires the acting person's email in the From header",
}


def _seconds(value: str | None) -> float | None:
    try:
        return max(float(value), 0.0) if value is not None else None
    except ValueError:
        return None


def pagerduty_error(status: int, headers: Any, body: Any, what: str) -> PagerDutyError:
    err = body.get("error", {}) if isinstance(body, dict) else {}
    err = err if isinstance(err, dict) else {}
    code, message = err.get("code"), str(err.get("message") or f"HTTP {status}")
    details = err.get("errors") or []
    if details:
        message += ": " + "; ".join(str(d) for d in details)
    hint = PD_CODE_HINTS.get(code) if isinstance(code, int) else None
    text = f"{what}: PagerDuty answered {status}: {message}" + (f" ({hint})" if hint else "")
    if status == 429:
        wait = _seconds(headers.get("ratelimit-reset")) or _seconds(headers.get("retry-after"))
        return PagerDutyRateLimited(f"{what}: PagerDuty rate limit reached", retry_after=wait, code=code)
    if status in {503, 408}:
        return PagerDutyUnavailable(f"{what}: PagerDuty API unavailable (HTTP {status})", code=code)
    if status >= 500:
        return PagerDutyNoAnswer(f"{what}: PagerDuty API unavailable (HTTP {status})", code=code)
    if status == 401:
        return PagerDutyAuthError(f"{what}: PagerDuty rejected the API token (401)", code=code)
    if status == 404:
        return PagerDutyNotFound(text, code=code)
    return PagerDutyRefused(text, code=code)


SLACK_TRANSIENT = {"internal_error", "fatal_error", "service_unavailable", "request_timeout", "ratelimited"}
SLACK_AUTH = {"invalid_auth", "not_authed", "account_inactive", "token_revoked", "token_expired", "missing_scope",
              "not_allowed_token_type"}
SLACK_CHANNEL = {"channel_not_found", "not_in_channel", "is_archived"}
SLACK_GONE = {"message_not_found", "cant_update_message", "edit_window_closed"}


def slack_error(status: int, error: str, retry_after: str | None, what: str) -> SlackError:
    if status == 429 or error == "ratelimited":
        return SlackRateLimited(f"{what}: Slack rate limit (Retry-After {retry_after or '?'} s)",
                                retry_after=_seconds(retry_after) or 1.0, code=error)
    if status >= 500 or error in SLACK_TRANSIENT:
        return SlackUnavailable(f"{what}: Slack unavailable ({error or status})", code=error)
    if error in SLACK_AUTH:
        return SlackAuthError(f"{what}: Slack rejected the bot token ({error})", code=error)
    if error in SLACK_CHANNEL:
        return SlackChannelError(f"{what}: Slack channel problem ({error})", code=error)
    if error in SLACK_GONE:
        return SlackMessageGone(f"{what}: the Slack message can no longer be updated ({error})", code=error)
    return SlackRefused(f"{what}: Slack refused ({error})", code=error)
