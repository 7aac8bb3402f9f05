// The status page as a raw string literal: served as is, so the binary needs no files and the
// browser no network beyond the job. Hand-written canvas charts, about Spark's Streaming tab.
#include "net/status_page.hpp"

namespace rill::net {

namespace {

constexpr std::string_view kPage = R"RILLPAGE(<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>rill status</title>
<style>
body { font: 14px/1.4 system-ui, sans-serif; margin: 1.2em 2em; color: #222; background: #fff; }
h1 { font-size: 1.5em; margin: 0 0 .2em; } h2 { font-size: 1.15em; margin: 1.4em 0 .4em; }
#summary { color: #555; margin-bottom: 1em; }
.err { color: #b00; }
table { border-collapse: collapse; margin-bottom: .5em; }
th, td { border: 1px solid #ddd; padding: 3px 9px; text-align: right; font-variant-numeric: tabular-nums; }
th { background: #f3f5f7; } td.l, th.l { text-align: left; }
.stats { display: grid; grid-template-columns: 13em 1fr 24em; gap: 6px 16px; align-items: center; }
.stats .name { font-weight: 600; } .stats .name small { display: block; font-weight: 400; color: #666; }
canvas { border: 1px solid #e4e4e4; background: #fcfcfd; }
ul.tree { margin: 0; padding-left: 1.3em; } ul.tree li { list-style: square; }
.kind { color: #777; } .restarts { color: #b00; }
</style>
</head>
<body data-renders="0">
<h1>rill streaming</h1>
<div id="summary">loading…</div>
<h2>Statistics <small id="window" class="kind"></small></h2>
<div class="stats" id="stats"></div>
<h2>Active batches (<span id="nactive">0</span>)</h2>
<table id="active"><thead><tr><th>batch time</th><th>records</th><th>scheduling delay</th><th>processing time</th><th class="l">status</th></tr></thead><tbody></tbody></table>
<h2>Completed batches (last <span id="ncompleted">0</span> of <span id="ntotal">0</span>)</h2>
<table id="completed"><thead><tr><th>batch time</th><th>records</th><th>scheduling delay</th><th>processing time</th><th>total delay</th><th>output ops: done/total</th><th class="l">status</th></tr></thead><tbody></tbody></table>
<h2>Receivers</h2>
<table id="receivers"><thead><tr><th class="l">stream</th><th class="l">active</th><th>starts</th><th>errors</th><th class="l">last error</th></tr></thead><tbody></tbody></table>
<h2>Supervision</h2>
<div id="restarts"></div>
<div id="tree"></div>
<script>
"use strict";
const params = new URLSearchParams(location.search);
const refreshMs = Math.max(200, Number(params.get("refresh")) || 2000);
const SERIES = [
  {key: "input_rate", name: "Input rate", unit: "records/s", color: "#3b73b9"},
  {key: "scheduling_delay_ms", name: "Scheduling delay", unit: "ms", color: "#d4812a"},
  {key: "processing_time_ms", name: "Processing time", unit: "ms", color: "#3e9651"},
  {key: "total_delay_ms", name: "Total delay", unit: "ms", color: "#8b4fb1"},
];
const statsEl = document.getElementById("stats");
for (const s of SERIES) {
  statsEl.insertAdjacentHTML("beforeend",
    `<div class="name">${s.name}<small id="avg-${s.key}"></small></div>` +
    `<canvas id="tl-${s.key}" class="chart timeline" width="640" height="130" data-points="0"></canvas>` +
    `<canvas id="hist-${s.key}" class="chart histogram" width="360" height="130" data-points="0"></canvas>`);
}
// Batch times with their milliseconds: batches are often less than a second apart.
const fmtTime = ms => new Date(ms).toISOString().replace("T", " ").replace(/Z$/, "");
const fmtMs = v => v === null || v === undefined ? "-" : v < 1000 ? v + " ms" : (v / 1000).toFixed(2) + " s";
const fmtNum = v => v === null || v === undefined ? "-" : Math.abs(v) >= 100 ? Math.round(v).toString() : Number(v.toFixed(2)).toString();
const esc = s => String(s).replace(/[&<>"]/g, c => ({"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;"}[c]));

function axes(ctx, w, h, pad, maxY, unit) {
  ctx.strokeStyle = "#999"; ctx.fillStyle = "#555"; ctx.font = "10px sans-serif"; ctx.lineWidth = 1;
  ctx.beginPath(); ctx.moveTo(pad.l, pad.t); ctx.lineTo(pad.l, h - pad.b); ctx.lineTo(w - pad.r, h - pad.b); ctx.stroke();
  ctx.textAlign = "right";
  ctx.fillText(fmtNum(maxY), pad.l - 3, pad.t + 8);
  ctx.fillText("0", pad.l - 3, h - pad.b);
  ctx.save(); ctx.translate(10, (h - pad.b + pad.t) / 2); ctx.rotate(-Math.PI / 2);
  ctx.textAlign = "center"; ctx.fillText(unit, 0, 0); ctx.restore();
}

function drawTimeline(canvas, pts, color, unit) {
  const ctx = canvas.getContext("2d"), w = canvas.width, h = canvas.height;
  const pad = {l: 46, r: 10, t: 8, b: 20};
  ctx.clearRect(0, 0, w, h);
  const maxY = Math.max(1, ...pts.map(p => p[1])) * 1.1;
  axes(ctx, w, h, pad, maxY, unit);
  canvas.dataset.points = pts.length;
  if (pts.length === 0) return;
  const x0 = pts[0][0], x1 = Math.max(pts[pts.length - 1][0], x0 + 1);
  const X = x => pad.l + (x - x0) / (x1 - x0) * (w - pad.l - pad.r);
  const Y = y => h - pad.b - y / maxY * (h - pad.t - pad.b);
  ctx.textAlign = "left"; ctx.fillText(fmtTime(x0).slice(11) + " UTC", pad.l, h - 6);
  ctx.textAlign = "right"; ctx.fillText(fmtTime(x1).slice(11), w - pad.r, h - 6);
  ctx.strokeStyle = color; ctx.fillStyle = color; ctx.lineWidth = 1.5;
  ctx.beginPath();
  pts.forEach((p, i) => i ? ctx.lineTo(X(p[0]), Y(p[1])) : ctx.moveTo(X(p[0]), Y(p[1])));
  ctx.stroke();
  for (const p of pts) { ctx.beginPath(); ctx.arc(X(p[0]), Y(p[1]), 2, 0, 2 * Math.PI); ctx.fill(); }
}

function drawHistogram(canvas, values, color, unit) {
  const ctx = canvas.getContext("2d"), w = canvas.width, h = canvas.height;
  const pad = {l: 46, r: 10, t: 8, b: 20};
  ctx.clearRect(0, 0, w, h);
  const nb = 12, lo = Math.min(0, ...values), hi = Math.max(1, ...values);
  const bins = new Array(nb).fill(0), width = (hi - lo) / nb;
  for (const v of values) bins[Math.min(nb - 1, Math.floor((v - lo) / width))] += 1;
  const maxY = Math.max(1, ...bins);
  axes(ctx, w, h, pad, maxY, "batches");
  canvas.dataset.points = values.length;
  const bw = (w - pad.l - pad.r) / nb;
  ctx.fillStyle = color;
  bins.forEach((c, i) => {
    const bh = c / maxY * (h - pad.t - pad.b);
    ctx.fillRect(pad.l + i * bw + 1, h - pad.b - bh, bw - 2, bh);
  });
  ctx.fillStyle = "#555"; ctx.textAlign = "left"; ctx.fillText(fmtNum(lo) + " " + unit, pad.l, h - 6);
  ctx.textAlign = "right"; ctx.fillText(fmtNum(hi), w - pad.r, h - 6);
}

function renderBatches(d) {
  const done = d.batches.filter(b => b.status === "completed");
  const interval = d.batch_interval_ms;
  const since = d.started !== null ? " since " + fmtTime(d.started) : "";
  document.getElementById("summary").innerHTML =
    `Running batches of ${fmtMs(interval)}${since}: <b>${d.completed}</b> completed batches, ` +
    `<b>${d.failed}</b> failed, <b>${d.input_records}</b> records.`;
  document.getElementById("window").textContent = done.length ? `(last ${done.length} batches)` : "";
  for (const s of SERIES) {
    const pts = done.filter(b => b[s.key] !== null).map(b => [b.batch_time, b[s.key]]);
    const vals = pts.map(p => p[1]);
    const avg = vals.length ? vals.reduce((a, b) => a + b, 0) / vals.length : null;
    document.getElementById("avg-" + s.key).textContent = avg === null ? "" : "avg " + fmtNum(avg) + " " + s.unit;
    drawTimeline(document.getElementById("tl-" + s.key), pts, s.color, s.unit);
    drawHistogram(document.getElementById("hist-" + s.key), vals, s.color, s.unit);
  }
  document.getElementById("nactive").textContent = d.active.length;
  document.querySelector("#active tbody").innerHTML = d.active.map(b =>
    `<tr><td>${fmtTime(b.batch_time)}</td><td>${b.input_records}</td><td>${fmtMs(b.scheduling_delay_ms)}</td>` +
    `<td>${fmtMs(b.processing_time_ms)}</td><td class="l">${b.status}</td></tr>`).join("");
  const recent = d.batches.slice().reverse().slice(0, 30);
  document.getElementById("ncompleted").textContent = recent.length;
  document.getElementById("ntotal").textContent = d.completed + d.failed;
  document.querySelector("#completed tbody").innerHTML = recent.map(b => {
    const ok = b.outputs.filter(o => o.end_time > 0 && o.failure === null).length;
    const status = b.failure ? `<span class="err">${esc(b.failure)}</span>` : b.rerun ? "re-run" : "ok";
    return `<tr><td>${fmtTime(b.batch_time)}</td><td>${b.input_records}</td><td>${fmtMs(b.scheduling_delay_ms)}</td>` +
      `<td>${fmtMs(b.processing_time_ms)}</td><td>${fmtMs(b.total_delay_ms)}</td>` +
      `<td>${ok}/${b.outputs.length}</td><td class="l">${status}</td></tr>`;
  }).join("");
}

function renderReceivers(d) {
  document.querySelector("#receivers tbody").innerHTML = d.receivers.length === 0
    ? `<tr><td class="l" colspan="5">none reported</td></tr>`
    : d.receivers.map(r => `<tr><td class="l">${esc(r.name)}${r.node ? " on " + esc(r.node) : ""}</td>` +
      `<td class="l">${r.active ? "yes" : "no"}</td>` +
      `<td>${r.starts}</td><td>${r.errors}</td><td class="l">${esc(r.last_error)}</td></tr>`).join("");
}

function treeHtml(n) {
  const r = n.restarts ? ` <span class="restarts">${n.restarts} restart(s)</span>` : "";
  const kids = n.children.length ? `<ul class="tree">${n.children.map(treeHtml).join("")}</ul>` : "";
  return `<li>${esc(n.name)} <span class="kind">(${esc(n.kind)})</span>${r}${kids}</li>`;
}

function renderSupervision(d) {
  const kinds = Object.entries(d.restarts.restarts_by_kind);
  document.getElementById("restarts").textContent = kinds.length
    ? "Restarts: " + kinds.map(([k, n]) => `${k} ${n}`).join(", ") : "No actor restarts.";
  document.getElementById("tree").innerHTML = d.tree ? `<ul class="tree">${treeHtml(d.tree)}</ul>` : "";
}

async function refresh() {
  try {
    const get = path => fetch(path, {cache: "no-store"}).then(r => r.json());
    const [b, r, s] = await Promise.all([get("/api/batches?last=200"), get("/api/receivers"), get("/api/supervision")]);
    renderBatches(b); renderReceivers(r); renderSupervision(s);
    document.body.dataset.renders = Number(document.body.dataset.renders) + 1;
  } catch (e) {
    document.getElementById("summary").innerHTML = `<span class="err">cannot reach the job: ${esc(e)}</span>`;
  }
  setTimeout(refresh, refreshMs);
}
refresh();
</script>
</body>
</html>
)RILLPAGE";

}  // namespace

std::string_view status_page_html() { return kPage; }

}  // namespace rill::net
