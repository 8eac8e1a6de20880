// skysift live page: a table of objects with class probabilities, and an object page with its
// light curve and probability history. Vanilla JS + SVG, no build step, no external files.
"use strict";

const REFRESH_MS = 5000;
const CLASS_COLORS = { VS: "#7b4dd6", SN: "#d9480f", AGN: "#1c7ed6" };
const EXTRA_COLORS = ["#2b8a3e", "#c2255c", "#e67700", "#0b7285", "#5c940d", "#862e9c", "#495057"];
const BAND_COLORS = { g: "#2b8a3e", r: "#e03131", i: "#8d5524", z: "#5f3dc4", u: "#1971c2", L: "#343a40",
                      G: "#2b8a3e", R: "#e03131", I: "#8d5524", V: "#2f9e44", B: "#1971c2" };
const SVG_NS = "http://www.w3.org/2000/svg";

const state = {
  classes: [],
  cls: "", minProb: "", limit: 50, sort: "updated", order: "desc", page: 1, total: 0,
  lastUpdated: new Map(),
  timer: null,
  view: null,
  objectId: null,
  historyX: "mjd",
  maxLength: null,
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

async function api(path, options = {}) {
  const res = await fetch(path, { ...options, headers: { Accept: "application/json", ...(options.headers || {}) } });
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

function setClasses(classes) {
  if (!classes || classes.join() === state.classes.join()) return;
  state.classes = classes.slice();
  const sel = $("#f-class");
  const current = sel.value;
  sel.replaceChildren(h("option", { value: "" }, "any"), ...classes.map((c) => h("option", { value: c }, c)));
  sel.value = classes.includes(current) ? current : "";
}

// ------------------------------------------------------------------ list view
function columns() {
  const cols = [
    { key: "object_id", label: "Object", sort: "object_id" },
    { key: "top_class", label: "Class", sort: "top_class" },
    { key: "human_label", label: "Human label" },
  ];
  for (const c of state.classes) cols.push({ key: `p_${c}`, label: `P(${c})`, sort: `prob_${c}`, cls: c });
  cols.push(
    { key: "n_det", label: "Detections", sort: "n_det", num: true },
    { key: "first_mjd", label: "First MJD", sort: "first_mjd", num: true },
    { key: "last_mjd", label: "Last MJD", sort: "last_mjd", num: true },
    { key: "updated_at", label: "Updated", sort: "updated" },
  );
  return cols;
}

function renderHead() {
  const row = $("#objects-head");
  row.replaceChildren(...columns().map((col) => {
    if (!col.sort) return h("th", {}, col.label);
    const active = state.sort === col.sort;
    return h("th", {
      class: col.num ? "sortable num" : "sortable", "data-sort": col.sort, title: "sort by this column",
      onclick: () => {
        if (state.sort === col.sort) state.order = state.order === "desc" ? "asc" : "desc";
        else { state.sort = col.sort; state.order = col.sort === "object_id" || col.sort === "top_class" ? "asc" : "desc"; }
        state.page = 1;
        listChanged();
      },
    }, col.label, active ? h("span", { class: "arrow" }, state.order === "desc" ? "▼" : "▲") : null);
  }));
}

function renderRows(objects) {
  const body = $("#objects-body");
  const rows = objects.map((o) => {
    const probs = o.probabilities || {};
    const prev = state.lastUpdated.get(o.object_id);
    const fresh = prev !== undefined && prev !== o.updated_at;
    state.lastUpdated.set(o.object_id, o.updated_at);
    const href = `#/object/${encodeURIComponent(o.object_id)}`;
    const cells = columns().map((col) => {
      if (col.key === "object_id") return h("td", {}, h("a", { href, class: "obj-link" }, o.object_id));
      if (col.key === "top_class") return h("td", {}, badge(o.top_class));
      if (col.key === "human_label") return h("td", {}, o.human_label ? h("span", { class: "badge human-badge", title: "set by an observer" }, o.human_label) : "");
      if (col.cls) return h("td", {}, probCell(probs[col.cls], col.cls));
      if (col.key === "n_det") return h("td", { class: "num" }, o.n_det);
      if (col.key === "first_mjd" || col.key === "last_mjd") return h("td", { class: "num" }, fmt(o[col.key], 3));
      if (col.key === "updated_at") return h("td", { title: new Date(o.updated_at * 1000).toISOString() }, ago(o.updated_at));
      return h("td", {}, o[col.key]);
    });
    return h("tr", { "data-object-id": o.object_id, class: fresh ? "fresh" : null,
                     onclick: (ev) => { if (ev.target.tagName !== "A") location.hash = href; } }, cells);
  });
  body.replaceChildren(...rows);
}

// The list's filters, sort and page live in the URL (#/?cls=SN&min_prob=0.5&sort=prob_SN&page=2), so that a
// view can be bookmarked, shared and restored by reloading.
const LIST_DEFAULTS = { cls: "", min_prob: "", limit: "50", sort: "updated", order: "desc", page: "1" };

function listHash() {
  const values = { cls: state.cls, min_prob: state.minProb, limit: String(state.limit), sort: state.sort,
                   order: state.order, page: String(state.page) };
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(values)) if (v !== "" && v !== LIST_DEFAULTS[k]) params.set(k, v);
  const q = params.toString();
  return q ? `#/?${q}` : "#/";
}

function readListHash() {
  const m = location.hash.match(/^#\/?\?(.*)$/);
  const params = new URLSearchParams(m ? m[1] : "");
  const get = (k) => (params.has(k) ? params.get(k) : LIST_DEFAULTS[k]);
  state.cls = get("cls");
  state.minProb = get("min_prob");
  state.limit = Math.max(1, parseInt(get("limit"), 10) || 50);
  state.sort = get("sort");
  state.order = get("order") === "asc" ? "asc" : "desc";
  state.page = Math.max(1, parseInt(get("page"), 10) || 1);
  const sel = $("#f-class");
  if (state.cls && ![...sel.options].some((o) => o.value === state.cls)) sel.append(h("option", { value: state.cls }, state.cls));
  sel.value = state.cls;
  $("#f-minprob").value = state.minProb;
  const lim = $("#f-limit");
  if (![...lim.options].some((o) => o.value === String(state.limit))) lim.append(h("option", {}, String(state.limit)));
  lim.value = String(state.limit);
}

function listChanged() {
  const target = listHash();
  state.lastList = target;
  if (location.hash !== target && !(target === "#/" && (location.hash === "" || location.hash === "#"))) {
    history.replaceState(null, "", target);
  }
  refreshList();
}

function renderPager() {
  const pages = Math.max(1, Math.ceil(state.total / state.limit));
  const first = state.total ? (state.page - 1) * state.limit + 1 : 0;
  const last = Math.min(state.total, state.page * state.limit);
  $("#page-info").textContent = `objects ${first}–${last} of ${state.total} · page ${state.page} of ${pages}`;
  $("#page-prev").disabled = state.page <= 1;
  $("#page-next").disabled = state.page >= pages;
}

async function refreshList() {
  const params = new URLSearchParams({ limit: state.limit, sort: state.sort, order: state.order,
                                       offset: (state.page - 1) * state.limit });
  if (state.cls) params.set("cls", state.cls);
  if (state.minProb !== "" && !Number.isNaN(parseFloat(state.minProb))) params.set("min_prob", state.minProb);
  try {
    const data = await api(`/objects?${params}`);
    setClasses(data.classes.length ? data.classes : state.classes);
    state.total = data.total ?? data.count;
    renderHead();
    renderRows(data.objects);
    renderPager();
    const filtered = state.cls || state.minProb !== "";
    $("#empty").hidden = data.objects.length > 0 || filtered || state.page > 1;
    $("#list-status").textContent = (filtered ? "filtered · " : "") + `refreshed ${new Date().toLocaleTimeString()}`;
    showError(null);
  } catch (e) {
    $("#objects-body").replaceChildren();
    state.total = 0;
    renderPager();
    showError(`Could not load objects: ${e.message}`);
  }
}

// ------------------------------------------------------------------ charts
function niceTicks(min, max, count = 6) {
  if (!(max > min)) { max = min + 1; }
  const span = max - min;
  const step0 = span / count;
  const mag = Math.pow(10, Math.floor(Math.log10(step0)));
  const norm = step0 / mag;
  const step = (norm < 1.5 ? 1 : norm < 3 ? 2 : norm < 7 ? 5 : 10) * mag;
  const ticks = [];
  for (let v = Math.ceil(min / step) * step; v <= max + step * 1e-9; v += step) ticks.push(+v.toFixed(10));
  const digits = Math.max(0, -Math.floor(Math.log10(step) + 1e-9));
  return { ticks, digits };
}

function linear(d0, d1, r0, r1) {
  const k = d1 === d0 ? 0 : (r1 - r0) / (d1 - d0);
  return (v) => (d1 === d0 ? (r0 + r1) / 2 : r0 + (v - d0) * k);
}

function padded(min, max, frac, minSpan) {
  let lo = min, hi = max;
  if (hi - lo < minSpan) { const c = (hi + lo) / 2; lo = c - minSpan / 2; hi = c + minSpan / 2; }
  const p = (hi - lo) * frac;
  return [lo - p, hi + p];
}

// Axes + grid in a plot area; returns the svg and the inner geometry.
function frame(id, width, height, m, xdom, ydom, xlabel, ylabel, yInverted) {
  const svg = s("svg", { id, viewBox: `0 0 ${width} ${height}`, role: "img", "aria-label": ylabel + " vs " + xlabel });
  const x = linear(xdom[0], xdom[1], m.l, width - m.r);
  const y = yInverted ? linear(ydom[0], ydom[1], m.t, height - m.b) : linear(ydom[0], ydom[1], height - m.b, m.t);
  const grid = s("g", { class: "grid" }, svg);
  const axis = s("g", { class: "axis" }, svg);
  const xt = niceTicks(xdom[0], xdom[1], Math.max(3, Math.floor((width - m.l - m.r) / 90)));
  for (const t of xt.ticks) {
    if (t < xdom[0] || t > xdom[1]) continue;
    s("line", { x1: x(t), x2: x(t), y1: m.t, y2: height - m.b }, grid);
    s("line", { x1: x(t), x2: x(t), y1: height - m.b, y2: height - m.b + 4 }, axis);
    s("text", { x: x(t), y: height - m.b + 16, "text-anchor": "middle" }, axis).textContent = t.toFixed(xt.digits);
  }
  const yt = niceTicks(Math.min(...ydom), Math.max(...ydom), 5);
  for (const t of yt.ticks) {
    if (t < Math.min(...ydom) || t > Math.max(...ydom)) continue;
    s("line", { x1: m.l, x2: width - m.r, y1: y(t), y2: y(t) }, grid);
    s("line", { x1: m.l - 4, x2: m.l, y1: y(t), y2: y(t) }, axis);
    s("text", { x: m.l - 7, y: y(t) + 4, "text-anchor": "end" }, axis).textContent = t.toFixed(yt.digits);
  }
  s("path", { d: `M${m.l},${m.t}V${height - m.b}H${width - m.r}`, fill: "none" }, axis);
  s("text", { x: (m.l + width - m.r) / 2, y: height - 6, "text-anchor": "middle" }, axis).textContent = xlabel;
  const yl = s("text", { x: 14, y: (m.t + height - m.b) / 2, "text-anchor": "middle",
                         transform: `rotate(-90 14 ${(m.t + height - m.b) / 2})` }, axis);
  yl.textContent = ylabel;
  return { svg, x, y };
}

function legend(svg, items, x0, y0) {
  const g = s("g", { class: "legend" }, svg);
  let x = x0;
  for (const it of items) {
    s(it.line ? "line" : "circle", it.line
      ? { x1: x, x2: x + 16, y1: y0 - 4, y2: y0 - 4, stroke: it.color, "stroke-width": 2.5 }
      : { cx: x + 5, cy: y0 - 4, r: 4.5, fill: it.color }, g);
    const t = s("text", { x: x + (it.line ? 21 : 14), y: y0 }, g);
    t.textContent = it.label;
    x += (it.line ? 30 : 22) + it.label.length * 7;
  }
  return g;
}

function drawLightCurve(box, detections, limits = [], probs = []) {
  const W = 560, H = 330, m = { l: 52, r: 14, t: 30, b: 42 };
  if (!detections.length) { box.replaceChildren(h("p", { class: "muted" }, "no detections")); return; }
  const mjd = detections.map((d) => d.mjd).concat(limits.map((u) => u.mjd));
  const lo = detections.map((d) => d.mag - d.mag_err), hi = detections.map((d) => d.mag + d.mag_err)
    .concat(limits.map((u) => u.limit_mag + 0.2));
  const xdom = padded(Math.min(...mjd), Math.max(...mjd), 0.05, 1);
  const ydom = padded(Math.min(...lo), Math.max(...hi), 0.08, 0.2); // [bright, faint]: bright at the top
  const { svg, x, y } = frame("lightcurve", W, H, m, xdom, ydom, "MJD (days)", "magnitude (mag)", true);
  const bands = [...new Set(detections.map((d) => d.band || "–").concat(limits.map((u) => u.band || "–")))].sort();
  const L = state.maxLength;
  if (L && detections.length > L) {
    // the classifier only sees the first L observations: mark where they end
    const sorted = detections.map((d) => d.mjd).sort((a, b) => a - b);
    const xm = x((sorted[L - 1] + sorted[L]) / 2);
    const g = s("g", { class: "cutoff" }, svg);
    s("line", { x1: xm, x2: xm, y1: m.t, y2: H - m.b, stroke: "#9ca3af", "stroke-dasharray": "4 3" }, g);
    s("text", { x: xm + 4, y: H - m.b - 6 }, g).textContent = `model uses the first ${L}`;
  }
  const ul = s("g", { class: "limits" }, svg);
  limits.forEach((u) => {
    // a non-detection: the source was fainter than the limit, so an open triangle pointing faintwards (down)
    const color = bandColor(u.band, bands.indexOf(u.band || "–"));
    const cx = x(u.mjd), cy = y(u.limit_mag);
    const p = s("path", { class: "ulim", d: `M${cx - 5},${cy - 3}L${cx + 5},${cy - 3}L${cx},${cy + 5}Z`, fill: "none",
                          stroke: color, "stroke-width": 1.4, "data-band": u.band || "–" }, ul);
    s("title", {}, p).textContent = `MJD ${u.mjd.toFixed(4)}\nnot detected: fainter than ${u.limit_mag.toFixed(2)} mag` +
      (u.band ? `\nband ${u.band}` : "");
  });
  const pts = s("g", { class: "points" }, svg);
  detections.forEach((d, i) => {
    const band = d.band || "–";
    const color = bandColor(d.band, bands.indexOf(band));
    const cx = x(d.mjd);
    const g = s("g", { class: "det", "data-band": band }, pts);
    s("line", { class: "errbar", x1: cx, x2: cx, y1: y(d.mag - d.mag_err), y2: y(d.mag + d.mag_err),
                stroke: color, "stroke-width": 1.3, opacity: 0.8 }, g);
    for (const e of [d.mag - d.mag_err, d.mag + d.mag_err]) {
      s("line", { x1: cx - 3, x2: cx + 3, y1: y(e), y2: y(e), stroke: color, "stroke-width": 1.3, opacity: 0.8 }, g);
    }
    const c = s("circle", { class: "point", cx, cy: y(d.mag), r: 4, fill: color, stroke: "#fff", "stroke-width": 1 }, g);
    const p = probs[i];
    const ptext = p ? "\n" + Object.entries(p).map(([k, v]) => `P(${k}) ${v.toFixed(3)}`).join(", ") : "";
    s("title", {}, c).textContent =
      `MJD ${d.mjd.toFixed(4)}\n${d.mag.toFixed(3)} ± ${d.mag_err.toFixed(3)} mag${d.band ? `\nband ${d.band}` : ""}${ptext}`;
  });
  legend(svg, bands.map((b, i) => ({ label: b === "–" ? "no band" : `${b} band`, color: bandColor(b === "–" ? null : b, i) })),
         m.l + 4, 18);
  box.replaceChildren(svg, probStrip(W, m, x, detections, probs));
}

// The class probabilities after each observation as a stacked bar under it (same x scale as the light curve).
function probStrip(W, m, x, detections, probs) {
  const H = 46, top = 4, bar = 30;
  const svg = s("svg", { id: "probstrip", viewBox: `0 0 ${W} ${H}`, role: "img",
                         "aria-label": "class probabilities after each observation" });
  s("text", { x: m.l - 7, y: top + bar / 2 + 4, "text-anchor": "end" }, svg).textContent = "P";
  s("rect", { x: m.l, y: top, width: W - m.l - m.r, height: bar, fill: "none", stroke: "#e5e7eb" }, svg);
  const xs = detections.map((d) => x(d.mjd));
  const gap = xs.length > 1 ? Math.min(...xs.slice(1).map((v, i) => Math.abs(v - xs[i])).filter((v) => v > 0), 12) : 12;
  const w = Math.max(2, Math.min(10, (Number.isFinite(gap) ? gap : 12) * 0.8));
  detections.forEach((d, i) => {
    const p = probs[i];
    if (!p) return;
    const g = s("g", { class: "pstack", "data-mjd": d.mjd }, svg);
    let y0 = top;
    Object.keys(p).forEach((cls, ci) => {
      const hgt = bar * p[cls];
      s("rect", { x: xs[i] - w / 2, y: y0, width: w, height: Math.max(0, hgt), fill: classColor(cls, ci),
                  "data-class": cls, "data-p": p[cls] }, g);
      y0 += hgt;
    });
    s("title", {}, g).textContent = `after the observation at MJD ${d.mjd.toFixed(3)}\n` +
      Object.entries(p).map(([k, v]) => `P(${k}) = ${v.toFixed(3)}`).join("\n");
  });
  return svg;
}

function drawHistory(box, classes, history) {
  const W = 560, H = 330, m = { l: 52, r: 14, t: 30, b: 42 };
  if (!history.length) {
    box.replaceChildren(h("p", { class: "muted" }, "not classified yet (no model loaded?)"));
    return;
  }
  const classesUsed = classes.length ? classes : Object.keys(history[0].probabilities);
  const byMjd = state.historyX === "mjd";
  const xs = history.map((r, i) => (byMjd ? r.mjd : i + 1));
  const xdom = byMjd ? padded(Math.min(...xs), Math.max(...xs), 0.05, 1) : [0.5, Math.max(...xs) + 0.5];
  const { svg, x, y } = frame("history", W, H, m, xdom, [0, 1],
    byMjd ? "MJD of the latest observation (days)" : "observation number", "probability", false);
  const lines = s("g", { class: "lines" }, svg);
  classesUsed.forEach((cls, ci) => {
    const color = classColor(cls, ci);
    const pts = history.map((r, i) => [x(xs[i]), y(r.probabilities[cls] ?? 0)]);
    const d = pts.map((p, i) => `${i ? "L" : "M"}${p[0].toFixed(1)},${p[1].toFixed(1)}`).join("");
    s("path", { class: "prob-line", "data-class": cls, d, fill: "none", stroke: color, "stroke-width": 2.2,
                "stroke-linejoin": "round" }, lines);
    pts.forEach((p, i) => {
      const c = s("circle", { cx: p[0], cy: p[1], r: 2.8, fill: color }, lines);
      const r = history[i];
      s("title", {}, c).textContent =
        `${cls}: ${(r.probabilities[cls] ?? 0).toFixed(3)}\nafter observation ${r.n_obs} (MJD ${r.mjd.toFixed(3)})`;
    });
  });
  legend(svg, classesUsed.map((c, i) => ({ label: c, color: classColor(c, i), line: true })), m.l + 4, 18);
  const toggle = h("p", { class: "muted", style: "margin:4px 0 0;font-size:12px" }, "x axis: ",
    h("a", { href: "javascript:void 0", onclick: () => { state.historyX = byMjd ? "n" : "mjd"; refreshObject(); } },
      byMjd ? "switch to observation number" : "switch to MJD"));
  box.replaceChildren(svg, toggle);
}

// ------------------------------------------------------------------ object view
async function refreshObject() {
  const id = state.objectId;
  try {
    const [obj, hist, ov] = await Promise.all([
      api(`/objects/${encodeURIComponent(id)}`),
      api(`/objects/${encodeURIComponent(id)}/history`),
      api(`/objects/${encodeURIComponent(id)}/overview`),
    ]);
    if (id !== state.objectId) return;
    setClasses(obj.classes.length ? obj.classes : state.classes);
    $("#obj-title").replaceChildren(document.createTextNode(obj.object_id + " "), badge(obj.top_class));
    const items = [
      ["Top class", obj.top_class ? `${obj.top_class} (${fmt(obj.top_prob, 3)})` : "unclassified"],
      ...state.classes.map((c) => [`P(${c})`, obj.probabilities ? fmt(obj.probabilities[c], 3) : "–"]),
      ["RA, Dec (deg)", `${fmt(obj.ra, 5)}, ${fmt(obj.dec, 5)}`],
      ["Detections", obj.n_det],
      ["MJD range", `${fmt(obj.first_mjd, 3)} – ${fmt(obj.last_mjd, 3)}`],
      ["Updated", ago(obj.updated_at)],
      ["Model", obj.model || "–"],
    ];
    $("#obj-summary").replaceChildren(...items.map(([k, v]) => h("div", { class: "item" }, h("b", {}, k), v)));
    renderObserver(obj, ov);
    drawLightCurve($("#lightcurve-box"), obj.detections, ov.upper_limits, ov.probabilities_per_detection);
    drawHistory($("#history-box"), hist.classes.length ? hist.classes : state.classes, hist.history);
    const det = $("#det-table");
    det.replaceChildren(
      h("thead", {}, h("tr", {}, ["MJD", "mag", "mag_err", "band"].map((c) => h("th", {}, c)))),
      h("tbody", {}, obj.detections.map((d) => h("tr", {},
        h("td", { class: "num" }, fmt(d.mjd, 5)), h("td", { class: "num" }, fmt(d.mag, 3)),
        h("td", { class: "num" }, fmt(d.mag_err, 3)), h("td", {}, d.band || "–")))),
    );
    showError(null);
  } catch (e) {
    showError(e.status === 404 ? `Unknown object '${id}'.` : `Could not load object: ${e.message}`);
  }
}

// ------------------------------------------------------------------ observer panels
function renderObserver(obj, ov) {
  $("#machine-class").replaceChildren("Model: ", badge(obj.top_class),
    obj.top_class ? ` P = ${fmt(obj.top_prob, 3)} after ${obj.n_obs_classified} observations` : "");
  const hl = ov.human_label;
  $("#human-label").replaceChildren(...(hl
    ? ["Human: ", h("span", { class: "badge human-badge" }, hl.label),
       ` by ${hl.author || "anonymous"}, ${ago(hl.created_at)}`, hl.note ? ` — ${hl.note}` : ""]
    : [h("span", { class: "muted" }, "No human label yet.")]));
  $("#obj-context").replaceChildren(...(ov.context.length ? ov.context.map((c) => h("tr", { "data-name": c.name },
    h("td", {}, c.label || c.name), h("td", { class: "num" }, c.value === null ? "–" : fmt(c.value, 3)),
    h("td", {}, c.unit || ""), h("td", { class: "muted" }, c.note || "")))
    : [h("tr", {}, h("td", { class: "muted" }, ov.model ? "the model uses no context" : "no model loaded"))]));
  $("#obj-links").replaceChildren(...ov.links.map((l) => h("li", {},
    h("a", { href: l.url, target: "_blank", rel: "noopener noreferrer", "data-name": l.name }, l.name))));
  const mo = ov.model;
  $("#obj-model").textContent = mo
    ? `${mo.tag} · ${mo.rnn || ""} · classes ${mo.classes.join(", ")} · bands ${(mo.bands || ["single"]).join(", ")}` +
      ` · context ${mo.context_columns.join(", ") || "none"}` + (mo.galaxy_catalog ? ` (galaxies: ${mo.galaxy_catalog})` : "") +
      ` · best epoch ${mo.best_epoch}/${mo.epochs_trained}, validation AUC ${fmt(mo.best_val_auc, 3)} · skysift ${mo.skysift_version}`
    : "no model loaded";
}

async function submitLabel(e) {
  e.preventDefault();
  const id = state.objectId;
  const body = { label: $("#label-input").value.trim() };
  if ($("#label-author").value.trim()) body.author = $("#label-author").value.trim();
  if ($("#label-note").value.trim()) body.note = $("#label-note").value.trim();
  const headers = { "Content-Type": "application/json" };
  const token = localStorage.getItem("skysift-token");
  if (token) headers.Authorization = `Bearer ${token}`;
  try {
    await api(`/objects/${encodeURIComponent(id)}/labels`, { method: "POST", headers, body: JSON.stringify(body) });
    localStorage.setItem("skysift-author", body.author || "");
    $("#label-input").value = "";
    $("#label-note").value = "";
    $("#label-status").textContent = `label '${body.label}' saved`;
    refreshObject();
  } catch (err) {
    $("#label-status").textContent = `label not saved: ${err.message}`;
  }
}

// ------------------------------------------------------------------ routing
function route() {
  const m = location.hash.match(/^#\/object\/(.+)$/);
  if (m) {
    state.view = "object";
    state.objectId = decodeURIComponent(m[1]);
    $("a.back").setAttribute("href", state.lastList || "#/");  // back to the list as it was (filters, page)
    $("#list-view").hidden = true;
    $("#object-view").hidden = false;
    $("#obj-title").textContent = state.objectId;
    $("#obj-summary").replaceChildren();
    $("#lightcurve-box").replaceChildren(h("p", { class: "muted" }, "loading…"));
    $("#history-box").replaceChildren(h("p", { class: "muted" }, "loading…"));
    document.title = `${state.objectId} · skysift`;
    refreshObject();
  } else {
    readListHash();
    state.lastList = listHash();
    state.view = "list";
    state.objectId = null;
    $("#object-view").hidden = true;
    $("#list-view").hidden = false;
    document.title = "skysift · live classifications";
    refreshList();
  }
}

function tick() {
  refreshHealth();
  if (!$("#f-auto").checked) return;
  if (state.view === "list") refreshList();
  else if (state.view === "object") refreshObject();
}

function init() {
  const form = $("#filters");
  form.addEventListener("submit", (e) => e.preventDefault());
  $("#f-class").addEventListener("change", (e) => { state.cls = e.target.value; state.page = 1; listChanged(); });
  $("#f-minprob").addEventListener("input", (e) => { state.minProb = e.target.value.trim(); state.page = 1; listChanged(); });
  $("#f-limit").addEventListener("change", (e) => { state.limit = parseInt(e.target.value, 10); state.page = 1; listChanged(); });
  $("#page-prev").addEventListener("click", () => { if (state.page > 1) { state.page -= 1; listChanged(); } });
  $("#page-next").addEventListener("click", () => { state.page += 1; listChanged(); });
  $("#label-form").addEventListener("submit", submitLabel);
  $("#label-author").value = localStorage.getItem("skysift-author") || "";
  $("#f-search").addEventListener("keydown", (e) => {
    if (e.key === "Enter" && e.target.value.trim()) location.hash = `#/object/${encodeURIComponent(e.target.value.trim())}`;
  });
  window.addEventListener("hashchange", route);
  refreshHealth().then(route);
  state.timer = setInterval(tick, REFRESH_MS);
}

document.addEventListener("DOMContentLoaded", init);
