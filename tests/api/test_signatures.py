"""Signature checks against the vectors Slack and PagerDuty publish, plus tampering and rotation."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from api.signatures import pagerduty_signature, slack_signature, verify_pagerduty, verify_slack
from tests.conftest import SHARED

VECTORS_DIR = SHARED / "third_party" / "signature-vectors"


def _vectors() -> dict[str, Any]:
    path = VECTORS_DIR / "vectors.json"
    if not path.exists():
        pytest.fail(f"{path} is missing: the shared folder must sit beside the repository")
    return dict(json.loads(path.read_text()))


def _body(name: str) -> bytes:
    return Path(VECTORS_DIR / name).read_bytes()


@pytest.mark.parametrize("vector", _vectors()["pagerduty"], ids=lambda v: v["name"])
def test_pagerduty_published_vectors(vector: dict[str, Any]) -> None:
    body = _body(vector["body_file"])
    assert verify_pagerduty(body, vector["signature"], [vector["secret"]]) is vector["valid"]


@pytest.mark.parametrize("vector", _vectors()["slack"], ids=lambda v: v["name"])
def test_slack_published_vector(vector: dict[str, Any]) -> None:
    body = _body(vector["body_file"])
    now = float(vector["timestamp"])
    assert verify_slack(body, vector["timestamp"], vector["signature"], vector["signing_secret"], now) is None


def _valid_pd() -> tuple[bytes, str, str]:
    vector = next(v for v in _vectors()["pagerduty"] if v["valid"])
    return _body(vector["body_file"]), vector["signature"], vector["secret"]


def test_pagerduty_tampered_body_is_rejected() -> None:
    body, signature, secret = _valid_pd()
    assert not verify_pagerduty(body.replace(b"triggered", b"resolved", 1) + b" ", signature, [secret])


def test_pagerduty_rotation_accepts_any_configured_secret_and_any_offered_signature() -> None:
    body, signature, secret = _valid_pd()
    header = f"v1=deadbeef, {signature}"
    assert verify_pagerduty(body, header, ["old-secret-no-longer-valid", secret])
    assert verify_pagerduty(body, pagerduty_signature(body, "new-secret"), [secret, "new-secret"])
    assert not verify_pagerduty(body, header, ["old-secret-no-longer-valid"])


@pytest.mark.parametrize("header", [None, "", "v0=abc", "sha256=abc", "v1="])
def test_pagerduty_missing_or_foreign_headers_are_rejected(header: str | None) -> None:
    body, _, secret = _valid_pd()
    assert not verify_pagerduty(body, header, [secret])


def test_slack_stale_and_future_timestamps_are_rejected() -> None:
    body, secret = b"payload=%7B%7D", "s3cret"
    signature = slack_signature(body, "1000", secret)
    assert verify_slack(body, "1000", signature, secret, 1000 + 299) is None
    assert "stale" in (verify_slack(body, "1000", signature, secret, 1000 + 301) or "")
    assert "stale" in (verify_slack(body, "1000", signature, secret, 1000 - 301) or "")


def test_slack_tampered_body_and_non_ascii_body() -> None:
    body, secret = "payload=Grüße".encode(), "s3cret"
    signature = slack_signature(body, "1000", secret)
    assert verify_slack(body, "1000", signature, secret, 1000) is None
    assert verify_slack(body + b"x", "1000", signature, secret, 1000) == "bad Slack signature"
    assert verify_slack(body, "abc", signature, secret, 1000) == "malformed X-Slack-Request-Timestamp"


@pytest.mark.parametrize("timestamp", ["9" * 400, "1e9", " 1000", "-1000", "\u0661\u0660\u0660\u0660"])
def test_slack_timestamps_that_are_not_plain_unix_seconds_are_malformed(timestamp: str) -> None:
    body, secret = b"payload=%7B%7D", "s3cret"
    problem = verify_slack(body, timestamp, slack_signature(body, timestamp, secret), secret, 1000)
    assert problem == "malformed X-Slack-Request-Timestamp"
