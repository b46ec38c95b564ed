"""The one place where text becomes Slack mrkdwn.

Lines the bridge writes are templates of its own wording. People appear in them as `{p0}`, `{p1}`… (the
Slack activity turns each into a mention, or into the person's name when they have no Slack account) and
text that people typed (notes, titles, names, messages, error details) as `{t0}`, `{t1}`…. Filling is a
single pass over the template, so typed text is never searched for placeholders, and typed text is always
escaped as Slack documents (`&`, `<`, `>`), so it cannot ping, mention or link.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

from pydantic import Field

from workflows.models import Model, Ref

PLACEHOLDER = re.compile(r"\{([pt])(\d+)\}")


def escape(text: str) -> str:
    """Typed text as Slack shows it literally: `<!channel>` stays text, `<@U…>` mentions nobody."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


class Line(Model):
    """A line of the bridge's own wording with the people and typed text it mentions kept apart."""

    template: str = ""
    people: list[Ref] = Field(default_factory=list)
    texts: list[str] = Field(default_factory=list)

    def person(self, ref: Ref) -> str:
        self.people.append(ref)
        return f"{{p{len(self.people) - 1}}}"

    def typed(self, text: str) -> str:
        self.texts.append(text)
        return f"{{t{len(self.texts) - 1}}}"

    def add(self, template: str) -> Line:
        self.template += template
        return self


def fill(template: str, texts: list[str], mentions: list[str]) -> str:
    """The Slack text of a template; `mentions` are the people's mentions (bridge-made markup, used as is)."""
    escaped = [escape(t) for t in texts]

    def one(match: re.Match[str]) -> str:
        values = mentions if match.group(1) == "p" else escaped
        index = int(match.group(2))
        return values[index] if index < len(values) else "?"

    return PLACEHOLDER.sub(one, template)


def plain(line: Line) -> str:
    """`line` as Slack text with people by their (escaped) PagerDuty names: for text that is not a reply."""
    return fill(line.template, line.texts, [escape(p.summary or p.id) for p in line.people])


def clock_time(at: datetime) -> str:
    """A moment as Slack shows it to each reader: HH:MM in their own time zone (UTC where it cannot)."""
    return f"<!date^{int(at.timestamp())}^{{time}}|{at.astimezone(UTC):%H:%M} UTC>"
