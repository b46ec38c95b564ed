"""The pure parts of `dev.py upgrade-check` (the command itself is a rehearsal that prints figures, not a test)."""

from __future__ import annotations

from collections import Counter

from ops.upgrade_phases import Case
from ops.upgrade_temporal import TaskHealth
from ops.upgrade_verdict import problems
from ops.upgrade_world import SLACK_TOKEN, World


def _post(world: World, text: str, thread_ts: str | None = None) -> str:
    params = {"channel": "C0PAYMENTS", "text": text, **({"thread_ts": thread_ts} if thread_ts else {})}
    status, body, _ = world.slack.call("chat.postMessage", params, SLACK_TOKEN)
    assert status == 200 and body["ok"], body
    return str(body["ts"])


async def test_an_incident_converges_with_one_final_message_and_each_reply_once() -> None:
    world = World()
    case = Case("a", "a open", "Checkout down", incident="PX", number=7, expect=["Resolved by <@U0BOB>"])
    try:
        root = _post(world, "[TRIGGERED] #7 Checkout down (payments-api)")
        _post(world, ":clipboard: *Summary of #7 Checkout down*")  # names the incident, is not its message
        _post(world, "[TRIGGERED] #70 Checkout down again (payments-api)")
        assert problems(world, case) == ["message in C0PAYMENTS shows triggered",
                                         "'Resolved by <@U0BOB>' 0x in the thread of C0PAYMENTS"]
        world.slack.call("chat.update", {"channel": "C0PAYMENTS", "ts": root,
                                         "text": "[RESOLVED] #7 Checkout down (payments-api)"}, SLACK_TOKEN)
        _post(world, ":white_check_mark: Resolved by <@U0BOB> in PagerDuty", root)
        assert problems(world, case) == []
        _post(world, ":white_check_mark: Resolved by <@U0BOB> in PagerDuty", root)
        assert problems(world, case) == [
            "'Resolved by <@U0BOB>' 2x in the thread of C0PAYMENTS",
            "reply twice in C0PAYMENTS: ':white_check_mark: Resolved by <@U0BOB> in PagerDuty'"]
        _post(world, "[TRIGGERED] #7 Checkout down (payments-api)")
        assert problems(world, case) == ["2 root messages in C0PAYMENTS"]
    finally:
        await world.close()


def test_a_task_is_failing_when_retried_or_the_run_failed() -> None:
    assert not TaskHealth("w", status="RUNNING", attempt=1).failing
    assert not TaskHealth("w", status="COMPLETED", failures=Counter({"NON_DETERMINISTIC_ERROR": 1})).failing
    retried = TaskHealth("w", "IncidentWorkflow", "RUNNING", 3, Counter({"NON_DETERMINISTIC_ERROR": 2}))
    assert retried.failing
    assert retried.describe() == ("IncidentWorkflow w: RUNNING; workflow task at attempt 3; "
                                  "task failures in history: NON_DETERMINISTIC_ERROR x2")
    assert TaskHealth("w", status="TERMINATED").failing
