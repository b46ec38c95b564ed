"""The incident workflow's PagerDuty calls: reads, who a clicker is, and writes with their deadline.

One attempt first, so the message can say why a command waits; then durable retries until the action
deadline (counted from the click). Results come back to the reducer as events through `feed`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

from temporalio import workflow
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from activities.errors import NOT_DONE_TYPES, RETRYABLE_TYPES
    from activities.identity import IdentityActivities, ResolveActorRequest
    from activities.pagerduty import EscalationTarget, PagerDutyActivities, ReadRequest, WriteRequest
    from workflows import options
    from workflows.models import (
        ActionKind,
        ActorResolved,
        EscalationPlanned,
        Event,
        IncidentRead,
        IncidentState,
        ReadIncident,
        ResolveActor,
        WriteOutcome,
        WriteToPagerDuty,
    )
    from workflows.policy import MAYBE_LANDED, NOTHING_DONE, REFUSED_PREFIX
    from workflows.rendering import failure_text, failure_type, last_failure_type, retry_delay

# A failure with no ApplicationError type (a timeout, a lost worker) is worth retrying too.
RETRYABLE: set[str | None] = {*RETRYABLE_TYPES, None}
NOT_REFUSALS = {"EscalationExhausted", "StatusUpdateUnsure"}
LANDED_DEADLINE = timedelta(minutes=1)
LOG_SHOWS_LANDED = "PagerDuty's log shows it landed"
# Writes PagerDuty's log records by person and channel: whether one landed can be looked up.
LOGGED_ACTIONS = {ActionKind.ACKNOWLEDGE, ActionKind.RESOLVE}


class PagerDutyCalls:
    """`state` gives the incident's state now; `feed` hands an event to the reducer."""

    def __init__(self, state: Callable[[], IncidentState], feed: Callable[[Event], None]) -> None:
        self._get_state, self._feed = state, feed

    @property
    def _state(self) -> IncidentState:
        return self._get_state()

    async def read(self, effect: ReadIncident) -> IncidentRead:
        request = ReadRequest(incident_id=self._state.incident_id, reason=effect.reason)
        try:
            read: IncidentRead = await workflow.execute_activity_method(
                PagerDutyActivities.read_incident, request, start_to_close_timeout=options.CALL_TIMEOUT,
                schedule_to_close_timeout=options.READ_DEADLINE, retry_policy=options.PAGERDUTY_RETRY)
        except ActivityError as exc:
            return IncidentRead(read_no=effect.read_no, error=failure_text(exc))
        return read.model_copy(update={"read_no": effect.read_no})

    async def resolve(self, effect: ResolveActor) -> ActorResolved:
        request = ResolveActorRequest(incident_id=self._state.incident_id, command_id=effect.command_id,
                                      slack_user=effect.slack_user, target_slack_user=effect.target_slack_user)
        try:
            result: ActorResolved = await self._patiently(effect.command_id, IdentityActivities.resolve_actor,
                                                          request)
            return result
        except (ActivityError, ApplicationError) as exc:
            return ActorResolved(command_id=effect.command_id,
                                 error=f"could not check who you are in PagerDuty: {failure_text(exc)}")

    def _action_deadline(self) -> timedelta:
        return timedelta(seconds=self._state.timing.action_deadline_seconds)

    async def _patiently(self, command_id: str, method: Callable[..., Awaitable[Any]], arg: Any,
                         retry_arg: Any = None) -> Any:
        """One attempt alone, so the message can say why it waits; then durable retries until the deadline.

        The deadline counts from the click, across every step of the command. `retry_arg`, when given, is
        what the durable retries send when the first attempt may have landed (a write marked as a retry); after
        PagerDuty's own answer that it did nothing (503, 429) they send `arg`: a change found since the click is
        then someone's own, never taken for this click's.
        """
        command = next((c for c in self._state.commands if c.id == command_id), None)
        started = command.issued_at if command else workflow.now()
        try:
            return await workflow.execute_activity_method(
                method, arg, start_to_close_timeout=options.CALL_TIMEOUT, retry_policy=options.SINGLE_TRY)
        except ActivityError as first:
            if failure_type(first) not in RETRYABLE:
                raise
            self._feed(WriteOutcome(command_id=command_id, result="retrying",
                                    detail=f"{failure_text(first)}; retrying"))
            await workflow.sleep(retry_delay(first) or options.PAGERDUTY_RETRY.initial_interval)
            remaining = self._action_deadline() - (workflow.now() - started)
            try:
                return await workflow.execute_activity_method(
                    method, arg if retry_arg is None or failure_type(first) in NOT_DONE_TYPES else retry_arg,
                    start_to_close_timeout=options.CALL_TIMEOUT,
                    schedule_to_close_timeout=max(remaining, timedelta(seconds=1)),
                    retry_policy=options.PAGERDUTY_RETRY)
            except ActivityError as final:
                if failure_type(final) in RETRYABLE or last_failure_type(final) in NOT_DONE_TYPES:
                    minutes = self._state.timing.action_deadline_seconds / 60
                    nothing = failure_type(first) in NOT_DONE_TYPES and last_failure_type(final) in NOT_DONE_TYPES
                    raise ApplicationError(f"{failure_text(first)}; gave up after {minutes:g} min of retries",
                                           type=NOTHING_DONE if nothing else None, non_retryable=True) from final
                if (retry_arg is not None and failure_type(first) not in NOT_DONE_TYPES
                        and failure_type(final) != "RefusedNothingLanded"):
                    # A refusal of the retry says nothing of the first attempt, which may have gone through:
                    # not reported as refused, so its echo, should it come, is still this click's.
                    raise ApplicationError(f"{failure_text(final)} {MAYBE_LANDED}", non_retryable=True) from final
                raise

    async def _landed(self, incident_id: str, effect: WriteToPagerDuty, unknown: bool = True) -> bool:
        """PagerDuty's log, asked once: did an attempt of this acknowledge, resolve, snooze, escalation or
        reassignment land? Unknown counts as `unknown` (yes by default: the click may have done it, as before the
        log was asked)."""
        try:
            landed: bool = await workflow.execute_activity_method(
                PagerDutyActivities.write_landed, WriteRequest(incident_id=incident_id, write=effect),
                start_to_close_timeout=options.CALL_TIMEOUT, schedule_to_close_timeout=LANDED_DEADLINE,
                retry_policy=options.PAGERDUTY_RETRY)
        except ActivityError:
            return unknown
        return landed

    async def _snooze_landed(self, effect: WriteToPagerDuty) -> bool:
        """A snooze in doubt (it gave up unanswered, or a resend was refused) has no webhook to confirm it later:
        PagerDuty's log is the only word that it landed. Runs started before this was asked never ask."""
        return (effect.action is ActionKind.SNOOZE and workflow.patched("gave-up-snooze-asks-the-log")
                and await self._landed(self._state.incident_id, effect, unknown=False))

    async def write(self, effect: WriteToPagerDuty) -> None:
        incident_id = self._state.incident_id
        try:
            if effect.action is ActionKind.ESCALATE and effect.escalation_level is None:
                target: EscalationTarget = await self._patiently(
                    effect.command_id, PagerDutyActivities.escalation_target, ReadRequest(incident_id=incident_id))
                effect = effect.model_copy(update={"escalation_level": target.level})
                self._feed(EscalationPlanned(command_id=effect.command_id, level=target.level,
                                             user_ids=target.user_ids))
            request = WriteRequest(incident_id=incident_id, write=effect, is_retry=effect.may_have_landed)
            outcome: WriteOutcome = await self._patiently(
                effect.command_id, PagerDutyActivities.write, request,
                request.model_copy(update={"is_retry": True}))
        except ApplicationError as gave_up:
            nothing = gave_up.type == NOTHING_DONE and not effect.may_have_landed
            if not nothing and _asks_the_log(effect):
                nothing = not await self._landed(incident_id, effect)
            elif not nothing and await self._snooze_landed(effect):
                self._feed(WriteOutcome(command_id=effect.command_id, result="applied",
                                        detail=f"{gave_up.message}; {LOG_SHOWS_LANDED}"))
                return
            self._feed(WriteOutcome(command_id=effect.command_id, result="failed", detail=gave_up.message,
                                    nothing_done=nothing))
            return
        except ActivityError as refused:
            # Not PagerDuty's refusal: the escalation had nowhere to go, or a status update may have been published.
            prefix = "" if failure_type(refused) in NOT_REFUSALS else f"{REFUSED_PREFIX}: "
            if effect.may_have_landed and failure_type(refused) not in {"EscalationExhausted", "RefusedNothingLanded"}:
                # An attempt of the run before may have gone through: this refusal is no proof it did not.
                if await self._snooze_landed(effect):
                    self._feed(WriteOutcome(command_id=effect.command_id, result="applied",
                                            detail=f"{failure_text(refused)}; {LOG_SHOWS_LANDED}"))
                    return
                self._feed(WriteOutcome(command_id=effect.command_id, result="failed",
                                        detail=f"{failure_text(refused)} {MAYBE_LANDED}"))
                return
            # Nothing was written when the escalation was found exhausted as it was planned: an escalation
            # webhook by the clicker then is theirs in PagerDuty, not this click's.
            exhausted = (failure_type(refused) == "EscalationExhausted" and effect.escalation_level is None
                         and workflow.patched("exhausted-is-nothing-done"))
            judged = effect.action is ActionKind.PRIORITY and failure_type(refused) == "RefusedNothingLanded"
            self._feed(WriteOutcome(command_id=effect.command_id, result="failed",
                                    detail=prefix + failure_text(refused), nothing_done=exhausted,
                                    judged_from_now=judged))
            return
        self._feed(outcome)


def _asks_the_log(effect: WriteToPagerDuty) -> bool:
    """Whether a write that gave up without knowing asks PagerDuty's log if it landed (each kind from its patch on:
    runs started before replay as recorded)."""
    if effect.action in LOGGED_ACTIONS:
        return workflow.patched("gave-up-asks-the-log")
    if effect.action in {ActionKind.ESCALATE, ActionKind.REASSIGN}:
        return workflow.patched("gave-up-assignment-asks-the-log")
    return False
