// aekit explorer: plain JavaScript, no framework, no build step, nothing from the network.
// Every code shown is origin + t . directions (GET /api/info's axes): one slider per entry of t;
// the latent map plots the first two entries of t for the test images.
"use strict";

const PALETTE = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
                 "#bcbd22", "#17becf"];
const HIT_PIXELS = 8;          // a click or hover this close to a point picks it
const $ = (id) => document.getElementById(id);

const state = { info: null, map: null, t: [], rest: [], selected: null, a: null, b: null, upload: null,
                view: null, marks: {} };

// -- talking to the server --------------------------------------------------------------
async function call(path, options = {}) {
  const response = await fetch(path, options);
  if (!response.ok) {
    let message = `${response.status}`;
    try { message = (await response.json()).error || message; } catch (_) { /* not JSON */ }
    throw new Error(message);
  }
  return response;
}
const getJSON = async (path) => (await call(path)).json();
const postJSON = (path, body) => call(path, { method: "POST", headers: { "Content-Type": "application/json" },
                                              body: JSON.stringify(body) });
function report(error) { $("status").textContent = error ? `error: ${error.message || error}` : ""; }

async function showBlob(img, response) {
  const url = URL.createObjectURL(await response.blob());
  const old = img.src;
  await new Promise((resolve) => { img.onload = resolve; img.onerror = resolve; img.src = url; });
  img.dataset.loads = String(Number(img.dataset.loads || 0) + 1);   // the browser tests wait on this
  if (old.startsWith("blob:")) URL.revokeObjectURL(old);
}

// -- codes -------------------------------------------------------------------------------
function codeOf(t) {
  const { origin, directions } = state.info.axes;
  const code = origin.slice();
  t.forEach((value, k) => directions[k].forEach((w, d) => { code[d] += value * w; }));
  return code;
}
function project(code) {
  const { origin, directions } = state.info.axes;
  return directions.map((row) => row.reduce((sum, w, d) => sum + w * (code[d] - origin[d]), 0));
}

// One decode in flight at a time; while it runs, only the latest request waits (a slider
// dragged fast sends what is current, not every value it passed).
let decoding = false, waiting = null;
async function decode(code, caption) {
  if (decoding) { waiting = [code, caption]; return; }
  decoding = true;
  try {
    await showBlob($("decoded"), await postJSON("/api/decode", { code }));
    $("decoded-caption").textContent = caption;
    report(null);
  } catch (error) { report(error); }
  decoding = false;
  if (waiting) { const next = waiting; waiting = null; decode(...next); }
}

// -- sliders -------------------------------------------------------------------------------
function buildSliders() {
  const { axes, code_dim } = state.info;
  const box = $("sliders");
  box.textContent = "";
  state.rest = project(state.info.limits.code_center);
  axes.low.forEach((low, k) => {
    const high = axes.high[k];
    const row = document.createElement("div");
    row.className = "slider";
    const name = axes.kind === "pca" ? `PC ${k + 1}` : `z${k + 1}`;
    row.innerHTML = `<label for="slider-${k}">${name}</label><input id="slider-${k}" type="range"><output></output>`;
    const input = row.querySelector("input");
    Object.assign(input, { min: low, max: high, step: (high - low) / 200 || 1e-6 });
    input.addEventListener("input", () => {
      state.t[k] = Number(input.value);
      row.querySelector("output").textContent = state.t[k].toFixed(2);
      decode(codeOf(state.t), "decoded from the sliders");
    });
    box.appendChild(row);
  });
  $("slider-hint").textContent = axes.kind === "pca"
    ? `${code_dim}-d codes: one slider per leading principal axis of the training codes (${axes.low.length}); ` +
      "the other directions stay at the training mean."
    : `one slider per code dimension (${code_dim}).`;
  setSliders(state.rest);
}
function setSliders(t) {
  const { low, high } = state.info.axes;
  state.t = t.map((v, k) => Math.min(high[k], Math.max(low[k], v)));
  state.t.forEach((v, k) => {
    const input = $(`slider-${k}`);
    input.value = v;
    input.parentElement.querySelector("output").textContent = v.toFixed(2);
  });
}

// -- the latent map ------------------------------------------------------------------------
function mapView() {
  const { x, y } = state.map;
  const pad = (lo, hi) => { const m = (hi - lo) * 0.05 || 1; return [lo - m, hi + m]; };
  const [x0, x1] = pad(Math.min(...x), Math.max(...x));
  const [y0, y1] = pad(Math.min(...y), Math.max(...y));
  const canvas = $("map");
  return { x0, x1, y0, y1, w: canvas.width, h: canvas.height };
}
const toScreen = (v, x, y) => [(x - v.x0) / (v.x1 - v.x0) * v.w, (1 - (y - v.y0) / (v.y1 - v.y0)) * v.h];
const toData = (v, px, py) => [v.x0 + px / v.w * (v.x1 - v.x0), v.y0 + (1 - py / v.h) * (v.y1 - v.y0)];

function drawMap() {
  const canvas = $("map"), ctx = canvas.getContext("2d"), v = state.view;
  const { x, y, labels } = state.map;
  ctx.fillStyle = "#fff";
  ctx.fillRect(0, 0, v.w, v.h);
  ctx.globalAlpha = 0.7;
  for (let i = 0; i < x.length; i++) {
    const [px, py] = toScreen(v, x[i], y[i]);
    ctx.fillStyle = labels ? PALETTE[labels[i] % PALETTE.length] : "#1f77b4";
    ctx.fillRect(px - 1.5, py - 1.5, 3, 3);
  }
  ctx.globalAlpha = 1;
  for (const [name, mark] of Object.entries(state.marks)) {
    const [px, py] = toScreen(v, mark[0], mark[1]);
    ctx.strokeStyle = "#000"; ctx.lineWidth = 2;
    ctx.beginPath(); ctx.arc(px, py, 6, 0, 2 * Math.PI); ctx.stroke();
    if (name === "selected") continue;      // a ring alone: A, B and the upload are named
    ctx.fillStyle = "#000"; ctx.font = "bold 12px system-ui";
    ctx.fillText(name, px + 8, py - 8);
  }
}
function drawLegend() {
  const { classes } = state.info, labels = state.map.labels;
  if (!labels) return;
  const present = [...new Set(labels)].sort((a, b) => a - b);
  $("legend").innerHTML = "";
  for (const label of present) {
    const span = document.createElement("span");
    span.style.setProperty("--c", PALETTE[label % PALETTE.length]);
    span.textContent = classes ? classes[label] : String(label);
    $("legend").appendChild(span);
  }
}
function nearestPoint(px, py) {
  const v = state.view, { x, y } = state.map;
  let best = -1, bestD = HIT_PIXELS * HIT_PIXELS;
  for (let i = 0; i < x.length; i++) {
    const [qx, qy] = toScreen(v, x[i], y[i]);
    const d = (qx - px) ** 2 + (qy - py) ** 2;
    if (d < bestD) { bestD = d; best = i; }
  }
  return best;
}
function canvasPoint(event) {
  const r = $("map").getBoundingClientRect();
  return [(event.clientX - r.left) * $("map").width / r.width, (event.clientY - r.top) * $("map").height / r.height];
}
function onHover(event) {
  const [px, py] = canvasPoint(event), i = nearestPoint(px, py), img = $("hover-image");
  if (i < 0) { img.hidden = true; return; }
  const src = `/api/images/${i}.png`;
  if (!img.src.endsWith(src)) img.src = src;
  Object.assign(img.style, { left: `${Math.min(px + 12, state.view.w - 60)}px`, top: `${Math.max(py - 64, 0)}px` });
  img.hidden = false;
}
async function onClick(event) {
  const [px, py] = canvasPoint(event), i = nearestPoint(px, py);
  try {
    if (i >= 0) return await selectPoint(i);
    const [x, y] = toData(state.view, px, py);
    const t = state.rest.slice();
    t[0] = x; if (t.length > 1) t[1] = y;
    const code = codeOf(t);
    setSliders(t);
    state.marks.selected = [x, y];
    drawMap();
    select(`the map at (${x.toFixed(2)}, ${y.toFixed(2)})`, code, null);
    decode(code, "decoded from the map");
    showNeighbours((await (await postJSON("/api/neighbours", { code, k: 8 })).json()).neighbours);
  } catch (error) { report(error); }
}

// -- a chosen point: its image, its decoding, its neighbours ---------------------------------
function select(name, code, imageSrc) {
  state.selected = { name, code };
  $("point-info").textContent = name;
  const img = $("point-image");
  if (imageSrc) { img.src = imageSrc; img.hidden = false; } else { img.removeAttribute("src"); img.hidden = true; }
  $("set-a").disabled = $("set-b").disabled = false;
}
async function selectPoint(i) {
  const point = await getJSON(`/api/points/${i}`);
  const label = point.label === null ? "" : `, label ${point.label}`;
  select(`test image #${i}${label}; anomaly score ${point.score.toFixed(2)} ` +
         `(above ${(100 * point.score_rank).toFixed(0)}% of the test images)`, point.code, `/api/images/${i}.png`);
  state.marks.selected = [state.map.x[i], state.map.y[i]];
  drawMap();
  setSliders(project(point.code));
  decode(point.code, `decoded: the code of test image #${i}`);
  showNeighbours(point.neighbours);
}
function showNeighbours(neighbours) {
  const list = $("neighbours");
  list.textContent = "";
  for (const n of neighbours) {
    const li = document.createElement("li");
    // Built node by node: labels come from user folder names, never parsed as markup.
    const img = document.createElement("img");
    img.className = "digit";
    img.alt = `test image ${n.index}`;
    img.src = `/api/images/${n.index}.png`;
    li.append(img, `${n.label === null ? "" : n.label + " "}(${n.distance.toFixed(2)})`);
    li.title = `test image #${n.index}, distance ${n.distance}`;
    li.addEventListener("click", () => selectPoint(n.index).catch(report));
    list.appendChild(li);
  }
}

// -- upload ------------------------------------------------------------------------------------
async function onUpload() {
  const file = $("upload").files[0];
  if (!file) return;
  const form = new FormData();
  form.append("file", file);
  try {
    const out = await (await call("/api/upload", { method: "POST", body: form })).json();
    await Promise.all([["upload-input", out.input], ["upload-recon", out.reconstruction]].map(([id, src]) =>
      new Promise((resolve) => { const img = $(id); img.onload = resolve; img.onerror = resolve; img.src = src; })));
    $("upload-recon").dataset.loads = String(Number($("upload-recon").dataset.loads || 0) + 1);
    const resized = out.resized ? ` (resized from ${out.size[0]}x${out.size[1]})` : "";
    const shown = out.code.slice(0, 4).map((v) => v.toFixed(2)).join(", ") + (out.code.length > 4 ? ", …" : "");
    $("upload-result").textContent = `${file.name}${resized}: anomaly score ${out.score.toFixed(2)}, above ` +
      `${(100 * out.score_rank).toFixed(0)}% of the test images; code [${shown}]`;
    state.upload = { name: `upload ${file.name}`, code: out.code };
    state.marks.upload = out.coords.length > 1 ? out.coords : [out.coords[0], 0];
    state.marks.selected = state.marks.upload;
    drawMap();
    $("upload-a").disabled = $("upload-b").disabled = false;
    // The upload becomes the chosen point, so the panel names what its neighbours are near.
    select(`the upload ${file.name}; anomaly score ${out.score.toFixed(2)}`, out.code, out.input);
    setSliders(project(out.code));
    decode(out.code, `decoded: the code of the upload ${file.name}`);
    showNeighbours(out.neighbours);
    report(null);
  } catch (error) { report(error); }
}

// -- interpolation -------------------------------------------------------------------------------
function setEnd(which, chosen) {
  if (!chosen) return;
  state[which] = chosen;
  $(`${which}-name`).textContent = chosen.name;
  const t = project(chosen.code);
  state.marks[which.toUpperCase()] = [t[0], t.length > 1 ? t[1] : 0];
  drawMap();
  $("interpolate").disabled = !(state.a && state.b);
}
async function interpolate() {
  const steps = Math.min(32, Math.max(2, Math.round(Number($("steps").value) || 10)));
  try {
    const response = await postJSON("/api/interpolate", { a: state.a.code, b: state.b.code, steps,
                                                          method: $("method").value });
    const strip = $("strip");
    await showBlob(strip, response);
    report(null);
  } catch (error) { report(error); }
}

// -- start -------------------------------------------------------------------------------------
async function start() {
  try {
    [state.info, state.map] = await Promise.all([getJSON("/api/info"), getJSON("/api/map")]);
  } catch (error) { report(error); return; }
  const { info } = state;
  $("model-info").textContent = `${info.model}; ${info.points} test images of ${info.data}` +
    (info.data_note ? ` (${info.data_note})` : "");
  $("map-hint").textContent += info.axes.kind === "pca" ? " Axes: the two leading principal axes of the codes." : "";
  buildSliders();
  state.view = mapView();
  drawMap();
  drawLegend();
  decode(codeOf(state.t), "decoded: the training codes' mean");
  const map = $("map");
  map.addEventListener("mousemove", onHover);
  map.addEventListener("mouseleave", () => { $("hover-image").hidden = true; });
  map.addEventListener("click", onClick);
  $("reset-sliders").addEventListener("click", () => { setSliders(state.rest); decode(codeOf(state.t), "decoded: the training codes' mean"); });
  $("upload").addEventListener("change", onUpload);
  $("set-a").addEventListener("click", () => setEnd("a", state.selected));
  $("set-b").addEventListener("click", () => setEnd("b", state.selected));
  $("upload-a").addEventListener("click", () => setEnd("a", state.upload));
  $("upload-b").addEventListener("click", () => setEnd("b", state.upload));
  $("interpolate").addEventListener("click", interpolate);
  document.body.dataset.ready = "1";
}
start();
