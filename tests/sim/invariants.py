"""The simulation's invariants, checked against the final Slack text and PagerDuty's ledger.

Names are the ones the issue uses: converges, attributed, answered, once, literal, total; plus
trigger_shown. Each raises AssertionError starting with its name.
"""

from __future__ import annotations

import re
from collections import Counter

from tests.sim.dms import reader
from tests.sim.driver import SimWorkflow
from tests.sim.people import BY_PD_ID, BY_SLACK_ID, HTML_URL, SLACK_IDS
from workflows.slack_text import escape

# ---- reading the thread ------------------------------------------------------------------------------

FROM_SLACK = [
    (re.compile(r"^:heavy_check_mark: Acknowledged by <@(\w+)> from Slack"), "incident.acknowledged"),
    (re.compile(r"^:heavy_check_mark: Resolved by <@(\w+)> from Slack"), "incident.resolved"),
    (re.compile(r"^:busts_in_silhouette: Reassigned to .*? by <@(\w+)> from Slack"), "incident.reassigned"),
    (re.compile(r"^:arrow_double_up: Escalated by <@(\w+)> from Slack"), "incident.escalated"),
    (re.compile(r"^:memo: Note by <@(\w+)> from Slack: "), "incident.annotated"),
    (re.compile(r"^:mega: Status update by <@(\w+)> from Slack: "), "incident.status_update_published"),
    (re.compile(r"^:label: Priority set to .*? by <@(\w+)> from Slack"), "incident.priority_updated"),
    (re.compile(r"^:zzz: Snoozed for .*? by <@(\w+)> from Slack"), "snooze"),
    (re.compile(r"^:sos: <@(\w+)> asked .*? to respond, from Slack"), "incident.responder.added"),
]
IN_PAGERDUTY = [
    (re.compile(r"^:eyes: Acknowledged by (.+?) in PagerDuty$"), "incident.acknowledged"),
    (re.compile(r"^:white_check_mark: Resolved by (.+?) in PagerDuty$"), "incident.resolved"),
    (re.compile(r"^:rotating_light: Reopened by (.+?) in PagerDuty$"), "incident.reopened"),
    (re.compile(r"^:arrow_double_up: Escalated by (.+?) in PagerDuty, now"), "incident.escalated"),
    (re.compile(r"^:arrow_double_up: Escalated (automatically) in PagerDuty"), "incident.escalated"),
    (re.compile(r"^:busts_in_silhouette: Reassigned by (.+?) in PagerDuty to"), "incident.reassigned"),
    (re.compile(r"^:label: Priority changed to \S+ by (.+?) in PagerDuty$"), "incident.priority_updated"),
    (re.compile(r"^:memo: Note by (.+?) in PagerDuty: "), "incident.annotated"),
    (re.compile(r"^:mega: Status update by (.+?) in PagerDuty: "), "incident.status_update_published"),
    (re.compile(r"^:sos: (.+?) asked .*? to respond in PagerDuty"), "incident.responder.added"),
    (re.compile(r"^:arrows_counterclockwise: Unacknowledged (in) PagerDuty"), "incident.unacknowledged"),
]
# A change PagerDuty records no log entry of, which the bridge cannot tell from its own click's (reported failed):
# said to be either, it may stand for either.
EITHER = [
    (re.compile(r"^:label: Priority set to .*? by <@(\w+)>, from Slack or in PagerDuty: "),
     "incident.priority_updated"),
]
ACTION_OF = {"incident.acknowledged": "acknowledge", "incident.resolved": "resolve", "incident.reassigned": "reassign",
             "incident.escalated": "escalate", "incident.annotated": "note", "incident.priority_updated": "priority",
             "snooze": "snooze", "incident.responder.added": "add_responder",
             "incident.status_update_published": "status_update"}
# A click that found PagerDuty already done: its visible outcome, not a change by the clicker.
FOUND_DONE = re.compile(
    r"^:information_source: <@(\w+)>'s click found the incident already (acknowledged|resolved|reassigned|escalated)")
FOUND_ACTION = {"acknowledged": "acknowledge", "resolved": "resolve", "reassigned": "reassign",
                "escalated": "escalate"}
# A write reported failed whose echo came after all: the correction of an outcome already told.
LANDED_LATE = "(PagerDuty confirmed it after the bridge had reported a failure)"
# People without Slack appear by name, escaped like all text from PagerDuty.
NAME_TO_PD = {escape(h.name): h.pd_id for h in BY_PD_ID.values()}
MENTION = re.compile(r"<@([^>|]*)(\|[^>]*)?>")
LINK = re.compile(r"<(https?://[^>|]*)(\|[^>]*)?>")
BROADCAST = re.compile(r"<!(channel|here|everyone)\b[^>]*>|<!subteam\^")
NONCE = re.compile(r"\[t\d+\]")


def _who(text: str) -> str | None:
    """The PagerDuty user a rendered name stands for (None: automation)."""
    mention = MENTION.fullmatch(text)
    if mention:
        human = BY_SLACK_ID.get(mention.group(1))
        return human.pd_id if human else f"?{text}"
    return NAME_TO_PD.get(text)


def timeline(replies: list[str]) -> tuple[Counter[tuple[str, str]], Counter[tuple[str, str | None]]]:
    """Thread replies read back as (kind, clicker's Slack id) from Slack and (kind, PagerDuty user) outside."""
    bridge: Counter[tuple[str, str]] = Counter()
    outside: Counter[tuple[str, str | None]] = Counter()
    # Replies that waited together arrive as one, one timeline line each.
    for text in (line for reply in replies for line in reply.split("\n")):
        for pattern, kind in FROM_SLACK:
            if match := pattern.match(text):
                bridge[kind, match.group(1)] += 1
                break
        else:
            for pattern, kind in IN_PAGERDUTY:
                if match := pattern.match(text):
                    outside[kind, _who(match.group(1))] += 1
                    break
    return bridge, outside


def ledger_counts(wf: SimWorkflow) -> tuple[Counter[tuple[str, str]], Counter[tuple[str, str | None]]]:
    bridge: Counter[tuple[str, str]] = Counter()
    outside: Counter[tuple[str, str | None]] = Counter()
    for change in wf.pd.ledger:
        if change.command_id is not None:
            human = BY_PD_ID[str(change.agent)]
            bridge[change.kind, str(human.slack_id)] += 1
        else:
            outside[change.kind, change.agent] += 1
    return bridge, outside


# ---- invariants ------------------------------------------------------------------------------------------


def attributed(wf: SimWorkflow, final: bool) -> None:
    shown_bridge, shown_outside = timeline(wf.slack.channel.replies)
    either = _either(wf.slack.channel.replies)
    made_bridge, made_outside = ledger_counts(wf)
    for key, count in shown_outside.items():
        assert count <= made_outside[key], (
            f"attributed: {key} shown {count}x as made in PagerDuty, but made there {made_outside[key]}x "
            f"(through the bridge {made_bridge[key[0], _slack_of(key[1])]}x)")
    for key, count in shown_bridge.items():
        assert count <= made_bridge[key], f"attributed: {key} shown {count}x from Slack, made {made_bridge[key]}x"
    for (kind, slack_user), count in either.items():
        pd_id = BY_SLACK_ID[slack_user].pd_id
        shown = count + shown_bridge[kind, slack_user] + shown_outside[kind, pd_id]
        made = made_bridge[kind, slack_user] + made_outside[kind, pd_id]
        assert shown <= made, f"attributed: {(kind, slack_user)} shown {shown}x in all, made {made}x"
    if final:
        for key, count in made_bridge.items():
            assert shown_bridge[key] <= count <= shown_bridge[key] + either[key], (
                f"attributed: {key} made {count}x through the bridge, shown {shown_bridge[key]}x from Slack "
                f"and {either[key]}x from Slack or in PagerDuty")


def _either(replies: list[str]) -> Counter[tuple[str, str]]:
    """Lines that say a change was made from Slack or in PagerDuty, by (kind, Slack id)."""
    found: Counter[tuple[str, str]] = Counter()
    for text in (line for reply in replies for line in reply.split("\n")):
        for pattern, kind in EITHER:
            if match := pattern.match(text):
                found[kind, match.group(1)] += 1
    return found


def _slack_of(pd_id: str | None) -> str:
    human = BY_PD_ID.get(pd_id or "")
    return str(human.slack_id) if human else ""


def once(wf: SimWorkflow) -> None:
    per_command = Counter(c.command_id for c in wf.pd.ledger if c.command_id and c.kind != "incident.annotated")
    twice = {k: v for k, v in per_command.items() if v > 1}
    assert not twice, f"once: commands changed PagerDuty more than once: {twice}"
    # A person's notes of the same text are alike in PagerDuty (a retry may take any of them for its own): never
    # more of them from the bridge than clicks that asked for one.
    notes = Counter((_slack_of(c.agent), c.note or "") for c in wf.pd.ledger
                    if c.command_id and c.kind == "incident.annotated")
    asked = Counter((k.slack_user, k.note) for k in wf.clicks.values() if k.action == "note")
    more = {key: count for key, count in notes.items() if count > asked[key]}
    assert not more, f"once: more notes written than clicked: {more} (clicked {dict(asked)})"


def literal(wf: SimWorkflow, typed: dict[str, str]) -> None:
    for text in wf.slack.all_text():
        assert not BROADCAST.search(text), f"literal: a broadcast mention reached Slack: {text!r}"
        for mention in MENTION.finditer(text):
            assert mention.group(1) in SLACK_IDS and not mention.group(2), f"literal: odd mention in {text!r}"
        for link in LINK.finditer(text):
            assert link.group(0) == f"<{HTML_URL}|Open in PagerDuty>", f"literal: a typed link in {text!r}"
        for nonce in NONCE.findall(text):
            raw = typed.get(nonce)
            assert raw is None or _escaped(raw) in text, f"literal: typed {raw!r} not shown literally: {text!r}"


def _escaped(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def total(wf: SimWorkflow) -> None:
    state = wf.state
    sizes = {"seen_event_ids": len(state.seen_event_ids), "seen_action_keys": len(state.seen_action_keys),
             "commands": len(state.commands), "replies": len(state.replies), "audit": len(state.audit)}
    assert max(sizes.values()) <= 600, f"total: state grows without bound: {sizes}"


def answered(wf: SimWorkflow) -> None:
    """Every click: exactly one visible outcome (done in the thread, or told why not / why it failed)."""
    expected: Counter[tuple[str, str]] = Counter((c.slack_user, c.action) for c in wf.clicks.values())
    shown: Counter[tuple[str, str]] = Counter((t.slack_user, str(t.action)) for t in wf.slack.channel.told)
    lines = [line for reply in wf.slack.channel.replies for line in reply.split("\n")]
    told_now = [line for line in lines if LANDED_LATE not in line]
    done, _ = timeline(told_now)
    for (kind, slack_user), count in (done + _either(told_now)).items():
        shown[slack_user, ACTION_OF[kind]] += count
    for line in lines:
        if found := FOUND_DONE.match(line):
            shown[found.group(1), FOUND_ACTION[found.group(2)]] += 1
    for key in expected.keys() | shown.keys():
        assert shown[key] == expected[key], (
            f"answered: {key} clicked {expected[key]}x, visible outcomes {shown[key]}x "
            f"(commands: {[(c.id, c.phase.value) for c in wf.state.commands if c.slack_user == key[0]]})")


def converges(wf: SimWorkflow) -> None:
    ts = wf.slack.channel.latest_ts
    if ts is None:
        return
    view, pd = wf.slack.channel.views[ts], wf.pd
    shown = (view.status.value, sorted(a.id for a in view.assignees), view.priority)
    truth = (pd.status.value, sorted(pd.assignees), pd.priority)
    assert shown == truth, f"converges: message shows {shown}, PagerDuty has {truth}"
    _direct_messages_converge(wf)


def _direct_messages_converge(wf: SimWorkflow) -> None:
    """Each direct message shows what the channel does, and whether its reader is still assigned."""
    pd, shown_in = wf.pd, wf.slack.channel.dm_ts
    for dm in wf.state.dms:
        assert dm.phase != "opening", f"converges: {dm.pd_user}'s direct message is still being opened"
        assert dm.phase != "open" or shown_in.get(str(dm.channel)), (
            f"converges: {dm.pd_user}'s direct message is open but was never posted")
    for channel, ts in shown_in.items():
        view, human = wf.slack.channel.views[ts], reader(channel)
        assert human is not None, f"converges: an incident message in {channel}, nobody's direct message"
        shown = (view.status.value, sorted(a.id for a in view.assignees), view.priority, view.assigned_to_reader)
        truth = (pd.status.value, sorted(pd.assignees), pd.priority, human.pd_id in pd.assignees)
        assert shown == truth, f"converges: {human.name}'s direct message shows {shown}, PagerDuty has {truth}"


def trigger_shown(wf: SimWorkflow) -> None:
    if wf.triggers_delivered:
        assert wf.slack.channel.latest_ts is not None, "trigger_shown: a trigger was delivered, no message posted"
