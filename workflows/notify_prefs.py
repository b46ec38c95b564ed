"""`NotifyPreferencesWorkflow`: who said `/pd notify on` or `off`, kept durably in Temporal.

One workflow per task queue (`<queue>-notify-preferences`), started by the first `/pd notify on|off` (the API
signals with start) and asked by query: by the API for `/pd notify`, by the incident workflows' activity that
decides whether an assignee gets a direct message. It holds one choice per Slack user and continues as new,
carrying the choices, whenever Temporal suggests it, so its history stays bounded however often people change
their minds.
"""

from __future__ import annotations

from pydantic import Field
from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from workflows.base import Model

MAX_PEOPLE = 100_000  # far more than a workspace's people: the choices carried stay bounded regardless
SET_SIGNAL, CHOICE_QUERY = "set", "choice"


def notify_workflow_id(task_queue: str) -> str:
    return f"{task_queue}-notify-preferences"


class NotifyChoice(Model):
    slack_user: str
    on: bool


class NotifyInput(Model):
    choices: dict[str, bool] = Field(default_factory=dict)  # Slack user -> wants direct messages


@workflow.defn(name="NotifyPreferencesWorkflow")
class NotifyPreferencesWorkflow:
    @workflow.init
    def __init__(self, inp: NotifyInput) -> None:
        self._choices = dict(inp.choices)

    @workflow.signal(name=SET_SIGNAL)
    def set(self, choice: NotifyChoice) -> None:
        self._choices.pop(choice.slack_user, None)  # the newest choice last: the oldest go first beyond the bound
        self._choices[choice.slack_user] = choice.on
        while len(self._choices) > MAX_PEOPLE:
            self._choices.pop(next(iter(self._choices)))

    @workflow.query(name=CHOICE_QUERY)
    def choice(self, slack_user: str) -> bool | None:
        """The person's own choice; None when they never said."""
        return self._choices.get(slack_user)

    @workflow.query(name="state")
    def state(self) -> NotifyInput:
        return NotifyInput(choices=self._choices)

    @workflow.run
    async def run(self, inp: NotifyInput) -> None:
        await workflow.wait_condition(lambda: workflow.info().is_continue_as_new_suggested())
        await workflow.wait_condition(workflow.all_handlers_finished)
        workflow.continue_as_new(NotifyInput(choices=self._choices))
