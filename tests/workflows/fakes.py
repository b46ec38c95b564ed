"""Stand-in activities registered under the real activity names, recording what the workflow asked for."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from temporalio import activity
from temporalio.client import Client, WorkflowHandle
from temporalio.exceptions import ApplicationError
from temporalio.worker import Worker

from activities.errors import (
    PagerDutyNoAnswer,
    PagerDutyRefused,
    PagerDutyUnavailable,
    RefusedNothingLanded,
    SlackAuthError,
)
from activities.identity import ResolveActorRequest
from activities.pacing import BudgetTurn
from activities.pagerduty import EscalationTarget, ReadRequest, WriteRequest
from activities.recall import RecallRequest
from activities.slack import PostRequest, ReplyRequest, UpdateRequest
from tests.factories import ALICE, snapshot
from workflows.budget import SlackAsk
from workflows.channel_models import (
    ArchiveChannel,
    ChannelCreated,
    ChannelInvited,
    ChannelPolicy,
    CreateChannel,
    InviteToChannel,
    PostSummary,
)
from workflows.incident import IncidentWorkflow
from workflows.models import (
    ActorResolved,
    IncidentRead,
    IncidentState,
    MessagePosted,
    PdEvent,
    Snapshot,
    TellUser,
    Timing,
    WorkflowInput,
    WriteOutcome,
)
from workflows.slack_text import fill

T = TypeVar("T")


class FakeBackend:
    def __init__(self) -> None:
        self.current: Snapshot = snapshot()
        self.posts: list[PostRequest] = []
        self.updates: list[UpdateRequest] = []
        self.replies: list[str] = []
        self.threads: list[tuple[str, str]] = []  # (channel, line) of each thread reply
        self.told: list[TellUser] = []
        self.channel_work: list[Any] = []
        self.reads: list[str] = []
        self.writes: list[WriteRequest] = []
        self.write_fails = False
        self.log_shows_landed = True  # what PagerDuty's log says of a write that gave up without knowing
        self.landed_asked = 0
        self.write_failures = 0  # the first N writes fail (retryably), then writes succeed
        self.write_failures_answered = False  # those failures: PagerDuty's 503 (nothing done), else timeouts
        self.then_refused = False  # after those failures, PagerDuty refuses the write
        # After those failures, the resend is refused and judged not landed from how the incident looks now
        # (a priority that is not the click's); it waits for `resend_gate` first, when one is set.
        self.then_refused_judged = False
        self.resend_gate: asyncio.Event | None = None
        self.identity_failures = 0
        self.update_failures = 0  # the first N updates fail for good (as a revoked token does)
        self.update_hangs = False  # updates never answer (until cancelled)
        self.recalled: IncidentState | None = None  # what a new run recalls of a finished one
        self.recalls: list[RecallRequest] = []

    @activity.defn(name="pd_read_incident")
    async def read(self, request: ReadRequest) -> IncidentRead:
        self.reads.append(request.reason)
        return IncidentRead(snapshot=self.current)

    @activity.defn(name="pd_write")
    async def write(self, request: WriteRequest) -> WriteOutcome:
        self.writes.append(request)
        if self.write_failures:
            self.write_failures -= 1
            if self.write_failures_answered:
                raise PagerDutyUnavailable("update incident: PagerDuty API unavailable (HTTP 503)")
            raise PagerDutyNoAnswer("update incident: PagerDuty API timed out")
        if self.then_refused:
            raise PagerDutyRefused("snooze incident: Incident is not Acknowledged", code=1012)
        if self.then_refused_judged:
            if self.resend_gate is not None:
                await self.resend_gate.wait()
            raise RefusedNothingLanded("update incident: Arguments Caused Error", code=2001)
        if self.write_fails:
            raise PagerDutyUnavailable("update incident: PagerDuty API unavailable (HTTP 503)")
        return WriteOutcome(command_id=request.write.command_id, result="applied")

    @activity.defn(name="pd_escalation_target")
    async def escalation_target(self, request: ReadRequest) -> EscalationTarget:
        return EscalationTarget(level=2, detail="level 2 of 2")

    @activity.defn(name="resolve_actor")
    async def resolve(self, request: ResolveActorRequest) -> ActorResolved:
        if self.identity_failures:
            self.identity_failures -= 1
            raise PagerDutyUnavailable("read incident: PagerDuty API unavailable (HTTP 503)")
        return ActorResolved(command_id=request.command_id, actor=ALICE, actor_team_ids=["PTPAY01"],
                             incident_team_ids=["PTPAY01"])

    @activity.defn(name="slack_post_message")
    async def post(self, request: PostRequest) -> MessagePosted:
        self.posts.append(request)
        return MessagePosted(channel=request.channel or "C0PAYMENTS", ts=f"1700000000.{len(self.posts):06d}")

    # ---- the incident's dedicated channel ----

    @activity.defn(name="slack_create_channel")
    async def create_channel(self, request: CreateChannel) -> ChannelCreated:
        self.channel_work.append(request)
        return ChannelCreated(channel="C0DEDIC", name=f"inc-{request.number}")

    @activity.defn(name="slack_invite_to_channel")
    async def invite(self, request: InviteToChannel) -> ChannelInvited:
        self.channel_work.append(request)
        return ChannelInvited(pd_user_ids=request.pd_user_ids, slack_users=request.slack_users)

    @activity.defn(name="slack_post_channel_summary")
    async def summary(self, request: PostSummary) -> None:
        self.channel_work.append(request)

    @activity.defn(name="slack_archive_channel")
    async def archive(self, request: ArchiveChannel) -> None:
        self.channel_work.append(request)

    @activity.defn(name="slack_update_message")
    async def update(self, request: UpdateRequest) -> None:
        if self.update_hangs:
            await asyncio.Event().wait()
        if self.update_failures:
            self.update_failures -= 1
            raise SlackAuthError("update incident message: Slack answered token_revoked")
        self.updates.append(request)

    @activity.defn(name="slack_post_reply")
    async def reply(self, request: ReplyRequest) -> int:
        for reply in request.replies:
            self.threads.append((request.channel, fill(reply.text, reply.texts, [p.summary for p in reply.people])))
            self.replies.append(fill(reply.text, reply.texts, [p.summary for p in reply.people]))
        return request.replies[-1].seq

    @activity.defn(name="pd_write_landed")
    async def write_landed(self, request: WriteRequest) -> bool:
        self.landed_asked += 1
        return self.log_shows_landed

    @activity.defn(name="slack_tell_user")
    async def tell(self, request: TellUser) -> None:
        self.told.append(request)

    @activity.defn(name="slack_route")
    async def route(self, service_id: str | None) -> str:
        return "C0PAYMENTS"

    @activity.defn(name="slack_budget_turn")
    async def budget_turn(self, request: SlackAsk) -> BudgetTurn:
        return BudgetTurn(alive=False, why="no Slack budget in this test")

    @activity.defn(name="recall_finished_run")
    async def recall(self, request: RecallRequest) -> IncidentState | None:
        self.recalls.append(request)
        return self.recalled

    @activity.defn(name="slack_budget_ask")
    async def budget_ask(self, request: SlackAsk) -> None:
        # No shared budget runs beside these workflows: the incident calls Slack unpaced.
        raise ApplicationError("no Slack budget in this test", non_retryable=True)

    def activities(self) -> list[Callable[..., Any]]:
        return [self.read, self.write, self.write_landed, self.escalation_target, self.resolve, self.post, self.update,
                self.reply,
                self.tell, self.route, self.budget_ask, self.budget_turn, self.recall, self.create_channel, self.invite,
                self.summary, self.archive]

    def worker(self, client: Client, task_queue: str) -> Worker:
        return Worker(client, task_queue=task_queue, workflows=[IncidentWorkflow], activities=self.activities())


async def start(client: Client, task_queue: str, first: PdEvent, timing: Timing | None = None,
                channels: ChannelPolicy | None = None) -> WorkflowHandle[IncidentWorkflow, IncidentState]:
    return await client.start_workflow(
        IncidentWorkflow.run, WorkflowInput(incident_id=first.incident_id, timing=timing or Timing(),
                                            channels=channels or ChannelPolicy()),
        id=f"pd-incident-{first.incident_id}-{uuid.uuid4().hex[:8]}", task_queue=task_queue,
        start_signal="pd_event", start_signal_args=[first])


async def eventually(check: Callable[[], Awaitable[T | None]], timeout: float = 15.0,
                     what: str = "condition") -> T:
    """Poll until `check` returns something truthy (no sleeps standing in for synchronisation)."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        value = await check()
        if value:
            return value
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"{what} not reached within {timeout} s")
        await asyncio.sleep(0.05)
