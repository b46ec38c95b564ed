"""Direct messages to assignees in the simulation: who wants one, the conversation each person has with the
bot, and what `activities/direct_messages.py` answers when the workflow asks to open one.

The admins' mode is "on": everyone with a Slack account gets one, but who said `/pd notify off` (Erin); Pat has
no Slack account. The conversation is the same for a person across incidents and runs (`conversations.open`
answers the existing one), so a late or repeated open finds the same channel.
"""

from __future__ import annotations

from typing import Literal

from activities.direct_messages import wants
from tests.sim.people import BY_PD_ID, BY_SLACK_ID, Human
from workflows.dm_models import DirectMessageOpened, OpenDirectMessage

DM_MODE: Literal["off", "opt_in", "on"] = "on"
GAVE_UP = "open direct message: Slack unavailable (503)"
REFUSED = "open direct message: Slack refused (cannot_dm_bot)"


def dm_channel(human: Human) -> str:
    """The person's conversation with the bot (never the `D…` of a typed command, where the bot is not in)."""
    return f"D0BOT{human.key.upper()}"


def reader(channel: str) -> Human | None:
    """Whose conversation with the bot `channel` is."""
    return next((h for h in BY_SLACK_ID.values() if dm_channel(h) == channel), None)


def open_dm(effect: OpenDirectMessage, fault: str) -> DirectMessageOpened:
    """The activity's answer: its retries on a 503 ran out (the workflow gives this person up), a refusal, or
    the conversation. A lost answer retried opens the same conversation again, so it is the same as "ok"."""
    if fault in {"error", "unavailable"}:
        return DirectMessageOpened(pd_user=effect.pd_user, reason=GAVE_UP)
    human = BY_PD_ID.get(effect.pd_user)
    if human is None or human.slack_id is None:
        return DirectMessageOpened(pd_user=effect.pd_user, reason="no Slack account matches")
    if not wants(DM_MODE, human.notify):
        return DirectMessageOpened(pd_user=effect.pd_user, slack_user=human.slack_id,
                                   reason="opted out" if human.notify is False else "not opted in")
    if fault == "refused":
        return DirectMessageOpened(pd_user=effect.pd_user, slack_user=human.slack_id, reason=REFUSED)
    return DirectMessageOpened(pd_user=effect.pd_user, slack_user=human.slack_id, channel=dm_channel(human))
