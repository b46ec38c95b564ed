"""Signed requests into a running sandbox's API, as PagerDuty and Slack send them."""

from __future__ import annotations

import json
import time
from typing import Any
from urllib.parse import urlencode

import httpx

from api.signatures import pagerduty_signature, slack_signature
from ops.sandbox import Sandbox


async def post_webhook(sb: Sandbox, body: bytes, signature: str | None = None) -> httpx.Response:
    secret = sb.settings.webhook_secrets()[0]
    headers = {"Content-Type": "application/json",
               "X-PagerDuty-Signature": signature if signature is not None else pagerduty_signature(body, secret)}
    async with httpx.AsyncClient() as client:
        return await client.post(f"{sb.api_url}/pagerduty/webhooks", content=body, headers=headers)


async def post_slack(sb: Sandbox, body: bytes, timestamp: int | None = None, secret: str | None = None
                     ) -> httpx.Response:
    ts = str(timestamp if timestamp is not None else int(time.time()))
    key = secret or sb.settings.secret("slack_signing_secret")
    headers = {"Content-Type": "application/x-www-form-urlencoded", "X-Slack-Request-Timestamp": ts,
               "X-Slack-Signature": slack_signature(body, ts, key)}
    async with httpx.AsyncClient() as client:
        return await client.post(f"{sb.api_url}/slack/interactions", content=body, headers=headers)


def slack_form(payload: Any) -> bytes:
    return urlencode({"payload": json.dumps(payload)}).encode()
