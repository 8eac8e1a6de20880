// skysift live page: the object list, its filters (kept in the URL) and the CSV export (see common.js).
"use strict";

// ------------------------------------------------------------------ list view
// The class columns come from the model (state.classes): a model with more classes (or, later, a
// class tree) only changes that list.
function columns() {
  const cols = [
    { key: "object_id", label: "Object", sort: "object_id" },
    { key: "top_class", label: "Class", sort: "top_class" },
    { key: "human_label", label: "Human label" },
  ];
  // a tree model: the level-1 probabilities as columns, the most probable path beside them
  for (const c of state.classes.filter((c) => !c.includes("/"))) cols.push({ key: `p_${c}`, label: `P(${c})`, sort: `prob_${c}`, cls: c });
  if (state.classes.some((c) => c.includes("/"))) cols.push({ key: "class_path", label: "Type", title: "most probable level-1 class, then its most probable subtype" });
  cols.push({ key: "novelty", label: "Novelty", sort: "novelty", num: true, title: "how unlike the model's training objects (0..1, higher = more novel)" });
  cols.push(
    { key: "last_mag", label: "Mag (last)", sort: "last_mag", num: true, title: "magnitude of the latest detection (mag) and its band" },
    { key: "position", label: "RA, Dec (deg)", num: true, title: "ICRS position of the first detection (degrees)" },
    { key: "n_det", label: "Detections", sort: "n_det", num: true },
    { key: "last_mjd", label: "Last detection", sort: "last_mjd", num: true, title: "MJD (days) and UTC date of the latest detection" },
    { key: "updated_at", label: "Updated", sort: "updated", extra: "col-updated" },
  );
  return cols;
}

function renderHead() {
  const row = $("#objects-head");
  row.replaceChildren(...columns().map((col) => {
    if (!col.sort) return h("th", { class: col.num ? "num" : null, title: col.title }, col.label);
    const active = state.sort === col.sort;
    return h("th", {
      class: ["sortable", col.num ? "num" : "", col.extra || ""].join(" ").trim(), "data-sort": col.sort, title: col.title || "sort by this column",
      onclick: () => {
        if (state.sort === col.sort) state.order = state.order === "desc" ? "asc" : "desc";
        else { state.sort = col.sort; state.order = ["object_id", "top_class", "last_mag"].includes(col.sort) ? "asc" : "desc"; }
        state.page = 1;
        listChanged();
      },
    }, col.label, active ? h("span", { class: "arrow" }, state.order === "desc" ? "▼" : "▲") : null);
  }));
}

// MJD (days) -> "YYYY-MM-DD HH:MM" (UTC)
function mjdDate(mjd, withTime = true) {
  if (mjd === null || mjd === undefined || !Number.isFinite(Number(mjd))) return "";
  const iso = new Date((Number(mjd) - 40587) * 86400000).toISOString();
  return withTime ? iso.slice(0, 16).replace("T", " ") : iso.slice(0, 10);
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
      if (col.key === "human_label") return h("td", { class: "label-cell" }, o.human_label ? h("span", { class: "badge human-badge", title: "set by an observer" }, o.human_label) : "");
      if (col.cls) return h("td", {}, probCell(probs[col.cls], col.cls));
      if (col.key === "class_path") return h("td", {}, bestPath(probs) || "–");
      if (col.key === "novelty") return h("td", { class: "num" }, o.novelty === null || o.novelty === undefined ? "–" : fmt(o.novelty, 3));
      if (col.key === "last_mag") {
        return h("td", { class: "num mag", "data-mag": o.last_mag ?? "" }, fmt(o.last_mag, 2),
          o.last_band ? h("span", { class: "band" }, o.last_band) : null);
      }
      if (col.key === "position") {
        return h("td", { class: "num pos" }, o.ra === null || o.ra === undefined ? "–"
          : [h("span", {}, fmt(o.ra, 5)), h("span", {}, `${o.dec >= 0 ? "+" : "−"}${fmt(Math.abs(o.dec), 5)}`)]);
      }
      if (col.key === "n_det") return h("td", { class: "num" }, o.n_det);
      if (col.key === "last_mjd") {
        return h("td", { class: "num when", title: mjdDate(o.last_mjd) ? `${mjdDate(o.last_mjd)} UTC` : null },
          fmt(o.last_mjd, 3), h("span", { class: "date" }, mjdDate(o.last_mjd, false)));
      }
      if (col.key === "updated_at") {
        return h("td", { class: "col-updated", title: new Date(o.updated_at * 1000).toISOString() }, ago(o.updated_at));
      }
      return h("td", {}, o[col.key]);
    });
    return h("tr", { "data-object-id": o.object_id, class: fresh ? "fresh" : null,
                     onclick: (ev) => { if (ev.target.tagName !== "A") location.hash = href; } }, cells);
  });
  body.replaceChildren(...rows);
}

// The list's filters, sort and page live in the URL (#/?cls=SN&min_prob=0.5&mag_max=19&sort=prob_SN&page=2), so
// that a view can be bookmarked, shared and restored by reloading.
const LIST_DEFAULTS = { limit: "50", sort: "updated", order: "desc", page: "1" };

function listValues() {
  return { ...state.f, limit: String(state.limit), sort: state.sort, order: state.order, page: String(state.page) };
}

function listHash() {
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(listValues())) if (v !== "" && v !== LIST_DEFAULTS[k]) params.set(k, v);
  const q = params.toString();
  return q ? `#/?${q}` : "#/";
}

function ensureOption(sel, value, text) {
  if (![...sel.options].some((o) => o.value === value)) sel.append(h("option", { value }, text ?? value));
}

function labelSelectValue() {
  if (state.f.labelled === "1") return ":any";
  if (state.f.labelled === "0") return ":none";
  return state.f.label ? `=${state.f.label}` : "";
}

function readListHash() {
  const m = location.hash.match(/^#\/?\?(.*)$/);
  const params = new URLSearchParams(m ? m[1] : "");
  const get = (k) => (params.has(k) ? params.get(k) : (LIST_DEFAULTS[k] ?? ""));
  for (const k of Object.keys(FILTERS)) state.f[k] = get(k).trim();
  state.limit = Math.max(1, parseInt(get("limit"), 10) || 50);
  state.sort = get("sort");
  state.order = get("order") === "asc" ? "asc" : "desc";
  state.page = Math.max(1, parseInt(get("page"), 10) || 1);
  const sel = $("#f-class");
  if (state.f.cls) ensureOption(sel, state.f.cls);
  sel.value = state.f.cls;
  for (const [k, id] of Object.entries(FILTERS)) if (id && k !== "cls") $(id).value = state.f[k];
  const lsel = $("#f-label");
  if (state.f.label) ensureOption(lsel, `=${state.f.label}`, state.f.label);
  lsel.value = labelSelectValue();
  const lim = $("#f-limit");
  ensureOption(lim, String(state.limit));
  lim.value = String(state.limit);
  filterHints();
}

function listChanged() {
  const target = listHash();
  state.lastList = target;
  if (location.hash !== target && !(target === "#/" && (location.hash === "" || location.hash === "#"))) {
    history.replaceState(null, "", target);
  }
  filterHints();
  refreshList();
}

function isNumber(v) { return v !== "" && v !== null && v !== undefined && Number.isFinite(Number(v)); }

function coneComplete() { return ["ra", "dec", "radius"].every((k) => isNumber(state.f[k])); }

// The query parameters of the filters (the same for the list and the CSV export); numbers that do not parse
// and an incomplete cone are left out (the hints under the inputs say so).
function filterParams() {
  const params = new URLSearchParams();
  const f = state.f;
  if (f.cls) params.set("cls", f.cls);
  if (f.label) params.set("label", f.label);
  if (f.labelled === "0" || f.labelled === "1") params.set("labelled", f.labelled);
  for (const k of ["min_prob", "mjd_min", "mjd_max", "mag_min", "mag_max", "novelty_min"]) if (isNumber(f[k])) params.set(k, f[k]);
  if (coneComplete()) for (const k of ["ra", "dec", "radius"]) params.set(k, f[k]);
  return params;
}

function isFiltered() { return [...filterParams().keys()].length > 0; }

function filterHints() {
  const f = state.f;
  const some = ["ra", "dec", "radius"].filter((k) => f[k] !== "");
  $("#cone-hint").textContent = some.length && !coneComplete() ? "give RA, Dec and radius to search a cone" : "";
  const dates = [f.mjd_min, f.mjd_max].map((v) => (isNumber(v) ? mjdDate(Number(v)) : ""));
  $("#mjd-dates").textContent = dates.some(Boolean) ? `UTC ${dates[0] || "…"} to ${dates[1] || "…"}` : "";
}

function renderPager() {
  const pages = Math.max(1, Math.ceil(state.total / state.limit));
  const first = state.total ? (state.page - 1) * state.limit + 1 : 0;
  const last = Math.min(state.total, state.page * state.limit);
  $("#page-info").textContent = `objects ${first}–${last} of ${state.total} · page ${state.page} of ${pages}`;
  $("#page-prev").disabled = state.page <= 1;
  $("#page-next").disabled = state.page >= pages;
}

function renderLabelOptions() {
  const sel = $("#f-label");
  const current = labelSelectValue();
  const fixed = [h("option", { value: "" }, "any or none"), h("option", { value: ":any" }, "labelled"),
                 h("option", { value: ":none" }, "not labelled")];
  const names = state.labels.map((l) => l.label);
  if (state.f.label && !names.includes(state.f.label)) names.push(state.f.label);
  const counts = Object.fromEntries(state.labels.map((l) => [l.label, l.n]));
  sel.replaceChildren(...fixed, ...names.map((n) => h("option", { value: `=${n}` },
    counts[n] !== undefined ? `${n} (${counts[n]})` : n)));
  sel.value = current;
}

async function refreshLabels() {
  try {
    const data = await api("/labels");
    const next = data.labels || [];
    if (JSON.stringify(next) !== JSON.stringify(state.labels)) { state.labels = next; renderLabelOptions(); }
  } catch (e) { /* the list itself reports errors */ }
}

async function refreshList() {
  const params = filterParams();
  params.set("limit", state.limit);
  params.set("sort", state.sort);
  params.set("order", state.order);
  params.set("offset", (state.page - 1) * state.limit);
  refreshLabels();
  try {
    const data = await api(`/objects?${params}`);
    setClasses(data.classes.length ? data.classes : state.classes);
    state.total = data.total ?? data.count;
    renderHead();
    renderRows(data.objects);
    renderPager();
    const filtered = isFiltered();
    $("#empty").hidden = data.objects.length > 0 || filtered || state.page > 1;
    $("#list-status").textContent = (filtered ? "filtered · " : "") + `refreshed ${new Date().toLocaleTimeString()}`;
    showError(null);
  } catch (e) {
    $("#objects-body").replaceChildren();
    state.total = 0;
    renderPager();
    showError(e.status === 401 ? NEEDS_TOKEN : `Could not load objects: ${e.message}`);
  }
}

// The CSV of every object that passes the filters, in the list's order (the server caps the rows).
async function exportCsv() {
  const params = filterParams();
  params.set("sort", state.sort);
  params.set("order", state.order);
  params.set("max_rows", EXPORT_MAX_ROWS);
  const status = $("#export-status");
  status.textContent = "exporting…";
  try {
    const res = await request(`/objects.csv?${params}`, { headers: { Accept: "text/csv" } });
    if (!res.ok) {
      let reason = res.statusText;
      try { reason = (await res.json()).detail || reason; } catch (e) { /* not JSON */ }
      throw new Error(`${res.status}: ${reason}`);
    }
    const blob = await res.blob();
    const rows = res.headers.get("X-Rows"), total = res.headers.get("X-Total-Count");
    const stamp = new Date().toISOString().slice(0, 16).replace(/[-:]/g, "").replace("T", "-");
    const a = h("a", { href: URL.createObjectURL(blob), download: `skysift-objects-${stamp}.csv`, hidden: "" });
    document.body.append(a);
    a.click();
    setTimeout(() => { URL.revokeObjectURL(a.href); a.remove(); }, 1000);
    status.textContent = `exported ${rows} of ${total} matching objects` +
      (Number(rows) < Number(total) ? ` (at most ${EXPORT_MAX_ROWS} rows: narrow the filters for the rest)` : "");
  } catch (e) {
    status.textContent = `export failed: ${e.message}`;
  }
}

function clearFilters() {
  for (const k of Object.keys(state.f)) state.f[k] = "";
  for (const [k, id] of Object.entries(FILTERS)) if (id) $(id).value = "";
  $("#f-label").value = "";
  state.page = 1;
  listChanged();
}
