"""A channel made for an incident that already has a history starts with it: the new channel's thread opens
with the timeline so far (the acknowledgement, the notes), as the service channel's thread showed it."""

from __future__ import annotations

from ops.sandbox import Sandbox
from tests.e2e.conftest import first_root, reply_texts, until

CHANNEL = "C0PAYMENTS"


async def test_a_new_incident_channel_starts_with_the_timeline_so_far(sandbox: Sandbox) -> None:
    incident = sandbox.pd.trigger("PSVC001", "Card payments failing")
    message = await until(lambda: first_root(sandbox, CHANNEL), what="root message")
    status, body = await sandbox.slack.click(CHANNEL, message.ts, "pd_acknowledge", "U0ALICE")
    assert status == 200, body
    await until(lambda: len(reply_texts(message)) >= 1, what="the acknowledgement in the thread")
    sandbox.pd.add_note(incident, "PUBOB01", "Cache hit rate fell <b>sharply</b>")
    await until(lambda: len(reply_texts(message)) >= 2, what="the note in the thread")
    before = reply_texts(message)

    status, body = await sandbox.slack.click(CHANNEL, message.ts, "pd_create_channel", "U0ALICE")
    assert status == 200, body
    channel = await until(lambda: next(iter(sandbox.slack.created_channels()), None), what="the new channel")
    inside = await until(lambda: first_root(sandbox, channel.id), what="the incident message in the new channel")
    thread = await until(lambda: reply_texts(inside) if len(reply_texts(inside)) >= 3 else None,
                         what="the timeline in the new channel's thread")

    assert before == [":heavy_check_mark: Acknowledged by <@U0ALICE> from Slack",
                      ":memo: Note by <@U0BOB> in PagerDuty: Cache hit rate fell &lt;b&gt;sharply&lt;/b&gt;"]
    assert thread == [f":clipboard: The timeline so far in <#{CHANNEL}>:", *before]
    # The service channel's thread is not repeated back to itself: only the link to the new channel follows.
    await until(lambda: len(reply_texts(message)) >= 3, what="the link in the service thread")
    assert reply_texts(message)[2:] == [
        f":hash: The incident now has its own channel, <#{channel.id}>, opened by <@U0ALICE>; its timeline "
        "continues there"]
