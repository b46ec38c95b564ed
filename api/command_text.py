"""The text of a `/pd` slash command, parsed into what the person asked for. Pure: no I/O.

Grammar (words are separated by any whitespace; case of the subcommand does not matter):

    /pd                                   usage
    /pd help                              usage
    /pd mine                              my open incidents
    /pd open [service]                    open incidents of the channel's service, or of `service`
    /pd oncall [service | policy]         who is on call now, level by level
    /pd trigger                           a modal asks for the service, title and urgency
    /pd trigger <service>                 the modal, with the service chosen
    /pd trigger <service> <title…> [--low | --high]
    /pd ack <number>   /pd resolve <number>
    /pd notify [on | off]                 direct messages for incidents assigned to me: say, or set

A service (or escalation policy) name with spaces is written in quotes: `/pd trigger "payments api"
Card payments failing`. Straight and curly quotes both work (Slack clients turn " into “ ”). An id
(e.g. `PSVC001`) or a name without spaces needs no quotes. The title is the rest of the line as typed.
`#7` and `7` are the same incident number.

Slack sends `&`, `<` and `>` in the command text as `&amp;`, `&lt;`, `&gt;`; they are decoded here, so the
handlers hold the text as the person typed it and must escape it again wherever it is shown in Slack.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

# Straight quotes, and the curly ones Slack clients type for them: U+201C…U+201D, U+201E…U+201C, U+2018…U+2019.
QUOTES = {'"': '"', "\u201c": "\u201d", "\u201e": "\u201c", "'": "'", "\u2018": "\u2019"}
WORD = re.compile(r"(\S+)\s*(.*)", re.S)
MAX_TITLE = 1024  # PagerDuty truncates longer titles; refuse instead of silently cutting


@dataclass(frozen=True)
class Help:
    pass


@dataclass(frozen=True)
class Mine:
    pass


@dataclass(frozen=True)
class OpenIncidents:
    service: str | None = None


@dataclass(frozen=True)
class OnCall:
    target: str | None = None


@dataclass(frozen=True)
class Trigger:
    """Complete when both `service` and `title` are set; otherwise the modal asks for the rest."""

    service: str | None = None
    title: str | None = None
    urgency: Literal["high", "low"] = "high"


@dataclass(frozen=True)
class Act:
    action: Literal["acknowledge", "resolve"]
    number: int


@dataclass(frozen=True)
class Notify:
    """`on`: True or False to set the choice, None to ask what it is."""

    on: bool | None = None


@dataclass(frozen=True)
class Invalid:
    """Text that is not a command the bridge knows; `message` says what is wrong (plain text)."""

    message: str


Request = Help | Mine | OpenIncidents | OnCall | Trigger | Act | Notify | Invalid

ACT_WORDS: dict[str, Literal["acknowledge", "resolve"]] = {
    "ack": "acknowledge", "acknowledge": "acknowledge", "resolve": "resolve"}
URGENCY_FLAGS: dict[str, Literal["high", "low"]] = {"--low": "low", "--high": "high"}


def decode_slack(text: str) -> str:
    """Undo Slack's escaping of the command text (`&amp;` last, so `&amp;lt;` stays `&lt;`)."""
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def _first_word(text: str) -> tuple[str, str] | None:
    """The first word (a quoted phrase counts as one word) and the rest; None for an unclosed quote."""
    text = text.strip()
    if not text:
        return "", ""
    closing = QUOTES.get(text[0])
    if closing is not None:
        end = text.find(closing, 1)
        if end < 0:
            return None
        return text[1:end].strip(), " ".join(text[end + 1:].split())
    head, rest = WORD.match(text).groups()  # type: ignore[union-attr]  # text is non-empty
    return head, " ".join(rest.split())


def _optional_name(rest: str, what: str) -> str | Invalid | None:
    if not rest:
        return None
    split = _first_word(rest)
    if split is None:
        return Invalid(f"The {what} name has an opening quote but no closing one.")
    name, extra = split
    if extra:
        return Invalid(f'Only one {what} at a time; put a name with spaces in quotes, e.g. "payments api".')
    return name or None


def _trigger(rest: str) -> Request:
    words = rest.split()
    urgency: Literal["high", "low"] = "high"
    flags = [w for w in words if w.lower() in URGENCY_FLAGS]
    if flags:
        urgency = URGENCY_FLAGS[flags[-1].lower()]
        rest = " ".join(w for w in words if w.lower() not in URGENCY_FLAGS)
    split = _first_word(rest)
    if split is None:
        return Invalid("The service name has an opening quote but no closing one.")
    service, title = split
    if len(title) > MAX_TITLE:
        return Invalid(f"The title is {len(title)} characters long; PagerDuty takes at most {MAX_TITLE}.")
    return Trigger(service=service or None, title=title or None, urgency=urgency)


def _act(word: str, rest: str) -> Request:
    number = rest.strip().lstrip("#")
    if not (number.isascii() and number.isdigit()) or len(number) > 12 or int(number) == 0:
        return Invalid(f"Which incident? Write its number, e.g. `/pd {word} 7`.")
    return Act(action=ACT_WORDS[word], number=int(number))


def parse(text: str) -> Request:
    split = _first_word(decode_slack(text))
    if split is None or (split[0] and text.strip()[0] in QUOTES):
        return Invalid("Start with a subcommand: help, mine, open, oncall, trigger, ack, resolve or notify.")
    word, rest = split[0].lower(), split[1]
    if word in ("", "help"):
        return Help()
    if word == "mine":
        return Mine() if not rest else Invalid("`/pd mine` takes nothing after it.")
    if word == "open":
        name = _optional_name(rest, "service")
        return name if isinstance(name, Invalid) else OpenIncidents(service=name)
    if word in ("oncall", "on-call", "who"):
        name = _optional_name(rest, "service or escalation policy")
        return name if isinstance(name, Invalid) else OnCall(target=name)
    if word == "trigger":
        return _trigger(rest)
    if word in ACT_WORDS:
        return _act(word, rest)
    if word == "notify":
        setting = rest.strip().lower()
        if setting not in ("", "on", "off"):
            return Invalid("Write `/pd notify on`, `/pd notify off`, or `/pd notify` to see your setting.")
        return Notify(on=None if not setting else setting == "on")
    return Invalid(f"`{word[:40]}` is not a /pd subcommand.")
