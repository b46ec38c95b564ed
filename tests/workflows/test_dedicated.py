"""The incident's dedicated channel, as the reducer decides it (pure: no Temporal, no Slack)."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from temporalio.testing import WorkflowEnvironment

from tests.factories import BOB, at, pd_event, resolved_actor
from tests.factories import action as click
from tests.workflows.fakes import FakeBackend, eventually, start
from workflows.channel_models import (
    ArchiveChannel,
    ChannelArchived,
    ChannelCreated,
    ChannelInvited,
    ChannelPolicy,
    CreateChannel,
    InviteToChannel,
    PostSummary,
    SummaryPosted,
)
from workflows.incident import IncidentWorkflow
from workflows.models import (
    ActionKind,
    CommandPhase,
    Effect,
    IncidentState,
    MessagePosted,
    Ref,
    RepliesPosted,
    ResolveActor,
    Resumed,
    Status,
    TellUser,
    Tick,
    Timing,
    WriteToPagerDuty,
)
from workflows.rendering import replies_for
from workflows.state import next_deadline, reduce
from workflows.view import message_view


def started(**policy: Any) -> IncidentState:
    state = IncidentState(incident_id="PINC001", timing=Timing(linger_after_resolve_seconds=600),
                          channels=ChannelPolicy(**policy))
    state, _ = reduce(state, pd_event("incident.triggered", 0, agent=None), at(0))
    state, _ = reduce(state, MessagePosted(channel="C0PAYMENTS", ts="1.1"), at(1))
    return state


def of(effects: list[Effect], kind: type) -> list[Any]:
    return [e for e in effects if isinstance(e, kind)]


def asked(state: IncidentState, now: float, user: str = "U0ALICE") -> tuple[IncidentState, list[Effect]]:
    """A Create channel click that passed the identity and team check."""
    state, effects = reduce(state, click(ActionKind.CREATE_CHANNEL, user=user), at(now))
    assert of(effects, ResolveActor), effects
    return reduce(state, resolved_actor(f"c{state.next_command_no - 1}"), at(now + 1))


def created(state: IncidentState, now: float) -> tuple[IncidentState, list[Effect]]:
    state, effects = asked(state, now)
    assert len(of(effects, CreateChannel)) == 1
    return reduce(state, ChannelCreated(channel="C0DEDIC", name="inc-42-checkout-latency"), at(now + 2))


def test_a_click_creates_one_channel_invites_and_links_it_in_the_service_thread() -> None:
    state, effects = asked(started(), 10)
    (create,) = of(effects, CreateChannel)
    assert create.number == 42 and create.title == "Checkout latency over SLO" and create.name_template
    assert not of(effects, WriteToPagerDuty)  # nothing is written to PagerDuty for a channel
    state, effects = reduce(state, ChannelCreated(channel="C0DEDIC", name="inc-42-checkout-latency"), at(12))
    (invite,) = of(effects, InviteToChannel)
    assert invite.channel == "C0DEDIC" and invite.slack_users == ["U0ALICE"] and invite.pd_user_ids == ["PALICE1"]
    (told,) = of(effects, TellUser)
    assert told.slack_user == "U0ALICE" and "<#C0DEDIC>" in told.text
    link = [r for r in state.replies if "<#C0DEDIC>" in r.text]
    assert len(link) == 1 and link[0].to_service and "<@U0ALICE>" in link[0].text
    # The link goes to the service channel's thread; what follows, to the dedicated channel's.
    assert replies_for(state, dedicated=False) == link
    service, own = message_view(state), message_view(state, dedicated=True)
    assert service is not None and service.short and service.dedicated_channel == "C0DEDIC"
    assert service.channel_button == "Join channel"
    assert own is not None and not own.short and own.channel_button is None
    assert state.commands[-1].phase is CommandPhase.APPLIED and state.commands[-1].confirmed
    assert next_deadline(state) is not None  # only the reconcile: no confirmation is awaited for a channel


def test_later_replies_go_to_the_dedicated_channels_thread() -> None:
    state, _ = created(started(), 10)
    state, _ = reduce(state, MessagePosted(channel="C0DEDIC", ts="2.1", dedicated=True), at(13))
    state.replies = [r for r in state.replies if not r.to_service]
    state, _ = reduce(state, pd_event("incident.acknowledged", 20, agent=BOB), at(20))
    assert [r.to_service for r in replies_for(state, dedicated=True)] == [False]
    assert replies_for(state, dedicated=False) == []
    assert state.dedicated.ts == "2.1" and state.ts == "1.1"


def test_a_second_click_by_anyone_links_the_existing_channel_and_creates_none() -> None:
    state, _ = created(started(), 10)
    state, _ = reduce(state, ChannelInvited(pd_user_ids=["PALICE1"], slack_users=["U0ALICE"]), at(13))
    state, effects = reduce(state, click(ActionKind.CREATE_CHANNEL, user="U0EVE"), at(30))
    assert not of(effects, CreateChannel) and not of(effects, ResolveActor)
    (told,) = of(effects, TellUser)
    assert told.slack_user == "U0EVE" and "<#C0DEDIC>" in told.text
    (invite,) = of(effects, InviteToChannel)
    assert invite.slack_users == ["U0EVE"]


def test_a_private_channel_is_not_opened_to_whoever_clicks() -> None:
    state, _ = created(started(private=True), 10)
    state, effects = reduce(state, click(ActionKind.CREATE_CHANNEL, user="U0EVE"), at(30))
    assert not of(effects, InviteToChannel)
    (told,) = of(effects, TellUser)
    assert "private" in told.text


def test_clicks_while_it_is_being_created_wait_for_it_and_are_answered_once() -> None:
    state, _ = asked(started(), 10)
    state, effects = reduce(state, click(ActionKind.CREATE_CHANNEL, user="U0BOB"), at(11))
    assert effects == []  # answered when the channel exists
    state, effects = reduce(state, ChannelCreated(channel="C0DEDIC", name="inc-42"), at(12))
    assert sorted(t.slack_user for t in of(effects, TellUser)) == ["U0ALICE", "U0BOB"]
    assert sorted(of(effects, InviteToChannel)[0].slack_users) == ["U0ALICE", "U0BOB"]


def test_every_click_gets_exactly_one_answer_even_the_same_persons_second() -> None:
    state, effects = reduce(started(), click(ActionKind.CREATE_CHANNEL, user="U0BOB"), at(10))
    state, effects = reduce(state, click(ActionKind.CREATE_CHANNEL, user="U0BOB"), at(10.5))
    assert [t.slack_user for t in of(effects, TellUser)] == ["U0BOB"]  # "already under way", at once
    state, _ = reduce(state, resolved_actor("c1", actor=BOB), at(11))
    state, effects = reduce(state, click(ActionKind.CREATE_CHANNEL, user="U0BOB"), at(11.5))
    assert [t.slack_user for t in of(effects, TellUser)] == ["U0BOB"]  # "being created", at once
    state, effects = reduce(state, ChannelCreated(channel="C0DEDIC", name="inc-42"), at(12))
    assert [t.slack_user for t in of(effects, TellUser)] == ["U0BOB"]  # the first click's link


def test_a_refusal_is_explained_and_the_incident_stays_where_it_was() -> None:
    state, _ = asked(started(), 10)
    state, effects = reduce(state, ChannelCreated(error="the Slack app lacks the channels:manage scope <!here>"),
                            at(12))
    (told,) = of(effects, TellUser)
    assert told.slack_user == "U0ALICE" and "channels:manage" in told.text
    assert "<!here>" not in told.text and "&lt;!here&gt;" in told.text  # Slack's words shown, never pinging
    assert state.dedicated.phase == "failed" and state.commands[-1].phase is CommandPhase.FAILED
    view = message_view(state)
    assert view is not None and not view.short and view.channel_button == "Create channel"
    state, effects = asked(state, 40)  # it can be tried again
    assert len(of(effects, CreateChannel)) == 1


def test_someone_from_another_team_cannot_create_one() -> None:
    state, effects = reduce(started(), click(ActionKind.CREATE_CHANNEL), at(10))
    state, effects = reduce(state, resolved_actor("c1", actor_team_ids=["PTOTHER"]), at(11))
    assert not of(effects, CreateChannel) and state.dedicated.phase == "none"
    assert of(effects, TellUser)


def test_policy_creates_at_trigger_for_high_urgency_only() -> None:
    state = IncidentState(incident_id="PINC001", channels=ChannelPolicy(dedicated="high_urgency"))
    state, effects = reduce(state, pd_event("incident.triggered", 0, agent=None, urgency="high"), at(0))
    assert len(of(effects, CreateChannel)) == 1
    low = IncidentState(incident_id="PINC001", channels=ChannelPolicy(dedicated="high_urgency"))
    low, effects = reduce(low, pd_event("incident.triggered", 0, agent=None, urgency="low"), at(0))
    assert not of(effects, CreateChannel)
    state, effects = reduce(state, ChannelCreated(error="restricted_action"), at(2))
    assert any("could not be created" in r.text for r in state.replies)  # nobody clicked: the thread says it


def test_never_shows_no_button_and_answers_a_stale_click() -> None:
    state = started(dedicated="never")
    view = message_view(state)
    assert view is not None and view.channel_button is None
    state, effects = reduce(state, click(ActionKind.CREATE_CHANNEL), at(10))
    assert not of(effects, ResolveActor) and "turned off" in of(effects, TellUser)[0].text


def test_new_assignees_and_responders_are_invited_as_they_appear() -> None:
    state, _ = created(started(), 10)
    state, _ = reduce(state, ChannelInvited(pd_user_ids=["PALICE1"], slack_users=["U0ALICE"]), at(13))
    state, effects = reduce(state, pd_event("incident.reassigned", 20,
                                            assignees=[Ref(id=BOB.pd_id, summary=BOB.name)]), at(20))
    (invite,) = of(effects, InviteToChannel)
    assert invite.pd_user_ids == [BOB.pd_id]


def test_resolve_posts_one_summary_then_archives_after_the_configured_hours_before_finishing() -> None:
    state, _ = created(started(archive_after_resolve_hours=2), 10)
    state, _ = reduce(state, ChannelInvited(pd_user_ids=["PALICE1"], slack_users=["U0ALICE"]), at(13))
    state, effects = reduce(state, pd_event("incident.resolved", 100), at(100))
    assert len(of(effects, PostSummary)) == 1
    state, effects = reduce(state, pd_event("incident.annotated", 101), at(101))
    assert not of(effects, PostSummary)  # one summary per resolve
    state, _ = reduce(state, SummaryPosted(), at(102))
    assert next_deadline(state) == at(102 + 7200)  # the linger (600 s) waits for the archive
    state, _ = reduce(state, Tick(), at(700))
    assert not state.finished
    state, effects = reduce(state, Tick(), at(102 + 7200))
    assert of(effects, ArchiveChannel) == [ArchiveChannel(channel="C0DEDIC")]
    state, _ = reduce(state, ChannelArchived(), at(102 + 7201))
    view = message_view(state)
    assert view is not None and view.dedicated_archived and not view.short
    state, _ = reduce(state, Tick(), at(102 + 7202))
    assert state.finished


def test_a_new_run_asks_again_for_channel_work_the_old_one_had_in_flight() -> None:
    state, _ = created(started(), 10)
    assert state.dedicated.inviting
    state, effects = reduce(state, Resumed(), at(20))
    assert len(of(effects, InviteToChannel)) == 1


def test_the_channel_archived_by_someone_in_slack_sends_the_incident_home() -> None:
    state, _ = created(started(), 10)
    state, _ = reduce(state, ChannelArchived(), at(50))
    view = message_view(state)
    assert view is not None and not view.short and not state.dedicated.active
    assert replies_for(state, dedicated=True) == []


# ---- the workflow, on Temporal's time-skipping server ---------------------------------------------------


async def test_policy_channel_lives_through_the_incident_and_is_archived_hours_after_resolve(
        ts_env: WorkflowEnvironment) -> None:
    backend, queue = FakeBackend(), str(uuid.uuid4())
    policy = ChannelPolicy(dedicated="always", archive_after_resolve_hours=2)
    async with backend.worker(ts_env.client, queue):
        handle = await start(ts_env.client, queue, pd_event("incident.triggered", 0), Timing(
            linger_after_resolve_seconds=600), policy)
        began = await ts_env.get_current_time()
        # Two renders of one state: the service channel's message and the one in the incident's channel.
        await eventually(lambda: _async(sorted(p.channel or "service" for p in backend.posts) == ["C0DEDIC",
                                                                                                 "service"]))
        await handle.signal(IncidentWorkflow.pd_event, pd_event("incident.acknowledged", 30, agent=BOB))
        await eventually(lambda: _async(any("Acknowledged by" in line for _, line in backend.threads)))
        await handle.signal(IncidentWorkflow.pd_event, pd_event("incident.resolved", 60, agent=BOB))
        final = await handle.result()
        ended = await ts_env.get_current_time()
    kinds = [type(w).__name__ for w in backend.channel_work]
    assert kinds[0] == "CreateChannel" and kinds.count("CreateChannel") == 1
    assert kinds.count("PostSummary") == 1 and kinds[-1] == "ArchiveChannel"
    assert ("C0PAYMENTS", next(line for _, line in backend.threads if "own channel" in line)) in backend.threads
    assert all(channel == "C0DEDIC" for channel, line in backend.threads if "Acknowledged by" in line
               or "Resolved by" in line)
    short = [u.view for u in backend.updates if u.channel == "C0PAYMENTS"]
    assert any(v.short and v.dedicated_channel == "C0DEDIC" for v in short)  # while the channel was in use
    assert short[-1].dedicated_archived and short[-1].status is Status.RESOLVED  # and after it was archived
    assert final.finished and final.dedicated.archived
    assert ended - began >= timedelta(hours=2)  # the linger (10 min) waited for the archive


async def _async(value: Any) -> Any:
    return value


def test_an_invitation_refused_for_good_is_not_asked_again_and_told_once() -> None:
    state, effects = created(started(), 10)
    (invite,) = of(effects, InviteToChannel)
    refused = ChannelInvited(pd_user_ids=invite.pd_user_ids, slack_users=invite.slack_users,
                             error="Slack refused (user_is_restricted)")
    state, effects = reduce(state, refused, at(13))
    assert not of(effects, InviteToChannel)
    warned = [r for r in state.replies if "could be invited" in r.text]
    assert len(warned) == 1
    state, effects = reduce(state, pd_event("incident.reassigned", 20, assignees=[Ref(id=BOB.pd_id)]), at(20))
    (again,) = of(effects, InviteToChannel)
    assert again.pd_user_ids == [BOB.pd_id]  # only the new assignee
    state, _ = reduce(state, refused.model_copy(update={"pd_user_ids": [BOB.pd_id], "slack_users": []}), at(21))
    assert len([r for r in state.replies if "could be invited" in r.text]) == 1  # the same refusal, told once


def test_only_current_assignees_are_invited_not_those_moved_off_before() -> None:
    state = started(private=True)
    state, _ = reduce(state, pd_event("incident.reassigned", 5, assignees=[Ref(id=BOB.pd_id)]), at(5))
    state, effects = asked(state, 10)
    state, effects = reduce(state, ChannelCreated(channel="C0DEDIC", name="inc-42"), at(12))
    (invite,) = of(effects, InviteToChannel)
    assert invite.pd_user_ids == [BOB.pd_id] and invite.private  # Alice (assigned before) is not added


def test_people_waiting_on_a_private_channel_are_not_told_they_are_invited() -> None:
    state, _ = asked(started(private=True), 10)
    state, _ = reduce(state, click(ActionKind.CREATE_CHANNEL, user="U0EVE"), at(11))
    state, effects = reduce(state, ChannelCreated(channel="C0DEDIC", name="inc-42"), at(12))
    told = {t.slack_user: t.text for t in of(effects, TellUser)}
    assert "you are invited" in told["U0ALICE"] and "ask someone in it to add you" in told["U0EVE"]
    assert of(effects, InviteToChannel)[0].slack_users == ["U0ALICE"]


def test_the_channels_thread_never_waits_for_the_service_threads_backlog() -> None:
    state = IncidentState(incident_id="PINC001", channels=ChannelPolicy(dedicated="always"))
    state, _ = reduce(state, pd_event("incident.triggered", 0, agent=None), at(0))
    state, _ = reduce(state, ChannelCreated(channel="C0DEDIC", name="inc-42"), at(1))
    state, _ = reduce(state, MessagePosted(channel="C0DEDIC", ts="2.1", dedicated=True), at(2))
    state, _ = reduce(state, pd_event("incident.acknowledged", 3, agent=BOB), at(3))
    # The service channel's message is still waiting for its turn (a storm): its link reply waits with it.
    assert [r.to_service for r in replies_for(state, dedicated=False)] == [True]
    waiting = replies_for(state, dedicated=True)
    assert len(waiting) == 1 and "Acknowledged" in waiting[0].text
    state, _ = reduce(state, RepliesPosted(upto_seq=waiting[-1].seq, seqs=[r.seq for r in waiting]), at(4))
    assert [r.to_service for r in state.replies] == [True]  # the service thread's reply is still to post
