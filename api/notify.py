"""`/pd notify [on | off]`: a person's choice of direct messages for incidents assigned to them.

The admins' `[notifications] direct_messages` comes first ("off": nobody gets any); the choice is kept by
`NotifyPreferencesWorkflow` (workflows/notify_prefs.py) and read by every incident that assigns the person.
"""

from __future__ import annotations

from activities.direct_messages import wants
from api.command_handlers import Commands, Reply

OFF = ("Direct messages about incidents are turned off by the bridge's admins, so you get none; incidents still "
       "show in their channels.")
HOW = "When an incident is assigned to you, it comes to you as a direct message with its controls."


async def notify(commands: Commands, slack_user: str, on: bool | None) -> Reply:
    mode = commands.config.notifications.direct_messages
    if mode == "off":
        return Reply(OFF)
    if on is not None:
        await commands.gateway.set_notify_choice(slack_user, on)
        if on:
            return Reply(f"Direct messages are on for you. {HOW} `/pd notify off` stops them.")
        return Reply("Direct messages are off for you: incidents assigned to you show only in their channels. "
                     "`/pd notify on` turns them on again.")
    choice = await commands.gateway.notify_choice(slack_user)
    if wants(mode, choice):
        why = "you said `/pd notify on`" if choice else "everyone gets them unless they say `/pd notify off`"
        return Reply(f"Direct messages are on for you ({why}). {HOW} `/pd notify off` stops them.")
    why = "you said `/pd notify off`" if choice is False else "they are opt-in here"
    return Reply(f"Direct messages are off for you ({why}). `/pd notify on` sends you one whenever an incident "
                 "is assigned to you.")
