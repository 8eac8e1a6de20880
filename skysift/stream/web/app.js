// skysift live page: the object page, the observer panels, signing in, routing (see common.js).
"use strict";

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
    const last = obj.detections.length ? obj.detections[obj.detections.length - 1] : null;
    const items = [
      ["Top class", obj.top_class ? `${obj.top_class} (${fmt(obj.top_prob, 3)})` : "unclassified"],
      ...(state.classes.some((c) => c.includes("/")) ? [["Type", bestPath(obj.probabilities) || "–"]] : []),
      ["Novelty", obj.novelty === null || obj.novelty === undefined ? "–" : fmt(obj.novelty, 3)],
      // a tree model's nodes in tree order: each level-1 class, then its subtypes indented
      ...state.classes.map((c) => [`P(${nodeLabel(c)})`, obj.probabilities ? fmt(obj.probabilities[c], 3) : "–"]),
      ["RA, Dec (deg)", `${fmt(obj.ra, 5)}, ${fmt(obj.dec, 5)}`],
      ["Last magnitude", last ? `${fmt(last.mag, 2)} ± ${fmt(last.mag_err, 2)}${last.band ? ` (${last.band})` : ""}` : "–"],
      ["Detections", obj.n_det],
      ["Last detection", last ? `MJD ${fmt(obj.last_mjd, 3)} · ${mjdDate(obj.last_mjd)} UTC` : "–"],
      ["MJD range", `${fmt(obj.first_mjd, 3)} – ${fmt(obj.last_mjd, 3)}`],
      ["Updated", ago(obj.updated_at)],
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
    if (id !== state.objectId) return;
    showError(e.status === 404 ? `Unknown object '${id}'.` : e.status === 401 ? NEEDS_TOKEN
      : `Could not load object: ${e.message}`);
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
  renderCrossmatch(ov.crossmatch);
  renderCutouts(ov.cutouts || []);
  $("#obj-links").replaceChildren(...ov.links.map((l) => h("li", {},
    h("a", { href: l.url, target: "_blank", rel: "noopener noreferrer", "data-name": l.name }, l.name))));
  const mo = ov.model;
  $("#obj-model").textContent = mo
    ? `${mo.tag} · ${mo.rnn || ""} · classes ${mo.classes.join(", ")} · bands ${(mo.bands || ["single"]).join(", ")}` +
      ` · context ${mo.context_columns.join(", ") || "none"}` + (mo.galaxy_catalog ? ` (galaxies: ${mo.galaxy_catalog})` : "") +
      ` · best epoch ${mo.best_epoch}/${mo.epochs_trained}, validation AUC ${fmt(mo.best_val_auc, 3)} · skysift ${mo.skysift_version}`
    : "no model loaded";
}

// One row per catalogue source: its distance, its magnitudes, and the rest (scores, ids, names), each
// value in a span named after the packet's field (data-name).
function renderCrossmatch(xm) {
  const box = $("#obj-crossmatch");
  if (!xm || !xm.values || !xm.values.length) {
    box.replaceChildren(h("tr", {}, h("td", { class: "muted" },
      "none: the object has no alert packet with cross-match values (detections sent as JSON carry none)")));
    return;
  }
  const groups = new Map();
  for (const v of xm.values) {
    if (!groups.has(v.group)) groups.set(v.group, []);
    groups.get(v.group).push(v);
  }
  const show = (v, digits) => (typeof v.value === "number" && !Number.isInteger(v.value) ? fmt(v.value, digits) : String(v.value));
  const item = (v, text, cls = "") => h("span", {
    class: `xv ${cls || (/^\d{12,}$/.test(String(v.value)) ? "id" : "")}`.trim(), "data-name": v.name,
    title: `${v.label} (${v.name})` }, text);
  const rows = [...groups.entries()].map(([group, vals]) => {
    const dist = vals.find((v) => v.unit === "arcsec" && v.label === "distance");
    const mags = vals.filter((v) => v.unit === "mag");
    const rest = vals.filter((v) => v !== dist && !mags.includes(v));
    return h("tr", { "data-group": group },
      h("th", { scope: "row" }, group),
      h("td", { class: "num" }, dist ? item(dist, show(dist, 2)) : ""),
      h("td", {}, ...mags.map((v) => item(v, `${v.label === "magnitude" ? "" : v.label + " "}${show(v, 2)}`, "mag"))),
      h("td", {}, ...rest.map((v) => item(v, `${v.label.replace(/ \(1 (star|real)\)$/, "")} ${show(v, 3)}`))));
  });
  box.replaceChildren(
    h("caption", {}, `${xm.survey.toUpperCase()} alert ${xm.candid}, MJD ${fmt(xm.mjd, 4)}`),
    h("thead", {}, h("tr", {}, h("th", {}, "source"), h("th", { class: "num" }, "dist. (″)"), h("th", {}, "mag"),
      h("th", {}, "other"))),
    h("tbody", {}, rows));
}

function releaseBlobs() {
  for (const u of state.blobUrls) URL.revokeObjectURL(u);
  state.blobUrls = [];
}

// Cutouts are plain same-origin images; when reads need the token (the service's --read-token-required),
// a failed image is fetched again with it and shown from a blob: URL.
function cutoutImage(c) {
  const img = h("img", { src: c.url, alt: `${c.kind} cutout`, width: 189, height: 189, "data-kind": c.kind,
                         loading: "lazy", decoding: "async" });
  img.addEventListener("error", async () => {
    if (img.dataset.retried || !token()) { img.replaceWith(h("div", { class: "nostamp" }, "not readable")); return; }
    img.dataset.retried = "1";
    try {
      const res = await request(c.url);
      if (!res.ok) throw new Error(String(res.status));
      const u = URL.createObjectURL(await res.blob());
      state.blobUrls.push(u);
      img.src = u;
    } catch (e) { img.replaceWith(h("div", { class: "nostamp" }, "not readable")); }
  });
  return img;
}

function renderCutouts(cutouts) {
  const box = $("#cutouts");
  const key = cutouts.map((c) => c.url).join(" ");
  if (box.dataset.key === key && key) return;  // the same stamps: keep the images (no flicker on refresh)
  box.dataset.key = key;
  releaseBlobs();
  if (!cutouts.length) {
    $("#cutouts-meta").textContent = "";
    box.replaceChildren(h("p", { class: "muted" },
      "No cutouts: they come with alert packets (POST /alerts); detections sent as JSON carry none."));
    return;
  }
  const c0 = cutouts[0];
  $("#cutouts-meta").textContent = `· ${c0.survey.toUpperCase()} alert ${c0.candid}, MJD ${fmt(c0.mjd, 4)}`;
  box.replaceChildren(...cutouts.map((c) => h("figure", { class: "stamp" }, cutoutImage(c),
    h("figcaption", {}, c.kind))),
    h("p", { class: "hint stamp-note" }, "zscale interval, asinh stretch; red: no data"));
}

async function submitLabel(e) {
  e.preventDefault();
  const id = state.objectId;
  if (!token()) { setLabelStatus("sign in first: labels need the service's token", true); return; }
  const body = { label: $("#label-input").value.trim() };
  if ($("#label-author").value.trim()) body.author = $("#label-author").value.trim();
  if ($("#label-note").value.trim()) body.note = $("#label-note").value.trim();
  try {
    await api(`/objects/${encodeURIComponent(id)}/labels`, { method: "POST",
      headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) });
    try { localStorage.setItem("skysift-author", body.author || ""); } catch (err) { /* storage disabled */ }
    if (id !== state.objectId) return;  // the observer moved on: the status belongs to the other object
    $("#label-input").value = "";
    $("#label-note").value = "";
    setLabelStatus(`label '${body.label}' saved for ${id}`);
    refreshObject();
  } catch (err) {
    if (id === state.objectId) setLabelStatus(`label not saved: ${err.message}`, true);
  }
}

function setLabelStatus(text, bad = false) {
  const el = $("#label-status");
  el.textContent = text;
  el.classList.toggle("bad", bad);
}

// ------------------------------------------------------------------ signing in
// The token is pasted into the page, checked against a read that needs it (GET /rejected), and kept in
// sessionStorage: this tab only, gone when it closes or on "Sign out". It is sent as a bearer header, never
// in a URL or a cookie.
function renderAuth(message = "") {
  const signedIn = Boolean(token());
  $("#auth-state").textContent = signedIn ? "signed in" : "not signed in (read-only)";
  $("#auth-state").classList.toggle("ok", signedIn);
  $("#signin-open").hidden = signedIn || !$("#signin-form").hidden;
  $("#signout").hidden = !signedIn;
  $("#auth-status").textContent = message;
  $("#label-submit").disabled = !signedIn;
  $("#label-auth-hint").hidden = signedIn;
}

function openSignIn() {
  $("#signin-form").hidden = false;
  $("#signin-open").hidden = true;
  $("#auth-status").textContent = "";
  $("#token-input").focus();
}

function closeSignIn() {
  $("#signin-form").hidden = true;
  $("#token-input").value = "";
  renderAuth($("#auth-status").textContent);
}

async function signIn(e) {
  e.preventDefault();
  const candidate = $("#token-input").value.trim();
  if (!candidate) return;
  try {
    const res = await request("/rejected?limit=1", { probe: true, headers: { Authorization: `Bearer ${candidate}` } });
    if (res.status === 401) { $("#auth-status").textContent = "token not accepted"; return; }
    if (!res.ok) { $("#auth-status").textContent = `could not check the token (${res.status})`; return; }
  } catch (err) {
    $("#auth-status").textContent = `could not reach the service (${err.message})`;
    return;
  }
  try { sessionStorage.setItem(TOKEN_KEY, candidate); } catch (err) {
    $("#auth-status").textContent = "this browser keeps no session storage: cannot sign in";
    return;
  }
  closeSignIn();
  renderAuth("");
  if (state.view === "list") refreshList(); else if (state.view === "object") refreshObject();
}

function signOut(message = "signed out") {
  try { sessionStorage.removeItem(TOKEN_KEY); } catch (e) { /* nothing kept */ }
  renderAuth(message);
}

// ------------------------------------------------------------------ routing
function resetObjectForm() {
  // what was typed or reported for the previous object never carries over to the next one
  setLabelStatus("");
  $("#label-input").value = "";
  $("#label-note").value = "";
  $("#human-label").replaceChildren();
  $("#machine-class").replaceChildren();
  $("#obj-context").replaceChildren();
  $("#obj-crossmatch").replaceChildren();
  $("#obj-links").replaceChildren();
  $("#cutouts").replaceChildren();
  $("#cutouts").dataset.key = "";
  $("#cutouts-meta").textContent = "";
  releaseBlobs();
}

function route() {
  const m = location.hash.match(/^#\/object\/(.+)$/);
  if (m) {
    const id = decodeURIComponent(m[1]);
    state.view = "object";
    if (id !== state.shownObject) resetObjectForm();
    state.objectId = id;
    state.shownObject = id;
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
    state.shownObject = null;
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

function debounce(fn, ms) {
  let t = null;
  return (...args) => { clearTimeout(t); t = setTimeout(() => fn(...args), ms); };
}

function init() {
  const form = $("#filters");
  form.addEventListener("submit", (e) => e.preventDefault());
  $("#f-class").addEventListener("change", (e) => { state.f.cls = e.target.value; state.page = 1; listChanged(); });
  const typed = debounce(() => { state.page = 1; listChanged(); }, 300);
  for (const k of NUMERIC_FILTERS) {
    $(FILTERS[k]).addEventListener("input", (e) => { state.f[k] = e.target.value.trim(); typed(); });
  }
  $("#f-label").addEventListener("change", (e) => {
    const v = e.target.value;
    state.f.label = v.startsWith("=") ? v.slice(1) : "";
    state.f.labelled = v === ":any" ? "1" : v === ":none" ? "0" : "";
    state.page = 1;
    listChanged();
  });
  $("#f-limit").addEventListener("change", (e) => { state.limit = parseInt(e.target.value, 10); state.page = 1; listChanged(); });
  $("#page-prev").addEventListener("click", () => { if (state.page > 1) { state.page -= 1; listChanged(); } });
  $("#page-next").addEventListener("click", () => { state.page += 1; listChanged(); });
  $("#clear-filters").addEventListener("click", clearFilters);
  $("#export-csv").addEventListener("click", exportCsv);
  $("#label-form").addEventListener("submit", submitLabel);
  try { $("#label-author").value = localStorage.getItem("skysift-author") || ""; } catch (e) { /* storage disabled */ }
  $("#f-search").addEventListener("keydown", (e) => {
    if (e.key === "Enter" && e.target.value.trim()) location.hash = `#/object/${encodeURIComponent(e.target.value.trim())}`;
  });
  $("#signin-open").addEventListener("click", openSignIn);
  $("#label-auth-hint").addEventListener("click", openSignIn);
  $("#signin-cancel").addEventListener("click", closeSignIn);
  $("#signin-form").addEventListener("submit", signIn);
  $("#signout").addEventListener("click", () => signOut());
  try { localStorage.removeItem(TOKEN_KEY); } catch (e) { /* an older page kept the token there: no longer */ }
  renderAuth();
  window.addEventListener("hashchange", route);
  refreshHealth().then(route);
  state.timer = setInterval(tick, REFRESH_MS);
}

document.addEventListener("DOMContentLoaded", init);
