// skysift live page: a table of objects with class probabilities, and an object page with its
// light curve, probability history, cutouts and cross-matches. Vanilla JS + SVG, no build step, no
// external files, no inline script or style (the page works under a strict Content-Security-Policy);
// every value from the service is put in the page as text (textContent / text nodes), never as HTML.
// Four classic scripts, loaded in this order and sharing their top-level names: common.js (settings,
// state, helpers, the API client), charts.js (the SVG charts), list.js (the object list, its filters
// and the CSV export), app.js (the object page, signing in, routing).
"use strict";

const REFRESH_MS = 5000;
const CLASS_COLORS = { VS: "#7b4dd6", SN: "#d9480f", AGN: "#1c7ed6" };
const EXTRA_COLORS = ["#2b8a3e", "#c2255c", "#e67700", "#0b7285", "#5c940d", "#862e9c", "#495057"];
const BAND_COLORS = { g: "#2b8a3e", r: "#e03131", i: "#8d5524", z: "#5f3dc4", u: "#1971c2", L: "#343a40",
                      G: "#2b8a3e", R: "#e03131", I: "#8d5524", V: "#2f9e44", B: "#1971c2" };
const SVG_NS = "http://www.w3.org/2000/svg";
const TOKEN_KEY = "skysift-token";  // sessionStorage: the token lives as long as the tab
const EXPORT_MAX_ROWS = 10000;
const NEEDS_TOKEN = "This service needs its API token to show anything: press \u201cSign in\u201d (top right) and paste it.";

// The list's filters: URL key -> input. Every one is kept in the URL (#/?cls=SN&mag_max=19&...).
const FILTERS = {
  cls: "#f-class", min_prob: "#f-minprob", label: null, labelled: null,
  mjd_min: "#f-mjdmin", mjd_max: "#f-mjdmax", mag_min: "#f-magmin", mag_max: "#f-magmax",
  ra: "#f-ra", dec: "#f-dec", radius: "#f-radius", novelty_min: "#f-novelty",
};
const NUMERIC_FILTERS = ["min_prob", "mjd_min", "mjd_max", "mag_min", "mag_max", "ra", "dec", "radius", "novelty_min"];

const state = {
  classes: [],
  f: Object.fromEntries(Object.keys(FILTERS).map((k) => [k, ""])),
  limit: 50, sort: "updated", order: "desc", page: 1, total: 0,
  lastUpdated: new Map(),
  timer: null,
  view: null,
  objectId: null,
  shownObject: null,
  historyX: "mjd",
  maxLength: null,
  labels: [],
  blobUrls: [],
};
// ------------------------------------------------------------------ helpers
const $ = (sel) => document.querySelector(sel);

function h(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === null || v === undefined || v === false) continue;
    if (k === "class") node.className = v;
    else if (k === "style") node.style.cssText = v;
    else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else node.setAttribute(k, v);
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined) continue;
    node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return node;
}

function s(tag, attrs = {}, parent = null) {
  const node = document.createElementNS(SVG_NS, tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v !== null && v !== undefined) node.setAttribute(k, v);
  }
  if (parent) parent.appendChild(node);
  return node;
}

function classColor(cls, i = 0) {
  if (CLASS_COLORS[cls]) return CLASS_COLORS[cls];
  const idx = state.classes.indexOf(cls);
  return EXTRA_COLORS[(idx >= 0 ? idx : i) % EXTRA_COLORS.length];
}

function bandColor(band, i) {
  if (band && BAND_COLORS[band]) return BAND_COLORS[band];
  return EXTRA_COLORS[i % EXTRA_COLORS.length];
}

function fmt(x, digits = 2) {
  return x === null || x === undefined || Number.isNaN(x) ? "–" : Number(x).toFixed(digits);
}

function ago(t) {
  if (!t) return "–";
  const d = Date.now() / 1000 - t;
  if (d < 5) return "just now";
  if (d < 60) return `${Math.round(d)} s ago`;
  if (d < 3600) return `${Math.round(d / 60)} min ago`;
  if (d < 86400) return `${Math.round(d / 3600)} h ago`;
  return new Date(t * 1000).toISOString().slice(0, 16).replace("T", " ");
}

function token() {
  try { return sessionStorage.getItem(TOKEN_KEY) || ""; } catch (e) { return ""; }
}

function authHeaders() {
  const t = token();
  return t ? { Authorization: `Bearer ${t}` } : {};
}

async function request(path, options = {}) {
  const res = await fetch(path, { ...options, headers: { ...authHeaders(), ...(options.headers || {}) } });
  if (res.status === 401 && token() && !options.probe) {
    signOut("the service no longer accepts the token: signed out");
  }
  return res;
}

async function api(path, options = {}) {
  const res = await request(path, { ...options, headers: { Accept: "application/json", ...(options.headers || {}) } });
  let body = null;
  try { body = await res.json(); } catch (e) { body = null; }
  if (!res.ok) {
    const reason = body && body.detail ? body.detail : res.statusText;
    const err = new Error(`${res.status}: ${typeof reason === "string" ? reason : JSON.stringify(reason)}`);
    err.status = res.status;
    throw err;
  }
  return body;
}

function showError(msg) {
  const e = $("#error");
  if (!msg) { e.hidden = true; e.textContent = ""; return; }
  e.hidden = false;
  e.textContent = msg;
}

function badge(cls) {
  if (!cls) return h("span", { class: "muted" }, "unclassified");
  return h("span", { class: "badge", style: `background:${classColor(cls)}` }, cls);
}

function probCell(p, cls) {
  if (p === null || p === undefined) return h("span", { class: "muted" }, "–");
  const pct = Math.max(0, Math.min(100, p * 100));
  return h("span", { class: "prob" },
    h("span", { class: "bar" }, h("i", { style: `width:${pct}%;background:${classColor(cls)}` })),
    h("span", { class: "v" }, fmt(p, 2)));
}

// ------------------------------------------------------------------ health
async function refreshHealth() {
  const el = $("#health");
  try {
    const hl = await api("/health");
    const c = hl.counts;
    const model = hl.model ? hl.model.tag : "no model loaded";
    el.textContent = `${model} · ${c.objects} objects · ${c.detections} detections · ${c.rejected} rejected · ${hl.storage}`;
    el.classList.toggle("bad", !hl.model);
    if (hl.model) { setClasses(hl.model.classes); state.maxLength = hl.model.max_length; }
  } catch (e) {
    el.textContent = `service unreachable (${e.message})`;
    el.classList.add("bad");
  }
}

// A tree model's classes are paths ("SN/Ia"): the most probable level-1 class, then its most probable child.
function bestPath(probs) {
  if (!probs) return null;
  const names = Object.keys(probs);
  const best = (list) => list.reduce((a, b) => (probs[b] > probs[a] ? b : a));
  const tops = names.filter((c) => !c.includes("/"));
  if (!tops.length) return null;
  const top = best(tops);
  const kids = names.filter((c) => c.startsWith(top + "/"));
  return kids.length ? best(kids) : top;
}

function nodeLabel(c) {
  return c.includes("/") ? `\u00a0\u00a0\u21b3 ${c.split("/").slice(1).join("/")}` : c;
}

function setClasses(classes) {
  if (!classes || classes.join() === state.classes.join()) return;
  state.classes = classes.slice();
  const sel = $("#f-class");
  const current = sel.value;
  sel.replaceChildren(h("option", { value: "" }, "any"), ...classes.map((c) => h("option", { value: c }, nodeLabel(c))));
  sel.value = classes.includes(current) ? current : "";
}
