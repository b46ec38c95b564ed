"""An incident's turns from the shared Slack budget (workflows/pacing.py): ask, wait, and never wait for ever.

Every Slack call of an incident waits for the budget's turn. The budget is one workflow, so it can be
wedged (its task failing after a bad deploy), terminated, reset or replaced; none of that may silence
Slack. A turn that has not come `FIRST_CHECK` after it was asked for is checked (`slack_budget_turn`): the
ask is made again, which a restarted or replaced budget learns from, and the budget says where the
incident stands. While it answers and grants, the incident waits as long as its place in the queue says
(a storm keeps its order); when it does not, the incident calls Slack paced by itself (Slack's own
Retry-After) for `UNPACED_FOR`. The budget is taken for gone on evidence only (the check's answer: not
running, its task failing or untaken, a queue with no grant): a check that itself gets no answer is made
again, since a worker short of CPU in a storm is slow, not gone, and going unpaced then would only add
429s; only checks that get no answer for `GIVE_UP_AFTER` count as evidence. So a budget that is not there
costs a message at most about `BOUND`.

Runs started before this rule (`bounded` False, workflow.patched) keep the old one: ask again after
`ASK_AGAIN_AFTER`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta

from temporalio import workflow
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from activities.pacing import BudgetTurn, TurnActivities
    from activities.slack import SlackActivities
    from workflows import options
    from workflows.budget import Kind, SlackAsk, SlackDone, SlackThrottled
    from workflows.pacing import budget_workflow_id
    from workflows.view import MessageView

ASK_AGAIN_AFTER = timedelta(minutes=10)  # runs from before the bound: a turn that never comes is asked again
UNPACED_FOR = timedelta(minutes=1)  # after the budget could not be reached
FIRST_CHECK = timedelta(seconds=10)  # a turn this late is checked with the budget
CHECK_TIMEOUT = timedelta(seconds=10)  # from scheduling the check to its answer
CHECK_AGAIN = timedelta(seconds=2)  # after a check that got no answer
GIVE_UP_AFTER = timedelta(minutes=1)  # of checks with no answer: then the budget is taken for gone
BOUND = timedelta(seconds=30)  # the longest a budget that is not there holds a message (activities/pacing.py:
# a first check after FIRST_CHECK, a second one CHECK_EVERY_MIN later that sees its task untaken or failing)
CHECK_EVERY_MIN, CHECK_EVERY_MAX = 5.0, 120.0  # seconds between checks while the budget says "wait"


def failure_text(exc: BaseException) -> str:
    cause = exc.cause if isinstance(exc, ActivityError) and exc.cause else exc
    return cause.message if isinstance(cause, ApplicationError) else str(cause)


def slot(kind: Kind) -> Kind:
    return Kind.UPDATE if kind is Kind.STATUS else kind


class Turns:
    def __init__(self, spawn: Callable[[Awaitable[None]], None]) -> None:
        self._spawn = spawn
        self.bounded = False
        self.raise_status = False  # an update waiting for its turn that becomes a status change asks again
        self._asked_kind: dict[Kind, Kind] = {}
        self._granted: set[Kind] = set()
        self._asked: dict[Kind, datetime] = {}
        self._check_at: dict[Kind, datetime] = {}
        self._checking: set[Kind] = set()
        self._missing_since: datetime | None = None
        self.route: str | None = None
        self._routing = False
        self._unpaced_until: datetime | None = None

    def granted(self, kind: int) -> None:
        """The budget's turn for a call of `kind` (kept until used)."""
        turn = slot(Kind(kind))
        if self.bounded and turn not in self._asked:
            return  # a second grant for one ask (a check asked again as the first came), or for a forgotten one
        self._granted.add(turn)
        self._asked.pop(turn, None)
        self._check_at.pop(turn, None)

    def forget(self) -> None:
        """Nothing to show any more: no turn is worth waking for."""
        self._asked.clear()
        self._check_at.clear()

    def wake_at(self) -> list[datetime]:
        if self.bounded:
            return list(self._check_at.values())
        return [at + ASK_AGAIN_AFTER for at in self._asked.values()]

    def unpaced(self) -> bool:
        return self._unpaced_until is not None and workflow.now() < self._unpaced_until

    def take(self, kind: Kind, view: MessageView, channel: str | None) -> bool:
        """Whether a call of `kind` may go now; asks the budget for a turn when it may not yet."""
        turn = slot(kind)
        if self.unpaced():
            return True
        if turn in self._granted:
            self._granted.discard(turn)
            return True
        asked = self._asked.get(turn)
        if asked is not None and self.raise_status and kind < self._asked_kind.get(turn, kind):
            # Its place is raised (the budget keeps one ask per incident and channel for updates).
            self._asked_kind[turn] = kind
            self._spawn(self._ask(self._request(kind, view, channel)))
        if asked is not None:
            if not self.bounded and workflow.now() - asked < ASK_AGAIN_AFTER:
                return False
            if self.bounded:
                check_at = self._check_at.get(turn)
                if check_at is not None and workflow.now() >= check_at and turn not in self._checking:
                    self._checking.add(turn)
                    self._spawn(self._check(turn, self._request(kind, view, channel)))
                return False
        if kind is Kind.POST and channel is None:
            if not self._routing:
                self._routing = True
                self._spawn(self._find_route(view))
            return False
        self._asked[turn] = workflow.now()
        self._asked_kind[turn] = kind
        if self.bounded:
            self._check_at[turn] = workflow.now() + FIRST_CHECK
        self._spawn(self._ask(self._request(kind, view, channel)))
        return False

    @staticmethod
    def _request(kind: Kind, view: MessageView, channel: str | None) -> SlackAsk:
        return SlackAsk(workflow_id=workflow.info().workflow_id, incident_id=view.incident_id, kind=kind,
                        channel=channel or "", urgency=view.urgency, priority=view.priority,
                        service=view.service, html_url=view.html_url)

    async def _find_route(self, view: MessageView) -> None:
        try:
            self.route = await workflow.execute_local_activity_method(
                SlackActivities.route, view.service_id, start_to_close_timeout=timedelta(seconds=10),
                retry_policy=options.SINGLE_TRY)
        except Exception as exc:
            self.go_unpaced(f"no channel route: {failure_text(exc)}")
        finally:
            self._routing = False

    async def _ask(self, request: SlackAsk) -> None:
        budget_id = budget_workflow_id(workflow.info().task_queue)
        try:
            await workflow.get_external_workflow_handle(budget_id).signal("ask", request)
            return
        except Exception as exc:
            workflow.logger.info("budget %s not reached by signal (%s); starting it", budget_id, exc)
        try:
            await workflow.execute_activity("slack_budget_ask", request, start_to_close_timeout=timedelta(seconds=10),
                                            retry_policy=options.SINGLE_TRY)
        except Exception as exc:
            self.go_unpaced(failure_text(exc))

    async def _check(self, turn: Kind, request: SlackAsk) -> None:
        try:
            answer: BudgetTurn = await workflow.execute_activity_method(
                TurnActivities.turn, request, start_to_close_timeout=CHECK_TIMEOUT,
                schedule_to_close_timeout=CHECK_TIMEOUT, retry_policy=options.SINGLE_TRY)
        except ActivityError as exc:
            self._missing_since = self._missing_since or workflow.now()
            if workflow.now() - self._missing_since < GIVE_UP_AFTER:
                if turn in self._asked:
                    self._check_at[turn] = workflow.now() + CHECK_AGAIN
                return
            answer = BudgetTurn(alive=False, why=f"the Slack budget could not be checked: {failure_text(exc)}")
        finally:
            self._checking.discard(turn)
        self._missing_since = None
        if turn not in self._asked:
            return  # granted meanwhile
        if not answer.alive:
            self.go_unpaced(answer.why)
            return
        # Checked again about halfway to the turn the budget expects: a long queue is not asked every few seconds.
        wait = min(max(answer.eta_seconds / 2 + 5.0, CHECK_EVERY_MIN), CHECK_EVERY_MAX) if answer.queued else 10.0
        self._check_at[turn] = workflow.now() + timedelta(seconds=wait)

    def go_unpaced(self, why: str) -> None:
        workflow.logger.warning("Slack budget unreachable (%s): calling Slack unpaced for a while", why)
        self._unpaced_until = workflow.now() + UNPACED_FOR
        self.forget()

    async def tell_throttled(self, note: SlackThrottled) -> None:
        try:
            await workflow.get_external_workflow_handle(budget_workflow_id(workflow.info().task_queue)).signal(
                "throttled", note)
        except Exception as failure:
            workflow.logger.warning("could not tell the Slack budget about a 429: %s", failure)

    async def report_done(self, note: SlackDone) -> None:
        try:
            await workflow.get_external_workflow_handle(budget_workflow_id(workflow.info().task_queue)).signal(
                "done", note)
        except Exception as failure:
            workflow.logger.warning("could not tell the Slack budget a call was done: %s", failure)
