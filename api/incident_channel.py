"""Which incident a dedicated incident channel belongs to, for `/pd oncall` and `/pd open` typed there.

The channel's name comes from `[channels] name_template`, which always keeps the incident's number (or id):
each number-like word of the name is looked up, and the incident counts only when the name the bridge
would give its channel is this channel's name (with or without a -N suffix)."""

from __future__ import annotations

import re
from typing import Any

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from activities.channels import channel_name
from activities.errors import PagerDutyError
from activities.pagerduty_api import PagerDutyApi
from workflows.channel_models import ChannelPolicy, CreateChannel

MAX_LOOKUPS = 3


async def incident_channel_services(slack: AsyncWebClient, pd: PagerDutyApi, policy: ChannelPolicy,
                                    channel: str) -> list[str]:
    """The service of the incident whose own channel this is; empty for any other channel."""
    if policy.dedicated == "never":
        return []
    try:
        info = await slack.conversations_info(channel=channel)
    except (SlackApiError, aiohttp.ClientError, TimeoutError):
        return []
    name = str((info.get("channel") or {}).get("name") or "")
    words = [w for w in dict.fromkeys(re.split(r"[-_]", name)) if w.isdigit() or re.fullmatch(r"[pq][a-z0-9]{5,13}", w)]
    for word in words[:MAX_LOOKUPS]:
        try:
            incident = await pd.get_incident(word if word.isdigit() else word.upper())
        except PagerDutyError:
            continue
        if _named_for(name, incident, policy):
            service = incident.get("service")
            return [str(service["id"])] if isinstance(service, dict) and service.get("id") else []
    return []


def _named_for(name: str, incident: dict[str, Any], policy: ChannelPolicy) -> bool:
    service = incident.get("service")
    expected = channel_name(CreateChannel(
        incident_id=str(incident.get("id") or ""), number=incident.get("incident_number"),
        title=str(incident.get("title") or ""), name_template=policy.name_template,
        service=str(service.get("summary") or "") if isinstance(service, dict) else ""))
    return name == expected or re.fullmatch(rf"{re.escape(expected)}-\d+", name) is not None
