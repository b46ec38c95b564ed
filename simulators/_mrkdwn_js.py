"""Slack's mrkdwn as the channel page shows it: a small parser in the page's script.

The text is parsed first (code, `<…>` sequences, entities), and every piece of it is escaped for HTML
only afterwards, so what a message says can never become markup in the page. Expects `esc` (HTML
escaping), `userName(id)` and `channelName(id)` from the page's script.
"""

from __future__ import annotations

import json

# The shortcodes the bridge writes, and a few common ones; any other stays as text, as Slack shows an
# unknown shortcode.
EMOJI = {
    "red_circle": "🔴", "large_yellow_circle": "🟡", "large_green_circle": "🟢", "eyes": "👀", "memo": "📝",
    "warning": "⚠️", "heavy_check_mark": "✔️", "white_check_mark": "✅", "arrow_double_up": "⏫",
    "busts_in_silhouette": "👥", "bust_in_silhouette": "👤", "hourglass_flowing_sand": "⏳",
    "information_source": "\u2139\ufe0f",
    "arrows_counterclockwise": "🔄", "rotating_light": "🚨", "label": "🏷️", "sos": "🆘",
    "speech_balloon": "💬", "twisted_rightwards_arrows": "🔀", "x": "❌", "fire": "🔥", "tada": "🎉",
    "bell": "🔔", "link": "🔗", "pager": "📟", "thumbsup": "👍", "white_circle": "⚪", "no_entry": "⛔",
    "hash": "#\ufe0f\u20e3", "clipboard": "📋", "zzz": "💤", "file_folder": "📁", "alarm_clock": "⏰", "mega": "📣",
}

SCRIPT = r"""
const EMOJI = __EMOJI__;
const SPECIAL = {channel: "@channel", here: "@here", everyone: "@everyone"};
const decode = (s) => s.replace(/&lt;/g, "<").replace(/&gt;/g, ">").replace(/&amp;/g, "&");
const emoji = (html) => html.replace(/:([a-z0-9_+\-]+):/g, (m, name) => EMOJI[name] || m);
function safeUrl(url) { return /^(https?:|mailto:)/i.test(url) ? url : "#"; }
function angle(inner, keep) {
  // One <…> sequence: a mention, a channel, a special mention, or a link (with or without a label).
  const bar = inner.indexOf("|");
  const target = bar < 0 ? inner : inner.slice(0, bar);
  const label = bar < 0 ? "" : decode(inner.slice(bar + 1));
  if (target[0] === "@") return keep(`<span class="mention">@${esc(label || userName(target.slice(1)))}</span>`);
  if (target[0] === "#") {
    // As Slack shows a channel: its name, a link to it.
    const id = target.slice(1), href = `/channels/${encodeURIComponent(id)}`;
    return keep(`<a class="mention" href="${esc(href)}">#${esc(label || channelName(id))}</a>`);
  }
  if (target.startsWith("!date^")) return keep(`<time>${esc(slackDate(target.slice(6), label))}</time>`);
  if (target[0] === "!") {
    const word = target.slice(1).split("^")[0];
    const shown = SPECIAL[word] || label || "@" + word;
    return keep(`<span class="mention special">${esc(shown)}</span>`);
  }
  const url = decode(target);
  return keep(`<a href="${esc(safeUrl(url))}" target="_blank" rel="noopener">${esc(label || url)}</a>`);
}
function slackDate(spec, fallback) {
  // <!date^EPOCH^FORMAT^LINK|fallback>: the moment in the reader's own time zone ({time} is HH:MM).
  const [epoch, format] = spec.split("^");
  const d = new Date(Number(epoch) * 1000);
  if (!format || isNaN(d)) return fallback;
  const two = (n) => String(n).padStart(2, "0");
  const time = `${two(d.getHours())}:${two(d.getMinutes())}`;
  const date = d.toLocaleDateString("en-US", {month: "long", day: "numeric", year: "numeric"});
  return format.replace(/\{time\}/g, time).replace(/\{time_secs\}/g, `${time}:${two(d.getSeconds())}`)
    .replace(/\{date_num\}/g, `${d.getFullYear()}-${two(d.getMonth() + 1)}-${two(d.getDate())}`)
    .replace(/\{date(_short|_long)?(_pretty)?\}/g, date);
}
function mrkdwn(text) {
  const kept = [];
  const keep = (html) => `\u0000${kept.push(html) - 1}\u0000`;
  let s = String(text ?? "").replace(/\u0000/g, "");
  s = s.replace(/```([\s\S]*?)```/g, (_, code) => keep(`<pre>${esc(decode(code.replace(/^\n/, "")))}</pre>`));
  s = s.replace(/`([^`\n]+)`/g, (_, code) => keep(`<code>${esc(decode(code))}</code>`));
  s = s.replace(/<([^<>\n]+)>/g, (_, inner) => angle(inner, keep));
  let html = emoji(esc(decode(s)));
  const edge = "(^|[\\s(\\u0000>])";
  const end = "(?=$|[\\s.,!?;:)\\u0000<])";
  for (const [mark, tag] of [["\\*", "b"], ["_", "i"], ["~", "s"]]) {
    const re = new RegExp(`${edge}${mark}(?=\\S)([^\\n]*?\\S)${mark}${end}`, "g");
    html = html.replace(re, (_, pre, body) => `${pre}<${tag}>${body}</${tag}>`);
  }
  html = html.replace(/\n/g, "<br>");
  return html.replace(/\u0000(\d+)\u0000/g, (_, n) => kept[Number(n)]);
}
function plain(text) { return emoji(esc(text)).replace(/\n/g, "<br>"); }
"""


def script() -> str:
    return SCRIPT.replace("__EMOJI__", json.dumps(EMOJI, ensure_ascii=False))
