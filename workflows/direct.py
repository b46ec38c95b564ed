"""The reducer's part for direct messages to assignees (part of `workflows/state.py`'s machine).

Someone who becomes an assignee (at trigger, by a reassign or an escalation) is asked for once per incident:
the activity says whether they get a direct message (the admins' `[notifications] direct_messages` and their
own `/pd notify` choice) and opens it. The message shows the incident as the channel does, with its controls,
and whether the person is still assigned; it is kept current like the channel's message (workflows/rendering.py).
At most `MAX_DMS` people per incident get one, so an incident's Slack work stays bounded.
"""

from __future__ import annotations

from datetime import datetime

from workflows.changes import audit
from workflows.dm_models import DirectMessage, DirectMessageOpened, OpenDirectMessage
from workflows.models import Effect, IncidentState, MessagePosted, RenderFailed, Status

MAX_DMS = 5
# People asked about at most (most get no DM: they did not opt in, or have no Slack account), so that state
# stays bounded on an incident reassigned all day.
MAX_ASKED = 50


def find(state: IncidentState, pd_user: str | None) -> DirectMessage | None:
    return next((d for d in state.dms if d.pd_user == pd_user), None)


def channels(state: IncidentState) -> set[str]:
    return {d.channel for d in state.dms if d.channel}


def after(state: IncidentState, effects: list[Effect], enabled: bool) -> None:
    """Once an event is applied: who is assigned now, and a direct message asked for each new assignee.
    Runs started before direct messages (`enabled` False, workflow.patched) send none."""
    inc = state.incident
    if not enabled or not state.known or inc is None:
        return
    current = [a.id for a in inc.assignees]
    newly = {dm.pd_user for dm in state.dms if not dm.assigned and dm.pd_user in current}
    for dm in state.dms:
        dm.assigned = dm.pd_user in current
    if inc.status is Status.RESOLVED:
        return
    sent = sum(1 for dm in state.dms if dm.phase in {"opening", "open"})
    for pd_user in current:
        known = find(state, pd_user)
        if sent >= MAX_DMS:
            return
        if known is None and len(state.dms) < MAX_ASKED:
            state.dms.append(DirectMessage(pd_user=pd_user))
        elif known is not None and known.phase == "none" and pd_user in newly:
            # Assigned again: asked again (they may have turned direct messages on since).
            known.phase, known.reason = "opening", ""
        else:
            continue
        sent += 1
        effects.append(OpenDirectMessage(incident_id=state.incident_id, pd_user=pd_user))


def on_opened(state: IncidentState, event: DirectMessageOpened, now: datetime) -> None:
    dm = find(state, event.pd_user)
    if dm is None or dm.phase != "opening":
        return
    dm.slack_user, dm.channel, dm.reason = event.slack_user, event.channel, event.reason
    dm.phase = "open" if event.channel else "none"
    if event.channel is None:
        audit(state, now, "dm", f"no direct message to {event.pd_user}: {event.reason}"[:500])


def on_slack_result(state: IncidentState, event: MessagePosted | RenderFailed, now: datetime) -> None:
    dm = find(state, event.dm)
    if dm is None:
        return
    if isinstance(event, MessagePosted):
        if dm.channel == event.channel:
            dm.ts = event.ts
    elif event.message_gone:
        dm.ts = None  # deleted by the person: posted again, as the channel's would be
    else:
        # Not retried for ever: the person's message is a courtesy, the channel's is the incident's record.
        dm.phase, dm.reason = "failed", event.detail
        audit(state, now, "dm", f"direct message to {dm.pd_user} failed: {event.detail}"[:500])


def resumed(state: IncidentState, effects: list[Effect]) -> None:
    """A new run: direct messages the old run was opening are asked for again."""
    for dm in state.dms:
        if dm.phase == "opening":
            effects.append(OpenDirectMessage(incident_id=state.incident_id, pd_user=dm.pd_user))
