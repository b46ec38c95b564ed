"""Request signatures, checked over the raw body before anything else looks at it. Pure functions."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable

SLACK_MAX_AGE_SECONDS = 300


def pagerduty_signature(body: bytes, secret: str) -> str:
    return "v1=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def verify_pagerduty(body: bytes, header: str | None, secrets: Iterable[str]) -> bool:
    """True when any `v1=` signature in the header matches the body under any configured secret."""
    if not header:
        return False
    offered = [part.strip() for part in header.split(",") if part.strip().startswith("v1=")]
    expected = [pagerduty_signature(body, secret) for secret in secrets if secret]
    # Compare every pair so the time taken does not depend on where a match is.
    matched = False
    for candidate in offered:
        for wanted in expected:
            matched |= hmac.compare_digest(candidate.encode(), wanted.encode())
    return matched


def slack_signature(body: bytes, timestamp: str, secret: str) -> str:
    base = b"v0:" + timestamp.encode() + b":" + body
    return "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()


def verify_slack(body: bytes, timestamp: str | None, signature: str | None, secret: str, now: float) -> str | None:
    """None when the request is Slack's and fresh; otherwise the reason to reject it."""
    if not timestamp or not signature:
        return "missing Slack signature headers"
    # Unix seconds; a longer number would not even fit a float when compared with the clock.
    if not (timestamp.isascii() and timestamp.isdigit() and len(timestamp) <= 12):
        return "malformed X-Slack-Request-Timestamp"
    sent = int(timestamp)
    if abs(now - sent) > SLACK_MAX_AGE_SECONDS:
        return "stale Slack request timestamp (more than 5 minutes off)"
    if not hmac.compare_digest(slack_signature(body, timestamp, secret).encode(), signature.encode()):
        return "bad Slack signature"
    return None
