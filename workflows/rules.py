"""Which of the reducer's rules a workflow run follows.

A rule added after a release changes what the reducer does with an event; a run that release started must replay
as it was recorded, so each rule is its own patch, asked in `workflows/incident.py` when the run starts (its order
kept there), and is False only for runs started before it. Tests and the simulation take the newest rules.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Rules:
    # A webhook names who made a change first learnt from a read (workflows/webhooks.py).
    name_synced: bool = True
    # Assignees get the incident in a direct message (workflows/direct.py); off unless the run took its patch.
    direct_messages: bool = False
    # Status update webhooks are shown; False for runs that met one before they were (the control says why).
    status_updates: bool = True
    # A read sent before newer details is read again when it disagrees (workflows/changes.py).
    careful_reads: bool = True
    # A repeated Create channel click is answered at once (workflows/dedicated.py).
    repeat_told: bool = True
    # A status webhook no newer than the newest snapshot, which showed another status, asks PagerDuty.
    snapshot_ties: bool = True
    # A held webhook older than the events forgotten in a storm is left untold (workflows/commands.py).
    floor_held: bool = True
    # A change joining a tie being asked about asks again (workflows/webhooks.py).
    tie_joined: bool = True
    # A click repeating an applied status change not yet shown is answered at once (workflows/commands.py).
    applied_told: bool = True
    # A resolved incident lingers while a read it asked for is still to succeed (workflows/reads.py).
    doubt_lingers: bool = True
    # A refused resend of a priority whose echo, with that priority, came by the clicker is in doubt, not failed.
    priority_doubt: bool = True
    # A status webhook agreeing with the message in the last change's millisecond makes a read sent before it
    # that disagrees, in the same second, ask again (workflows/webhooks.py).
    agree_marks: bool = True
    # A status webhook no newer than the webhooks seen before a read that gave another status was sent asks
    # PagerDuty which holds (workflows/webhooks.py).
    read_floor: bool = True
    # A webhook's snapshot that may predate the last read but agrees with it still dates what is shown (its time
    # and status), so a status change no newer than it that shows another status asks (workflows/changes.py).
    snapshot_dated: bool = True


LATEST = Rules()

# Each rule's patch, in the order a run asks them (never reorder: runs started before replay them in this order).
PATCHES = {
    "name_synced": "webhook-names-synced-status",
    "direct_messages": "direct-messages",
    "careful_reads": "stale-read-details",
    "repeat_told": "repeat-create-click-told",
    "snapshot_ties": "status-older-than-snapshot-asks",
    "floor_held": "forgotten-held-echo-untold",
    "tie_joined": "tie-joined-asks-again",
    "applied_told": "repeat-of-applied-told",
    "doubt_lingers": "tied-resolve-lingers",
    "priority_doubt": "refused-priority-resend-in-doubt",
    "agree_marks": "agreeing-webhook-marks-reads",
    "read_floor": "webhook-older-than-read-asks",
    "snapshot_dated": "agreeing-snapshot-dates-details",
}
