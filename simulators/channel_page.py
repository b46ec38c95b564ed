"""HTML for the simulated Slack channel (sandbox demo): no external assets, a little inline JS.

The server renders the shell and embeds the first state; the script then polls `/_sim/state/<channel>`
every second and re-renders only when something changed, so an open <select> or a half-typed modal
field is not wiped by the refresh.
"""

from __future__ import annotations

import html
import json
from typing import Any

from simulators import channel_list, command_box
from simulators._modal_js import SCRIPT as modal_script
from simulators._mrkdwn_js import script as mrkdwn_script

_STYLE = """
body{font:14px/1.4 system-ui,sans-serif;margin:0;background:#f8f8f8;color:#1d1c1d}
header{background:#3f0e40;color:#fff;padding:10px 16px;display:flex;gap:16px;align-items:center}
header a{color:#fff}header h1{font-size:18px;margin:0;flex:1}
main{max-width:860px;margin:16px auto;padding:0 12px}
.msg{background:#fff;border:1px solid #ddd;border-radius:6px;padding:10px 12px;margin:10px 0}
.meta{color:#616061;font-size:12px}.edited{color:#999;font-size:11px}
.thread{margin:8px 0 0 18px;border-left:3px solid #ddd;padding-left:10px}
.thread .msg{margin:6px 0}
a.replies{display:block;font-size:12px;color:#1264a3;margin-top:4px}.eph{border-style:dashed;background:#fffbea}
h3{margin:4px 0;font-size:16px}.ctx{color:#616061;font-size:12px}.fields{display:flex;gap:16px;flex-wrap:wrap}
button{margin:4px 6px 4px 0;padding:4px 10px;border:1px solid #bbb;border-radius:4px;background:#fff;cursor:pointer}
button.primary{background:#007a5a;color:#fff;border-color:#007a5a}
button.danger{background:#e01e5a;color:#fff;border-color:#e01e5a}
#modal{position:fixed;inset:0;background:rgba(0,0,0,.4);display:none;align-items:center;justify-content:center}
#modal .box{background:#fff;border-radius:8px;padding:16px;min-width:420px;max-width:600px}
.modal-buttons{text-align:right}
#modal label{display:block;margin-top:10px;font-weight:600}#modal textarea,#modal input{width:100%}
.err{color:#e01e5a;font-size:12px}
code{background:#f4f4f4;border:1px solid #ddd;border-radius:3px;padding:0 3px;color:#c01343;font-size:12px}
pre{background:#f8f8f8;border:1px solid #ddd;border-radius:4px;padding:8px;white-space:pre-wrap;margin:4px 0}
.mention{background:#e8f5fa;color:#1264a3;border-radius:3px;padding:0 2px}.special{background:#fef3d2;color:#7a5b00}
.app{background:#ddd;border-radius:2px;font-size:10px;padding:0 3px}.layout{display:flex}
nav{width:200px;background:#3f0e40;color:#cfc3cf;min-height:calc(100vh - 44px);padding:12px 0}
nav a{display:block;color:#cfc3cf;padding:3px 16px;text-decoration:none}nav a.here{background:#1164a3;color:#fff}
nav h4{margin:0 16px 6px;color:#fff;font-size:13px}.archived{font-size:11px;color:#999;font-style:italic}
#status{position:fixed;bottom:8px;right:12px;color:#616061;font-size:12px}
"""

_SCRIPT = r"""
const CHANNEL = __CHANNEL__;
let state = __STATE__;
let actor = localStorage.getItem("sim-actor") || __ACTOR__;
let lastMessages = "", lastChannels = "";
const openThreads = new Set();
const $ = (id) => document.getElementById(id);
const esc = (s) => String(s ?? "").replace(/[&<>"']/g, (c) =>
  ({"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;"}[c]));
function userName(id) { const u = state.users.find((x) => x.id === id); return u ? u.name : id; }
function channelName(id) { const c = (state.channels || []).find((x) => x.id === id); return c ? c.name : id; }
__MRKDWN__
__CHANNELS__
__MODAL__
const txt = (t) => (t ? (t.type === "plain_text" ? plain(t.text) : mrkdwn(t.text)) : "");
function when(ts) {
  // The time of posting in the reader's own time zone, as Slack shows it.
  const d = new Date(Number(String(ts).split(".")[0]) * 1000);
  if (isNaN(d)) return esc(ts);
  const two = (n) => String(n).padStart(2, "0");
  return `<time class="when" datetime="${d.toISOString()}">${two(d.getHours())}:${two(d.getMinutes())}</time>`;
}
function control(el, ts, attrs) {
  const data = attrs || `data-ts="${esc(ts)}" data-action="${esc(el.action_id)}" data-kind="${esc(el.type)}"`;
  if (el.type === "button")
    return `<button class="${esc(el.style || "")}" ${data}>${plain(el.text ? el.text.text : "")}</button>`;
  let opts = "";
  // What the element preselects (`initial_option`, `initial_user`) is shown chosen, as in Slack.
  const chosen = el.initial_option ? el.initial_option.value : el.initial_user;
  const sel = (value) => (value === chosen ? " selected" : "");
  if (el.type === "users_select")
    opts = state.users.map((u) => `<option value="${esc(u.id)}"${sel(u.id)}>@${esc(u.name)}</option>`).join("");
  else if (el.type === "external_select") opts = el.initial_option
    ? `<option value="${esc(el.initial_option.value)}" selected>${esc(el.initial_option.text.text)}</option>` : "";
  else opts = (el.options || []).concat(...(el.option_groups || []).map((g) => g.options))
    .map((o) => `<option value="${esc(o.value)}"${sel(o.value)}>${esc(o.text && o.text.text)}</option>`).join("");
  const ph = el.placeholder ? el.placeholder.text : "choose…";
  return `<select ${data}><option value="">${esc(ph)}</option>${opts}</select>`;
}
function blocks(list, ts) {
  return (list || []).map((b) => {
    if (b.type === "header") return `<h3>${txt(b.text)}</h3>`;
    if (b.type === "divider") return "<hr>";
    if (b.type === "context") {
      const parts = b.elements.map((e) => (e.type === "image" ? esc(e.alt_text) : txt(e)));
      return `<div class="ctx">${parts.join(" · ")}</div>`;
    }
    if (b.type === "actions") return `<div>${b.elements.map((e) => control(e, ts)).join("")}</div>`;
    if (b.type === "image") return `<div class="ctx">[image: ${esc(b.alt_text)}]</div>`;
    if (b.type === "section") {
      const cells = (b.fields || []).map((f) => `<div>${txt(f)}</div>`).join("");
      const fields = cells ? `<div class="fields">${cells}</div>` : "";
      const accessory = b.accessory && b.accessory.action_id ? control(b.accessory, ts) : "";
      return `<div>${txt(b.text)}${fields}${accessory}</div>`;
    }
    return `<div class="ctx">[${esc(b.type)} block]</div>`;
  }).join("");
}
function message(m, cls) {
  const body = m.blocks && m.blocks.length ? blocks(m.blocks, m.ts) : mrkdwn(m.text);
  const edited = m.update_count ? ' <span class="edited">(edited)</span>' : "";
  const count = (m.replies || []).length;
  // A thread is folded under its message, as in Slack: "N replies" opens it, "Hide replies" folds it.
  let thread = "";
  if (count && openThreads.has(m.ts)) thread = `<div class="thread">${m.replies.map((r) => message(r, "")).join("")}` +
    `<a href="#" class="replies" data-thread="${esc(m.ts)}">Hide replies</a></div>`;
  else if (count) thread = `<a href="#" class="replies" data-thread="${esc(m.ts)}">` +
    `${count} ${count === 1 ? "reply" : "replies"}</a>`;
  return `<div class="msg ${cls}"><div class="meta"><b>pd-bridge</b> <span class="app">APP</span> ` +
    `${when(m.ts)}${edited}</div>${body}${thread}</div>`;
}
function forceRender() { lastMessages = ""; render(); }
function renderChannels() {
  const key = JSON.stringify(state.channels);
  if (key === lastChannels) return;
  lastChannels = key;
  $("channels").innerHTML = channelLinks(state.channels, CHANNEL);
}
function render() {
  renderChannels();
  const key = JSON.stringify([state.messages, state.ephemerals, state.users.length, state.channels]);
  if (key !== lastMessages) {
    lastMessages = key;
    $("messages").innerHTML = state.messages.map((m) => message(m, "")).join("") ||
      "<p class='meta'>No messages yet.</p>";
    $("ephemerals").innerHTML = state.ephemerals.map((e) =>
      `<div class="msg eph"><div class="meta"><b>pd-bridge</b> · Only visible to you · ${when(e.ts)}</div>` +
      `${e.blocks && e.blocks.length ? blocks(e.blocks, e.ts) : mrkdwn(e.text)}</div>`).join("");
  }
  renderModal();
}
async function post(url, body) {
  const headers = {"Content-Type": "application/json"};
  const r = await fetch(url, {method: "POST", headers, body: JSON.stringify(body)});
  const data = await r.json().catch(() => ({}));
  // Slack shows nothing when the app answers; only a failure, in its own words.
  const failed = !r.ok ? (data.error || `HTTP ${r.status}`) : data.status >= 400 ? `HTTP ${data.status}` : "";
  $("status").textContent = failed ? `⚠️ pd-bridge did not respond (${failed}). Try again.` : "";
  setTimeout(poll, 150);
}
document.addEventListener("click", (ev) => {
  const fold = ev.target.closest("a[data-thread]");
  if (fold) {
    ev.preventDefault();
    const ts = fold.dataset.thread;
    if (openThreads.has(ts)) openThreads.delete(ts); else openThreads.add(ts);
    forceRender();
    return;
  }
  const el = ev.target.closest("button[data-action]");
  if (!el || el.closest("#modal")) return;
  post("/_sim/click", {channel: CHANNEL, ts: el.dataset.ts, action_id: el.dataset.action, user_id: actor});
});
document.addEventListener("change", (ev) => {
  const el = ev.target;
  if (el.id === "actor") { actor = el.value; localStorage.setItem("sim-actor", actor); lastModal = ""; poll(); return; }
  if (!el.matches("select[data-action]") || el.closest("#modal") || !el.value) return;
  const body = {channel: CHANNEL, ts: el.dataset.ts, action_id: el.dataset.action, user_id: actor};
  if (el.dataset.kind === "users_select") body.selected_user = el.value; else body.selected_option = el.value;
  post("/_sim/click", body);
});
async function poll() {
  try {
    const r = await fetch(`/_sim/state/${encodeURIComponent(CHANNEL)}?user=${encodeURIComponent(actor)}`);
    if (r.ok) { state = await r.json(); render(); }
  } catch (e) { $("status").textContent = "simulator unreachable"; }
}
$("actor").value = actor;
// A modal open before this page loaded is gone, as a reload drops it in Slack's client.
if (state.view) closeModal();
render();
poll();
setInterval(poll, 1000);
"""


def _script_json(value: Any) -> str:
    # "</" inside an inline script would end it early; escaping the slash keeps the JSON identical.
    return json.dumps(value).replace("</", "<\\/")


def render_index(channels: list[dict[str, Any]], usergroups: list[dict[str, Any]] | None = None) -> str:
    return (
        f"<!doctype html><html><head><meta charset='utf-8'><title>Slack simulator</title>"
        f"<style>{_STYLE}</style></head><body><header><h1>Slack simulator</h1></header>"
        f"<main>{channel_list.index_body(channels, usergroups)}</main></body></html>"
    )


def render_channel(state: dict[str, Any], actor: str) -> str:
    channel = state["channel"]
    options = "".join(
        f'<option value="{html.escape(u["id"])}">{html.escape(u["real_name"])} (@{html.escape(u["name"])})</option>'
        for u in state["users"]
    )
    script = (
        _SCRIPT.replace("__MRKDWN__", mrkdwn_script())
        .replace("__CHANNELS__", channel_list.SCRIPT)
        .replace("__MODAL__", modal_script)
        .replace("__CHANNEL__", _script_json(channel["id"]))
        .replace("__STATE__", _script_json(state))
        .replace("__ACTOR__", _script_json(actor))
    )
    title = html.escape(channel["name"])
    return (
        f"<!doctype html><html><head><meta charset='utf-8'><title>#{title} · Slack simulator</title>"
        f"<style>{_STYLE}</style></head><body><header><a href='/'>channels</a><h1>#{title}</h1>"
        f"<label>Acting as <select id='actor'>{options}</select></label></header>"
        f"<div class='layout'><nav><h4>Channels</h4><div id='channels'>"
        f"{channel_list.sidebar_links(state.get('channels', []), channel['id'])}</div></nav>"
        f"<main><div id='messages'></div><div id='ephemerals'></div>"
        f"{command_box.render(str(state['channel']['id']))}</main></div>"
        f"<div id='modal'></div><div id='status'></div><script>{script}</script></body></html>"
    )
