"""The channel page's modal, as Slack draws one: title, inputs with their preselected values, the submit
button and the close button the view names ("Cancel"). Closing it (the button, Escape, a reload of the
page, as Slack's client drops an open modal) tells the simulator, which tells the app when the view asks
for it. Expects `$`, `esc`, `plain`, `blocks`, `control`, `state`, `actor`, `post` and `poll` from the
page's script.
"""

from __future__ import annotations

SCRIPT = r"""
let lastModal = "";
function renderModal() {
  const key = JSON.stringify(state.view);
  if (key === lastModal) return;
  lastModal = key;
  const v = state.view;
  if (!v) { $("modal").style.display = "none"; $("modal").innerHTML = ""; return; }
  const fields = (v.view.blocks || []).map((b) => {
    const err = v.errors && v.errors[b.block_id] ? `<div class="err">${esc(v.errors[b.block_id])}</div>` : "";
    if (b.type !== "input") return blocks([b], "");
    const el = b.element || {};
    const data = `data-block="${esc(b.block_id)}" data-action="${esc(el.action_id)}" data-kind="${esc(el.type)}"`;
    let input;
    if (el.type === "plain_text_input") input = el.multiline
      ? `<textarea rows="4" ${data}>${esc(el.initial_value || "")}</textarea>`
      : `<input ${data} value="${esc(el.initial_value || "")}">`;
    else input = (el.type === "external_select"
      ? `<input data-suggest="${esc(el.action_id)}" placeholder="Type to search…">` : "") + control(el, "", data);
    return `<label>${plain(b.label ? b.label.text : "")}</label>${input}${err}`;
  }).join("");
  const title = v.view.title ? v.view.title.text : "Modal";
  const submit = v.view.submit ? v.view.submit.text : "Submit";
  const close = v.view.close ? v.view.close.text : "Cancel";
  $("modal").innerHTML = `<div class="box" role="dialog"><h3>${plain(title)}</h3><form id="modal-form">${fields}` +
    `<p class="modal-buttons"><button type="button" id="modal-close">${plain(close)}</button>` +
    `<button class="primary" type="submit">${plain(submit)}</button></p></form></div>`;
  $("modal").style.display = "flex";
  $("modal-form").addEventListener("submit", submitModal);
  $("modal-close").addEventListener("click", closeModal);
}
async function closeModal() {
  const v = state.view;
  if (!v) return;
  state.view = null;
  renderModal();
  await post("/_sim/close", {view_id: v.id, user_id: v.user || actor});
}
async function submitModal(ev) {
  ev.preventDefault();
  const values = {};
  ev.target.querySelectorAll("[data-block]").forEach((el) => {
    const v = {type: el.dataset.kind};
    if (el.dataset.kind === "plain_text_input") v.value = el.value;
    else if (el.dataset.kind === "users_select") v.selected_user = el.value || null;
    else v.selected_option = el.value ? {value: el.value} : null;
    (values[el.dataset.block] ||= {})[el.dataset.action] = v;
  });
  await post("/_sim/submit", {view_id: state.view.id, user_id: actor, values});
}
document.addEventListener("keydown", (ev) => { if (ev.key === "Escape" && state.view) closeModal(); });
document.addEventListener("input", async (ev) => {
  // Typing in an external_select: Slack asks the app's options load URL; so does the simulator.
  const el = ev.target;
  if (!el.matches("#modal input[data-suggest]")) return;
  const body = {view_id: state.view.id, user_id: actor, action_id: el.dataset.suggest, value: el.value};
  const r = await fetch("/_sim/suggest", {method: "POST", headers: {"Content-Type": "application/json"},
                                          body: JSON.stringify(body)});
  const found = r.ok ? (await r.json()).options || [] : [];
  const select = el.nextElementSibling;
  select.innerHTML = found.map((o) => `<option value="${esc(o.value)}">${esc(o.text && o.text.text)}</option>`)
    .join("") || `<option value="">No results</option>`;
});
"""
