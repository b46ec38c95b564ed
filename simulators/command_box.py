"""A slash-command box for the simulated channel page: type `/pd …` as the person the page acts as.

Self-contained (its own markup and script) so the page only has to include `render(channel_id)`; it posts
to `/_sim/command`, and the answers appear with the page's other private messages."""

from __future__ import annotations

import html

_SCRIPT = r"""
(() => {
  const form = document.getElementById("sim-command");
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const input = form.querySelector("input"), status = form.querySelector("span");
    const typed = input.value.trim();
    if (!typed.startsWith("/")) { status.textContent = "start with a command, e.g. /pd help"; return; }
    const [command, ...rest] = typed.split(" ");
    const who = document.getElementById("actor");
    const body = {channel: form.dataset.channel, user_id: who ? who.value : "", command, text: rest.join(" ")};
    status.textContent = "sending…";
    const r = await fetch("/_sim/command", {method: "POST", headers: {"Content-Type": "application/json"},
                                            body: JSON.stringify(body)});
    const answer = await r.json();
    // As in Slack, a command the app answers shows only the answer; a failure says so.
    const failed = !r.ok ? answer.error : answer.status >= 400 ? `HTTP ${answer.status}` : "";
    status.textContent = failed ? `/pd failed with the error "${failed}"` : "";
    if (r.ok) input.value = "";
  });
})();
"""


def render(channel_id: str) -> str:
    channel = html.escape(channel_id, quote=True)
    script = _SCRIPT.replace("</", "<\\/")
    return (
        f"<form id='sim-command' data-channel='{channel}' style='max-width:860px;margin:8px auto;padding:0 12px'>"
        "<input name='text' placeholder='/pd help' autocomplete='off' style='width:70%'> "
        "<button type='submit'>Send</button> <span class='meta'></span></form>"
        f"<script>{script}</script>"
    )
