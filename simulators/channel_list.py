"""The simulated workspace's channel list: the channel page's sidebar and the index page.

Both show every channel, those the bridge creates at run time included: a private one with a lock, an archived
one marked "archived". The server renders the first list and the page's script re-renders it from each poll,
with the same markup, so a channel created while the page is open appears without a reload. The script part
expects `esc` (HTML escaping) from the page's script.
"""

from __future__ import annotations

import html
from typing import Any

ARCHIVED = "archived"
LOCK = "\U0001f512"

SCRIPT = r"""
function channelLabel(c) {
  const mark = c.is_im ? "@" : c.is_private ? "__LOCK__" : "#";
  return `${mark} ${esc(String(c.name).replace(/^@/, ""))}` +
    (c.is_archived ? ' <span class="archived">__ARCHIVED__</span>' : "");
}
function channelLinks(channels, current) {
  return channels.map((c) => `<a class="${c.id === current ? "here" : ""}" ` +
    `href="/channels/${esc(encodeURIComponent(c.id))}">${channelLabel(c)}</a>`).join("");
}
function indexItems(channels) {
  return channels.map((c) => `<li><a href="/channels/${esc(encodeURIComponent(c.id))}">${channelLabel(c)}</a>` +
    (c.is_member ? "" : " (bot not a member)") + "</li>").join("");
}
""".replace("__LOCK__", LOCK).replace("__ARCHIVED__", ARCHIVED)

_INDEX_SCRIPT = r"""
const esc = (s) => String(s ?? "").replace(/[&<>"']/g, (c) =>
  ({"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;"}[c]));
__LIST__
let lastChannels = "";
async function refreshChannels() {
  try {
    const r = await fetch("/_sim/channels");
    if (!r.ok) return;
    const items = indexItems((await r.json()).channels);
    if (items !== lastChannels) { lastChannels = items; document.getElementById("channels").innerHTML = items; }
  } catch (e) { /* the simulator is gone: keep the last list */ }
}
setInterval(refreshChannels, 1000);
const groupItems = (groups) => groups.map((g) => `<li>@${esc(g.handle)}: ${esc(g.members.join(", ") || "nobody")}</li>`)
  .join("");
let lastGroups = "";
async function refreshGroups() {
  try {
    const r = await fetch("/_sim/usergroups");
    if (!r.ok) return;
    const items = groupItems((await r.json()).usergroups);
    if (items !== lastGroups) { lastGroups = items; document.getElementById("usergroups").innerHTML = items; }
  } catch (e) { /* the simulator is gone: keep the last list */ }
}
setInterval(refreshGroups, 1000);
""".replace("__LIST__", SCRIPT)


def label(channel: dict[str, Any]) -> str:
    """What the script's `channelLabel` renders, as HTML."""
    mark = "@" if channel.get("is_im") else LOCK if channel.get("is_private") else "#"
    text = f"{mark} {html.escape(str(channel['name']).removeprefix('@'))}"
    return text + (f' <span class="archived">{ARCHIVED}</span>' if channel.get("is_archived") else "")


def _href(channel: dict[str, Any]) -> str:
    return "/channels/" + html.escape(str(channel["id"]))


def sidebar_links(channels: list[dict[str, Any]], current: str) -> str:
    return "".join(
        f'<a class="{"here" if c["id"] == current else ""}" href="{_href(c)}">{label(c)}</a>' for c in channels
    )


def index_body(channels: list[dict[str, Any]], usergroups: list[dict[str, Any]] | None = None) -> str:
    """The index's lists of channels and user groups (with who is in them: the on-call groups the bridge keeps
    in step with PagerDuty change here at each shift), refreshed every second while open, and its script."""
    items = "".join(
        f'<li><a href="{_href(c)}">{label(c)}</a>{"" if c.get("is_member") else " (bot not a member)"}</li>'
        for c in channels
    )
    groups = "".join(f"<li>@{html.escape(g['handle'])}: {html.escape(', '.join(g['members']) or 'nobody')}</li>"
                     for g in usergroups or [])
    script = _INDEX_SCRIPT.replace("</", "<\\/")
    return (f"<h3>Channels</h3><ul id='channels'>{items}</ul><h3>User groups</h3><ul id='usergroups'>{groups}</ul>"
            f"<script>{script}</script>")
