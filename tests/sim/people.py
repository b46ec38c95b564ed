"""The cast of a simulated incident: who clicks in Slack, who acts in PagerDuty, and what people type.

Typed text carries a nonce (`[t3]`) so the `literal` invariant can find where it landed in Slack.
"""

from __future__ import annotations

from dataclasses import dataclass

from workflows.models import Person, Ref

OWNING_TEAM = "PTPAY01"
OTHER_TEAM = "PTOTH01"
CHANNEL = "C0PAYMENTS"
INCIDENT_ID = "PINC001"
HTML_URL = "https://example.pagerduty.com/incidents/PINC001"
RESPONSE_URL = "https://hooks.slack.com/commands/T0SIM/answer"  # where a typed command's answers go


@dataclass(frozen=True)
class Human:
    key: str
    slack_id: str | None
    pd_id: str | None
    name: str
    team: str | None = OWNING_TEAM
    admin: bool = False
    notify: bool | None = None  # their `/pd notify` choice (None: never made one)

    def __repr__(self) -> str:
        # The constant's name, so that a printed failing example can be pasted back as code.
        return self.key.upper()

    @property
    def ref(self) -> Ref:
        assert self.pd_id is not None
        return Ref(id=self.pd_id, summary=self.name)

    @property
    def person(self) -> Person:
        assert self.pd_id is not None
        return Person(pd_id=self.pd_id, email=f"{self.key}@example.com", name=self.name)


ALICE = Human("alice", "U0ALICE", "PALICE1", "Alice Adams", notify=True)
BOB = Human("bob", "U0BOB01", "PBOB001", "Bob Brown")  # never chose: direct messages by default
CAROL = Human("carol", "U0CAROL", "PCAROL1", "Carol Chen", team=OTHER_TEAM, notify=True)  # another team
DAVE = Human("dave", "U0DAVE1", None, "Dave Dunn", team=None)  # in Slack, no PagerDuty user
ERIN = Human("erin", "U0ERIN1", "PERIN01", "Erin Eng", team=OTHER_TEAM, admin=True, notify=False)  # opted out
# In PagerDuty only, with a name someone typed: it is rendered as text, never as a mention.
PAT = Human("pat", None, "PPAT001", "Pat <!here> [t0]", team=OWNING_TEAM)

EVERYONE = (ALICE, BOB, CAROL, DAVE, ERIN, PAT)
CLICKERS = (ALICE, BOB, CAROL, DAVE, ERIN)
PD_PEOPLE = (ALICE, BOB, ERIN, PAT)
# Who is on call at each escalation level (1-based).
ON_CALL = {1: ALICE, 2: BOB, 3: PAT}
BY_PD_ID = {h.pd_id: h for h in EVERYONE if h.pd_id}
BY_SLACK_ID = {h.slack_id: h for h in EVERYONE if h.slack_id}
SLACK_IDS = frozenset(h.slack_id for h in EVERYONE if h.slack_id)

HOSTILE = (
    "<!channel> db down",
    "ask <@U0ALICE>",
    "see <https://evil.example|runbook>",
    "{p0} is to blame",
    "fish &amp; chips",
    "plain words",
)


def typed(kind: int, nonce: int) -> str:
    """Text a person types: one of the hostile shapes, tagged so it can be traced into Slack."""
    return f"{HOSTILE[kind % len(HOSTILE)]} [t{nonce}]"
