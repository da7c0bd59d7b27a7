// reelrec feed simulator: plain DOM code, every value set through textContent (never parsed as HTML).
// The session (what this user watched or skipped here) lives only in this page and is sent with every
// POST /v1/recommendations, so the next feed reflects it at once.
"use strict";

const $ = (sel) => document.querySelector(sel);
let model = null;
let knownUsers = [];
let who = null;          // {userId, features, eventsId}: the user the feed is for
let session = [];        // [{item_id, watch_ratio, skipped, timestamp, tag}], newest last
let eventsOn = false;    // POST /v1/events exists and takes events
let feedVersion = 0;

async function api(path, options) {
  const response = await fetch(path, options);
  const body = await response.json().catch(() => ({}));
  if (!response.ok) {
    const detail = Array.isArray(body.detail)
      ? body.detail.map((d) => `${(d.loc || []).join(".")}: ${d.msg}`).join("; ")
      : body.detail || response.statusText;
    const err = new Error(`${response.status}: ${detail}`);
    err.status = response.status;
    throw err;
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

// The video's first tag: the first value of its tags (or any other list column), else "".
function firstTag(features) {
  if (!features) return "";
  const lists = Object.entries(features).filter(([, v]) => Array.isArray(v) && v.length);
  const tags = lists.find(([k]) => k === "tags" || k === "genres") || lists[0];
  return tags ? String(tags[1][0]) : "";
}

function title(item) {
  const f = item.features || {};
  const name = f.title || f.caption || f.name;
  return name ? `${name} (${item.item_id})` : String(item.item_id);
}

function cell(text, cls) {
  const td = document.createElement("td");
  td.textContent = text;
  if (cls) td.className = cls;
  return td;
}

function fill(tbody, rows) {
  tbody.replaceChildren();
  for (const cells of rows) {
    const tr = document.createElement("tr");
    for (const c of cells) tr.append(cell(c.text, c.num ? "num" : ""));
    tbody.append(tr);
  }
}

function setStatus(el, text, isError) {
  el.textContent = text;
  el.classList.toggle("error", Boolean(isError));
}

function kValue() {
  return Math.max(1, Math.min(100, Number($("#k-input").value) || 10));
}

function reactionCell(item, tag) {
  const td = document.createElement("td");
  td.className = "react";
  const slider = document.createElement("input");
  Object.assign(slider, { type: "range", min: "0", max: "2", step: "0.05", value: "1", className: "ratio" });
  slider.setAttribute("aria-label", `watch ratio for ${item.item_id}`);
  const shown = document.createElement("output");
  shown.textContent = "1.00";
  slider.addEventListener("input", () => { shown.textContent = Number(slider.value).toFixed(2); });
  const watch = document.createElement("button");
  Object.assign(watch, { type: "button", className: "watch", textContent: "Watched" });
  watch.addEventListener("click", () => react(item, tag, Number(slider.value), false));
  const skip = document.createElement("button");
  Object.assign(skip, { type: "button", className: "skip secondary", textContent: "Skip" });
  skip.addEventListener("click", () => react(item, tag, 0, true));
  td.append(slider, shown, watch, skip);
  return td;
}

function renderFeed(items) {
  const tbody = $("#recs tbody");
  tbody.replaceChildren();
  const tagOf = new Map(session.map((v) => [String(v.item_id), v.tag]));
  items.forEach((it, i) => {
    const tag = firstTag(it.features);
    const tr = document.createElement("tr");
    tr.dataset.item = String(it.item_id);
    let why = "–";
    if (it.because !== null && it.because !== undefined) {
      const t = tagOf.get(String(it.because));
      why = `because you watched ${it.because}${t ? ` (${t})` : ""}`;
    }
    tr.append(
      cell(String(i + 1), "num"), cell(title(it)), cell(tag), cell(fmt(it.score, 4), "num"),
      cell(fmt(it.predicted_watch_ratio), "num"), cell(why, "why"), reactionCell(it, tag),
    );
    tbody.append(tr);
  });
}

function renderSession() {
  fill($("#session tbody"), session.slice().reverse().map((v) => [
    { text: String(v.item_id) },
    { text: v.tag },
    { text: v.skipped ? "skipped" : fmt(v.watch_ratio, 2), num: true },
  ]));
  $("#session-count").textContent = session.length ? `${session.length} reactions, newest first` : "nothing yet";
}

async function loadFeed() {
  if (!who) return;
  const body = {
    k: kValue(),
    details: true,
    exclude_seen: $("#exclude-seen").checked,
    history: session.map(({ item_id, watch_ratio, skipped, timestamp }) => ({ item_id, watch_ratio, skipped, timestamp })),
  };
  if (who.userId !== null) body.user_id = who.userId;
  if (who.features) body.features = who.features;
  const scoring = $("#scoring").value;
  if (scoring && model && scoring !== model.scorings[0]) body.scoring = scoring;
  setStatus($("#status"), "ranking…");
  try {
    const recs = await api("/v1/recommendations", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(body),
    });
    renderFeed(recs.items);
    const name = recs.user_id === null ? "a new user" : `user ${recs.user_id}`;
    $("#feed-who").textContent = `for ${name}`;
    setStatus($("#status"), `${recs.items.length} videos for ${name} after ${session.length} reactions`);
  } catch (err) {
    renderFeed([]);
    setStatus($("#status"), err.message, true);
  }
  feedVersion += 1;
  document.body.dataset.feed = String(feedVersion);
}

async function sendEvent(view) {
  if (!eventsOn) return;
  const event = {
    user_id: who.eventsId, item_id: view.item_id, watch_ratio: view.skipped ? 0 : view.watch_ratio,
    skipped: view.skipped, timestamp: view.timestamp,
  };
  try {
    await api("/v1/events", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ events: [event] }),
    });
    $("#events-status").textContent = "reactions are also stored as events (POST /v1/events)";
  } catch (err) {
    if (err.status === 404 || err.status === 409) eventsOn = false;  // no store: keep the session local
    $("#events-status").textContent = `event not stored: ${err.message}`;
  }
}

async function react(item, tag, ratio, skipped) {
  const view = { item_id: item.item_id, watch_ratio: skipped ? null : ratio, skipped, timestamp: Date.now() / 1000, tag };
  session.push(view);
  renderSession();
  await Promise.all([loadFeed(), sendEvent(view)]);
}

async function startKnown(userId) {
  const id = encodeURIComponent(userId);
  who = { userId, features: null, eventsId: userId };
  session = [];
  renderSession();
  try {
    const hist = await api(`/v1/users/${id}/history?limit=20`);
    who.userId = hist.user_id;
    who.eventsId = hist.user_id;
    fill($("#history tbody"), hist.items.map((it) => [
      { text: String(it.item_id) }, { text: tagsOf(it.features) }, { text: fmt(it.label), num: true },
    ]));
  } catch (err) {
    who = null;
    fill($("#history tbody"), []);
    renderFeed([]);
    setStatus($("#status"), err.message, true);
    return;
  }
  await loadFeed();
}

function parseValue(text, kind) {
  const t = text.trim();
  if (t === "") return null;
  if (kind === "numeric") return Number(t);
  const one = (s) => (/^-?\d+$/.test(s) ? Number(s) : s);
  if (kind === "multi") return t.split(",").map((s) => s.trim()).filter((s) => s !== "").map(one);
  return one(t);
}

async function startNew() {
  const features = {};
  for (const input of document.querySelectorAll("#cold-fields input")) {
    const value = parseValue(input.value, input.dataset.kind);
    if (value !== null) features[input.name] = value;
  }
  const coldOk = model.supports_cold_start && Object.keys(features).length > 0;
  const sid = `page-${Math.random().toString(36).slice(2, 10)}`;
  who = { userId: null, features: coldOk ? features : null, eventsId: sid };
  session = [];
  renderSession();
  fill($("#history tbody"), []);
  await loadFeed();
}

function buildColdForm() {
  const fields = $("#cold-fields");
  fields.replaceChildren();
  const kinds = model.user_features || {};
  if (!model.supports_cold_start || Object.keys(kinds).length === 0) {
    $("#cold-hint").textContent = `Model ${model.model} has no new-user features: a new user is served from the session alone.`;
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

async function detectLive() {
  let health = {};
  try { health = await api("/health"); } catch (err) { /* the page still works without it */ }
  if (typeof health.live_items === "number" && health.live_items > 0) {
    $("#live-info").textContent = `${health.live_items} new videos live`;
  }
  if (typeof health.events === "boolean") {
    eventsOn = health.events;
  } else {
    const probe = await fetch("/v1/events", { method: "OPTIONS" }).catch(() => null);
    eventsOn = Boolean(probe) && probe.status !== 404;
  }
  $("#events-status").textContent = eventsOn ? "reactions are also stored as events (POST /v1/events)"
    : "reactions stay in this page (the service stores no events)";
}

async function init() {
  $("#user-form").addEventListener("submit", (e) => {
    e.preventDefault();
    const id = $("#user-input").value.trim();
    if (id) startKnown(id);
    else setStatus($("#status"), "enter a user id, or press New user", true);
  });
  $("#random-user").addEventListener("click", () => {
    if (!knownUsers.length) return;
    const id = String(knownUsers[Math.floor(Math.random() * knownUsers.length)]);
    $("#user-input").value = id;
    startKnown(id);
  });
  $("#new-user").addEventListener("click", startNew);
  $("#reset-session").addEventListener("click", () => { session = []; renderSession(); loadFeed(); });
  $("#scoring").addEventListener("change", loadFeed);
  renderSession();
  try {
    model = await api("/v1/model");
    $("#model-info").textContent =
      `${model.model} · artifact ${model.artifact_id} · ${model.n_items} videos · ${model.n_users} users`;
    const label = model.label.replace(/_/g, " ");
    $("#label-head").textContent = label.charAt(0).toUpperCase() + label.slice(1);
    for (const rule of model.scorings || []) {
      const opt = document.createElement("option");
      opt.value = rule;
      opt.textContent = rule;
      $("#scoring").append(opt);
    }
    buildColdForm();
    const users = await api("/v1/users?limit=200");
    knownUsers = users.users;
    const list = $("#user-list");
    for (const u of knownUsers) {
      const opt = document.createElement("option");
      opt.value = String(u);
      list.append(opt);
    }
    await detectLive();
    document.body.dataset.ready = "true";
  } catch (err) {
    setStatus($("#status"), err.message, true);
  }
}

document.addEventListener("DOMContentLoaded", init);
