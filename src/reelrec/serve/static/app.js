// reelrec explorer: plain DOM code, every value set through textContent (never parsed as HTML).
"use strict";

const $ = (sel) => document.querySelector(sel);
let model = null;
let knownUsers = [];

async function api(path, options) {
  const response = await fetch(path, options);
  const body = await response.json().catch(() => ({}));
  if (!response.ok) {
    const detail = Array.isArray(body.detail)
      ? body.detail.map((d) => `${(d.loc || []).join(".")}: ${d.msg}`).join("; ")
      : body.detail || response.statusText;
    throw new Error(`${response.status}: ${detail}`);
  }
  return body;
}

function fmt(value, digits = 3) {
  return typeof value === "number" ? value.toFixed(digits) : "–";
}

function tagsOf(features) {
  if (!features) return "";
  if (Array.isArray(features.tags)) return features.tags.join(", ");
  return Object.entries(features)
    .map(([k, v]) => `${k}=${Array.isArray(v) ? v.join("|") : v}`)
    .join(" ");
}

function fill(tbody, rows) {
  tbody.replaceChildren();
  for (const cells of rows) {
    const tr = document.createElement("tr");
    for (const cell of cells) {
      const td = document.createElement("td");
      td.textContent = cell.text;
      if (cell.num) td.className = "num";
      tr.append(td);
    }
    tbody.append(tr);
  }
}

function recRows(items) {
  return items.map((it, i) => [
    { text: String(i + 1), num: true },
    { text: String(it.item_id) },
    { text: tagsOf(it.features) },
    { text: fmt(it.prediction), num: true },
    { text: fmt(it.score, 4), num: true },
  ]);
}

function setStatus(el, text, isError) {
  el.textContent = text;
  el.classList.toggle("error", Boolean(isError));
}

async function showUser(userId) {
  const k = Math.max(1, Math.min(100, Number($("#k-input").value) || 10));
  const excl = $("#exclude-seen").checked;
  const id = encodeURIComponent(userId);
  setStatus($("#status"), `loading user ${userId}…`);
  try {
    const [hist, recs] = await Promise.all([
      api(`/v1/users/${id}/history?limit=20`),
      api(`/v1/users/${id}/recommendations?k=${k}&exclude_seen=${excl}&details=true`),
    ]);
    fill($("#history tbody"), hist.items.map((it) => [
      { text: String(it.item_id) },
      { text: tagsOf(it.features) },
      { text: fmt(it.label), num: true },
    ]));
    fill($("#recs tbody"), recRows(recs.items));
    setStatus($("#status"), `user ${recs.user_id}: ${hist.items.length} recent views, ${recs.items.length} recommendations`);
  } catch (err) {
    fill($("#history tbody"), []);
    fill($("#recs tbody"), []);
    setStatus($("#status"), err.message, true);
  }
}

function parseValue(text, kind) {
  const t = text.trim();
  if (t === "") return null;
  if (kind === "numeric") return Number(t);
  const one = (s) => (/^-?\d+$/.test(s) ? Number(s) : s);
  if (kind === "multi") return t.split(",").map((s) => s.trim()).filter((s) => s !== "").map(one);
  return one(t);
}

function buildColdForm() {
  const fields = $("#cold-fields");
  fields.replaceChildren();
  const kinds = model.user_features || {};
  if (!model.supports_cold_start || Object.keys(kinds).length === 0) {
    $("#cold-hint").textContent = `Model ${model.model} cannot recommend for new users from features.`;
    $("#cold-submit").disabled = true;
    return;
  }
  for (const [name, kind] of Object.entries(kinds)) {
    const label = document.createElement("label");
    label.textContent = kind === "multi" ? `${name} (comma-separated)` : name;
    const input = document.createElement("input");
    input.name = name;
    input.dataset.kind = kind;
    if (kind === "numeric") { input.type = "number"; input.step = "any"; }
    label.append(input);
    fields.append(label);
  }
}

async function coldStart(event) {
  event.preventDefault();
  const features = {};
  for (const input of document.querySelectorAll("#cold-fields input")) {
    const value = parseValue(input.value, input.dataset.kind);
    if (value !== null) features[input.name] = value;
  }
  const k = Math.max(1, Math.min(100, Number($("#k-input").value) || 10));
  setStatus($("#cold-status"), "ranking…");
  try {
    const recs = await api("/v1/recommendations", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ features, k, details: true }),
    });
    fill($("#cold-recs tbody"), recRows(recs.items));
    setStatus($("#cold-status"), `${recs.items.length} recommendations for a new user`);
  } catch (err) {
    fill($("#cold-recs tbody"), []);
    setStatus($("#cold-status"), err.message, true);
  }
}

async function init() {
  $("#user-form").addEventListener("submit", (e) => {
    e.preventDefault();
    const id = $("#user-input").value.trim();
    if (id) showUser(id);
  });
  $("#random-user").addEventListener("click", () => {
    if (!knownUsers.length) return;
    const id = String(knownUsers[Math.floor(Math.random() * knownUsers.length)]);
    $("#user-input").value = id;
    showUser(id);
  });
  $("#cold-form").addEventListener("submit", coldStart);
  try {
    model = await api("/v1/model");
    $("#model-info").textContent =
      `${model.model} · artifact ${model.artifact_id} · ${model.n_items} videos · ${model.n_users} users`;
    const label = model.label.replace(/_/g, " ");
    $("#label-head").textContent = label.charAt(0).toUpperCase() + label.slice(1);
    buildColdForm();
    const users = await api("/v1/users?limit=200");
    knownUsers = users.users;
    const list = $("#user-list");
    for (const u of knownUsers) {
      const opt = document.createElement("option");
      opt.value = String(u);
      list.append(opt);
    }
    document.body.dataset.ready = "true";
  } catch (err) {
    setStatus($("#status"), err.message, true);
  }
}

document.addEventListener("DOMContentLoaded", init);
