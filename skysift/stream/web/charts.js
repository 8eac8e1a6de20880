// skysift live page: the SVG charts of an object (light curve with upper limits, probabilities) (see common.js).
"use strict";

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
  const toggle = h("p", { class: "muted axis-toggle" }, "x axis: ",
    h("button", { type: "button", class: "linkish", onclick: () => { state.historyX = byMjd ? "n" : "mjd"; refreshObject(); } },
      byMjd ? "switch to observation number" : "switch to MJD"));
  box.replaceChildren(svg, toggle);
}
