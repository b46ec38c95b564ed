"""The reducer's part for the incident's conference link (part of `workflows/state.py`'s machine).

Once the incident has its own channel, PagerDuty's `conference_bridge.conference_url` for the incident is set
to the channel's link, as the person who clicked Create channel (no one when the policy made it), so that
responders who start from PagerDuty find where the incident is worked. A failure is audited and told in the
thread once; it never holds the channel back. Only runs with the "conference-link" patch ask for it (the
workflow marks their `ChannelCreated`), so histories recorded before it replay as they were.
"""

from __future__ import annotations

from datetime import datetime

from workflows import timeline
from workflows.changes import audit, reply
from workflows.channel_models import ChannelCreated, ConferenceLinkSet, SetConferenceLink
from workflows.models import CommandPhase, Effect, IncidentState


def want(state: IncidentState, event: ChannelCreated) -> None:
    """The channel exists: its link is wanted in PagerDuty when this run sets conference links."""
    if event.set_conference and event.channel is not None:
        state.dedicated.conference_link = "wanted"


def after(state: IncidentState, effects: list[Effect]) -> None:
    ded = state.dedicated
    if ded.conference_link == "needs_person":
        acted = next((c.actor for c in reversed(state.commands)
                      if c.actor is not None and c.phase is CommandPhase.APPLIED), None)
        if acted is not None:
            ded.created_by_email, ded.conference_link = acted.email, "wanted"
    if ded.conference_link == "wanted" and ded.channel is not None:
        ded.conference_link = "setting"
        effects.append(SetConferenceLink(incident_id=state.incident_id, channel=ded.channel,
                                         actor_email=ded.created_by_email))


def on_set(state: IncidentState, event: ConferenceLinkSet, now: datetime) -> None:
    ded = state.dedicated
    if ded.conference_link != "setting":
        return
    if event.needs_person:
        ded.conference_link = "needs_person"
        audit(state, now, "channel", "conference link waits for someone to act from Slack (PagerDuty needs a From)")
        return
    if event.error is None:
        ded.conference_link = "done"
        audit(state, now, "channel", f"conference link set to {event.url}"[:500])
        return
    ded.conference_link = "failed"
    audit(state, now, "channel", f"conference link not set: {event.error}"[:500])
    reply(state, timeline.conference_link_failed(event.error))


def resumed(state: IncidentState) -> None:
    """A new run asks again for a link the old run had in flight (setting it twice changes nothing)."""
    if state.dedicated.conference_link == "setting":
        state.dedicated.conference_link = "wanted"


def busy(state: IncidentState) -> bool:
    return state.dedicated.conference_link in {"wanted", "setting"}
