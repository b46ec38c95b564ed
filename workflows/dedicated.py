"""The reducer's part for the incident's dedicated channel (part of `workflows/state.py`'s machine).

A click on Create channel is a command: it goes through the same identity and team check as any other,
then asks for the channel. A click once the channel exists, by anyone, answers with a link (and, for a
public channel, an invitation). By policy (`high_urgency`, `always`) the channel is asked for as soon as
the incident is known and open. Once it exists, assignees and responders are invited as they appear; at
resolve a summary is posted there, and the channel is archived `archive_after_resolve_hours` later.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from workflows import conference, timeline
from workflows.changes import audit, reply, settle
from workflows.channel_models import (
    ArchiveChannel,
    Asker,
    ChannelArchived,
    ChannelCreated,
    ChannelInvited,
    ConferenceLinkSet,
    CreateChannel,
    InviteToChannel,
    PostSummary,
    SummaryPosted,
)
from workflows.incident_state import SETTLED_PHASES
from workflows.models import (
    ActionKind,
    Command,
    CommandPhase,
    Effect,
    Event,
    IncidentState,
    PdEvent,
    SlackAction,
    Status,
    TellUser,
)
from workflows.slack_text import Line, plain

MAX_PEOPLE = 100
MAX_ASKERS = 50
ChannelEvent = ChannelCreated | ChannelInvited | SummaryPosted | ChannelArchived | ConferenceLinkSet


def link(state: IncidentState) -> str:
    return f"<#{state.dedicated.channel}>"


def on_click(state: IncidentState, action: SlackAction, effects: list[Effect], repeat_told: bool = True) -> bool:
    """A Create channel click answered at once (True), or False when it must become a command. With
    `repeat_told`, a person who clicks again while their first click is still under way is answered at once."""
    ded, who = state.dedicated, f"<@{action.slack_user}>"

    def tell(text: str) -> None:
        if action.channel:
            effects.append(TellUser(channel=action.channel, slack_user=action.slack_user, text=text,
                                    action=ActionKind.CREATE_CHANNEL, outcome="not_needed",
                                    response_url=action.response_url))

    if state.channels.dedicated == "never":
        tell(f"{who}, incident channels are turned off for this bridge ([channels] dedicated = \"never\").")
        return True
    if ded.phase == "ready" and ded.archived:
        tell(f"{who}, this incident's channel {link(state)} was archived; the incident is followed here again.")
        return True
    if ded.phase == "ready":
        if state.channels.private and action.slack_user not in ded.invited:
            tell(f"{who}, this incident is worked in {link(state)}, a private channel: ask someone in it to "
                 "add you.")
            return True
        tell(f"{who}, this incident is worked in {link(state)}.")
        if action.slack_user not in ded.invited:
            _ask(state, action.slack_user, action.channel)
        return True
    if ded.phase == "creating":
        under_way = repeat_told and any(c.action is ActionKind.CREATE_CHANNEL and c.slack_user == action.slack_user
                                        and c.phase not in SETTLED_PHASES for c in state.commands)
        if under_way or any(a.slack_user == action.slack_user for a in ded.askers):
            tell(f"{who}, the incident's channel is being created; its link follows here.")
        if not under_way:  # their first click tells them the link
            _ask(state, action.slack_user, action.channel)  # told the link (or why there is none) when it is done
        return True
    return False


def _ask(state: IncidentState, slack_user: str, channel: str | None) -> None:
    askers = state.dedicated.askers
    if all(a.slack_user != slack_user for a in askers) and len(askers) < MAX_ASKERS:
        askers.append(Asker(slack_user=slack_user, channel=channel))


def start(state: IncidentState, command: Command, now: datetime, effects: list[Effect]) -> None:
    """An authorized click: create the channel (or, should it exist by now, answer with its link)."""
    ded = state.dedicated
    _ask(state, command.slack_user, command.channel)
    if ded.phase == "creating":
        command.phase = CommandPhase.SENDING  # settled with the channel's creation
        return
    if ded.phase == "ready":
        settle(command, CommandPhase.APPLIED, now)
        command.confirmed = command.echo_seen = True
        if command.channel:
            effects.append(TellUser(channel=command.channel, slack_user=command.slack_user,
                                    text=f"<@{command.slack_user}>, this incident is worked in {link(state)}.",
                                    action=ActionKind.CREATE_CHANNEL, response_url=command.response_url))
        return
    command.phase = CommandPhase.SENDING
    ded.created_by = command.slack_user
    ded.created_by_email = command.actor.email if command.actor else None
    _create(state, effects)


def _create(state: IncidentState, effects: list[Effect]) -> None:
    inc, policy = state.incident, state.channels
    state.dedicated.phase, state.dedicated.error = "creating", None
    effects.append(CreateChannel(incident_id=state.incident_id, number=inc.number if inc else None,
                                 title=inc.title if inc else "", service=inc.service.summary if inc and inc.service
                                 else "", name_template=policy.name_template, private=policy.private))


def _clicks(state: IncidentState) -> list[Command]:
    return [c for c in state.commands if c.action is ActionKind.CREATE_CHANNEL and c.phase is CommandPhase.SENDING]


def on_event(state: IncidentState, event: ChannelEvent, now: datetime, effects: list[Effect]) -> None:
    ded = state.dedicated
    match event:
        case ChannelCreated() if ded.phase == "creating":
            _created(state, event, now, effects)
        case ChannelInvited():
            ded.inviting = False
            ded.invited_pd = _bounded(ded.invited_pd + [p for p in event.pd_user_ids if p not in ded.invited_pd])
            ded.invited = _bounded(ded.invited + [u for u in event.slack_users if u not in ded.invited])
            if event.error is not None:
                audit(state, now, "channel", f"invitations to {ded.channel} failed: {event.error}"[:500])
                if event.error != ded.invite_error:  # the same refusal is told once, not at every invitation
                    reply(state, timeline.channel_invite_failed(event.error))
                ded.invite_error = event.error
        case SummaryPosted():
            ded.summarizing, ded.summary_posted = False, True
            if event.error is not None:
                audit(state, now, "channel", f"summary not posted in {ded.channel}: {event.error}"[:500])
            hours = state.channels.archive_after_resolve_hours
            if hours > 0 and state.status is Status.RESOLVED:
                ded.archive_at = now + timedelta(hours=hours)
        case ConferenceLinkSet():
            conference.on_set(state, event, now)
        case ChannelArchived():
            ded.archiving, ded.archive_at = False, None
            if event.error is None:
                ded.archived = True
                audit(state, now, "channel", f"archived {ded.channel}")
            else:
                audit(state, now, "channel", f"{ded.channel} not archived: {event.error}"[:500])


def _created(state: IncidentState, event: ChannelCreated, now: datetime, effects: list[Effect]) -> None:
    ded = state.dedicated
    clicks = _clicks(state)
    if event.channel is None:
        ded.phase, ded.error = "failed", event.error or "Slack did not say why"
        audit(state, now, "channel", f"dedicated channel not created: {ded.error}"[:500])
        text = plain(timeline.channel_failed(ded.error))  # the reason shown literally, as in the thread
        for asker in ded.askers:
            if asker.channel:
                effects.append(TellUser(channel=asker.channel, slack_user=asker.slack_user,
                                        text=f"<@{asker.slack_user}> {text}", action=ActionKind.CREATE_CHANNEL,
                                        outcome="failed"))
        for command in clicks:
            settle(command, CommandPhase.FAILED, now, ded.error)
            command.confirmed = command.echo_seen = True
        if not clicks:
            reply(state, timeline.channel_failed(ded.error))
        ded.askers = []
        return
    ded.phase, ded.channel, ded.name, ded.error = "ready", event.channel, event.name, None
    conference.want(state, event)
    audit(state, now, "channel", f"dedicated channel {event.name} ({event.channel}) created")
    for command in clicks:
        settle(command, CommandPhase.APPLIED, now)
        command.confirmed = command.echo_seen = True
    reply(state, timeline.channel_opened(ded.created_by, event.channel), to_service=True)
    if event.with_timeline and state.shown_replies:
        # What happened before (the ack, the notes) opens the new channel's thread, in the order it was shown.
        reply(state, timeline.timeline_so_far(state.channel))
        for earlier in state.shown_replies:
            reply(state, Line(template=earlier.text, people=earlier.people, texts=earlier.texts))
    state.shown_replies = []
    for asker in ded.askers:
        invited = not state.channels.private or asker.slack_user == ded.created_by
        text = (f"<@{asker.slack_user}>, the incident's channel is {link(state)}; you are invited." if invited
                else f"<@{asker.slack_user}>, the incident's channel is {link(state)}, a private channel: ask "
                     "someone in it to add you.")
        if asker.channel:
            effects.append(TellUser(channel=asker.channel, slack_user=asker.slack_user, text=text,
                                    action=ActionKind.CREATE_CHANNEL))


def after(state: IncidentState, event: Event, now: datetime, effects: list[Effect]) -> None:
    """What the channel needs once an event is applied: creation by policy, invitations, the summary."""
    ded = state.dedicated
    if isinstance(event, PdEvent) and event.event_type == "incident.responder.added" and event.responder:
        _want(state, [event.responder.id])
    if ded.active and state.incident is not None:
        # The current assignees (the newest PagerDuty says), never those the incident had before the channel:
        # someone moved off the incident is not added to its channel.
        _want(state, [a.id for a in state.incident.assignees])
    if ded.phase == "none" and _by_policy(state):
        _create(state, effects)
        return
    if not ded.active or ded.channel is None:
        return
    conference.after(state, effects)
    invite_pd = [p for p in ded.people if p not in ded.invited_pd]
    invite_slack = [a.slack_user for a in ded.askers if a.slack_user not in ded.invited
                    and (not state.channels.private or a.slack_user == ded.created_by)]
    if (invite_pd or invite_slack) and not ded.inviting:
        ded.inviting = True
        effects.append(InviteToChannel(channel=ded.channel, slack_users=invite_slack, pd_user_ids=invite_pd,
                                       private=state.channels.private))
    if state.status is Status.RESOLVED and not ded.summary_posted and not ded.summarizing:
        ded.summarizing = True
        effects.append(PostSummary(incident_id=state.incident_id, channel=ded.channel))
    elif state.status is not Status.RESOLVED and ded.summary_posted:
        ded.summary_posted, ded.archive_at = False, None  # reopened: a new summary at the next resolve


def _by_policy(state: IncidentState) -> bool:
    mode, inc = state.channels.dedicated, state.incident
    if mode not in {"always", "high_urgency"} or not state.known or inc is None or inc.status is Status.RESOLVED:
        return False
    return mode == "always" or inc.urgency == "high"


def _want(state: IncidentState, pd_ids: list[str]) -> None:
    people = state.dedicated.people
    for pd_id in pd_ids:
        if pd_id not in people and len(people) < MAX_PEOPLE:
            people.append(pd_id)


def _bounded(items: list[str]) -> list[str]:
    return items[-MAX_PEOPLE * 2:]


def resumed(state: IncidentState) -> None:
    """A new run: invitations, the summary and the archive the old run had in flight are asked for again."""
    ded = state.dedicated
    ded.inviting = ded.summarizing = ded.archiving = False
    conference.resumed(state)


def deadline(state: IncidentState) -> datetime | None:
    ded = state.dedicated
    return ded.archive_at if ded.active and not ded.archiving else None


def on_tick(state: IncidentState, now: datetime, effects: list[Effect]) -> None:
    ded = state.dedicated
    due = deadline(state)
    if due is not None and due <= now and ded.channel is not None and state.status is Status.RESOLVED:
        ded.archiving = True
        effects.append(ArchiveChannel(channel=ded.channel))


def holds_open(state: IncidentState) -> bool:
    """Work for the channel still to come: the workflow does not finish before it."""
    ded = state.dedicated
    return (ded.phase == "creating" or ded.inviting or ded.summarizing or ded.archiving or conference.busy(state)
            or deadline(state) is not None)
