// lavlive's control page: drawn from the server's messages (lavlive/web/board.py), so it shows exactly
// the parameters and ranges the show accepts. Every change goes back as {"token", "set": {name: value}}.
"use strict";

const token = document.querySelector('meta[name="lavlive-token"]').content;
const controls = new Map();  // parameter name -> {input, output, kind}
const sendEvery = 33;        // ms: a dragged fader sends at most ~30 changes a second
let socket = null;
let pendingSet = {};
let sendTimer = null;
let messageTimer = null;
let previewUrl = null;
let seeds = [];
let presetOnScreen = null;
const thumbs = new Map();    // "preset:NAME" / "seed:PRESET:SEED" -> data URL

function send(message) {
  if (socket && socket.readyState === WebSocket.OPEN) socket.send(JSON.stringify({token, ...message}));
}

function setLater(name, value) {  // latest value per name, sent together every sendEvery ms
  pendingSet[name] = value;
  if (sendTimer === null) sendTimer = setTimeout(() => {
    sendTimer = null;
    for (const [n, v] of Object.entries(pendingSet)) send({set: {[n]: v}});
    pendingSet = {};
  }, sendEvery);
}

function say(text) {
  const box = document.getElementById("message");
  box.textContent = text;
  box.hidden = false;
  clearTimeout(messageTimer);
  messageTimer = setTimeout(() => { box.hidden = true; }, 6000);
}

function element(tag, attributes = {}, text = "") {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attributes)) e.setAttribute(k, v);
  if (text) e.textContent = text;
  return e;
}

function shownNumber(value, kind) {
  if (value === null || value === undefined) return "–";
  return kind === "int" ? String(value) : Number(value).toFixed(Math.abs(value) >= 100 ? 0 : 2);
}

function fader(name, kind, min, max, doc, onChange, label = name) {
  const row = element("div", {class: "control", title: doc});
  const input = element("input", {type: "range", min, max, "data-name": name,
    step: kind === "int" ? 1 : (max - min) / 1000});
  const output = element("output");
  input.addEventListener("input", () => {
    output.textContent = shownNumber(Number(input.value), kind);
    onChange(kind === "int" ? parseInt(input.value, 10) : Number(input.value));
  });
  row.append(element("span", {}, label), input, output);
  return {row, input, output, kind};
}

function buildParameters(parameters) {
  const box = document.getElementById("parameters");
  box.replaceChildren();
  const groups = new Map();
  for (const p of parameters) {
    if (p.kind !== "float" && p.kind !== "int") continue;
    if (p.name === "seed" || p.name === "crossfade/beat") continue;  // in the Look section
    if (!groups.has(p.group)) {
      const set = element("fieldset");
      set.append(element("legend", {}, p.group));
      groups.set(p.group, set);
      box.append(set);
    }
    const c = fader(p.name, p.kind, p.min, p.max, p.doc, v => setLater(p.name, v));
    groups.get(p.group).append(c.row);
    controls.set(p.name, c);
  }
}

function tile(key, label, onClick) {
  const button = element("button", {class: "tile"});
  const img = element("img", {"data-key": key, alt: label});
  if (thumbs.has(key)) img.src = thumbs.get(key);
  button.append(img, element("span", {}, label));
  button.addEventListener("click", onClick);
  return button;
}

function showSeedTiles() {  // the seeds offered, pictured with the preset on screen
  document.getElementById("seed-tiles").replaceChildren(...seeds.map(seed =>
    tile(`seed:${presetOnScreen}:${seed}`, String(seed), () => send({set: {seed}}))));
}

function showThumbnail(message) {
  thumbs.set(message.key, message.image);
  for (const img of document.querySelectorAll("img[data-key]")) {
    if (img.dataset.key === message.key) img.src = message.image;
  }
}

function hello(message) {
  buildParameters(message.parameters);
  seeds = message.seeds;
  const select = document.getElementById("preset");
  select.replaceChildren(...message.presets.map(name => element("option", {value: name}, name)));
  document.getElementById("preset-tiles").replaceChildren(...message.presets.map(name =>
    tile(`preset:${name}`, name, () => send({set: {preset: name}}))));
  const modes = document.getElementById("switch-modes");
  modes.replaceChildren(...message.switch_modes.map(mode => {
    const b = element("button", {"data-mode": mode}, mode);
    b.addEventListener("click", () => send({switch_on: mode}));
    return b;
  }));
}

function showState(message) {
  const state = message.state;
  for (const [name, c] of controls) {
    if (!(name in state) || document.activeElement === c.input) continue;  // never fight the hand on it
    if (state[name] !== null) c.input.value = state[name];
    c.output.textContent = shownNumber(state[name], c.kind);
  }
  const seed = document.getElementById("seed");
  if (document.activeElement !== seed) seed.value = state.seed;
  const select = document.getElementById("preset");
  if (![...select.options].some(o => o.value === state.preset)) select.append(element("option", {value: state.preset},
    state.preset));
  select.value = state.preset;
  if (state.preset !== presetOnScreen) {
    presetOnScreen = state.preset;
    showSeedTiles();
  }
  for (const b of document.querySelectorAll("#switch-modes button")) {
    b.classList.toggle("on", b.dataset.mode === message.switch_on);
  }
  showRoutes(message.routes);
}

function showRoutes(routes) {
  const box = document.getElementById("routes");
  const names = routes.map(r => r.name).join("\n");
  if (box.dataset.names !== names) {  // another preset: other routes
    box.dataset.names = names;
    box.replaceChildren();
    for (const r of routes) {
      const name = `route/${r.name}/amount`;
      const div = element("div", {class: "route"});
      const c = fader(name, "float", r.min, r.max, r.describe, v => setLater(name, v), r.name);
      div.append(c.row, element("small", {}, r.describe));
      box.append(div);
      controls.set(name, c);
    }
    if (!routes.length) box.append(element("p", {}, "none in this preset"));
  }
  for (const r of routes) {
    const c = controls.get(`route/${r.name}/amount`);
    if (c && document.activeElement !== c.input) {
      c.input.value = r.amount;
      c.output.textContent = shownNumber(r.amount, "float");
    }
  }
}

const statNames = {fps: "frames/s", skipped: "skipped", dropped: "dropped", av_mean_ms: "A/V offset mean (ms)",
  av_p95_ms: "A/V offset p95 (ms)", latency_ms: "input to screen (ms)",
  latency_p95_ms: "input to screen p95 (ms)", backlog_ms: "input backlog (ms)", queue_ws: "queue: ws", queue_frames:
  "queue: frames", audio_queued: "audio queued (s)", draw_ms: "draw (ms)", tempo: "tempo (bpm)", peers: "Link peers",
  track: "track", pages: "pages open"};

function showStats(stats) {
  const box = document.getElementById("stats");
  box.replaceChildren();
  for (const [key, value] of Object.entries(stats)) {
    if (value === null || value === undefined) continue;
    box.append(element("dt", {}, statNames[key] || key),
      element("dd", {id: `stat-${key}`}, typeof value === "number" && !Number.isInteger(value) ? value.toFixed(1)
        : String(value)));
  }
}

function showPlaylist(message) {
  const list = document.getElementById("playlist");
  list.replaceChildren(...message.tracks.map((name, i) =>
    element("li", i === message.current ? {class: "current"} : {}, name)));
}

function showPreview(blob) {
  const img = document.getElementById("preview");
  if (previewUrl) URL.revokeObjectURL(previewUrl);
  previewUrl = URL.createObjectURL(blob);
  img.src = previewUrl;
  img.dataset.frames = String(Number(img.dataset.frames || 0) + 1);
}

function connect() {
  const status = document.getElementById("connection");
  socket = new WebSocket(`${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/ws`);
  socket.binaryType = "blob";
  socket.addEventListener("open", () => {
    status.textContent = "connected";
    status.className = "on";
    send({preview: document.getElementById("preview-on").checked});
  });
  socket.addEventListener("close", () => {
    status.textContent = "disconnected: retrying";
    status.className = "off";
    setTimeout(connect, 2000);
  });
  socket.addEventListener("message", event => {
    if (typeof event.data !== "string") return showPreview(event.data);
    const message = JSON.parse(event.data);
    if (message.type === "hello") hello(message);
    else if (message.type === "state") showState(message);
    else if (message.type === "stats") showStats(message.stats);
    else if (message.type === "playlist") showPlaylist(message);
    else if (message.type === "refused") say(message.message);
    else if (message.type === "thumbnail") showThumbnail(message);
  });
}

document.addEventListener("DOMContentLoaded", () => {
  for (const b of document.querySelectorAll("[data-trigger]")) {
    b.addEventListener("click", () => send({set: {[b.dataset.trigger]: true}}));
  }
  document.getElementById("preset").addEventListener("change", e => send({set: {preset: e.target.value}}));
  document.getElementById("seed").addEventListener("change", e => {
    const seed = Number(e.target.value);
    send({set: {seed: Number.isInteger(seed) ? seed : e.target.value}});
  });
  document.getElementById("seed").addEventListener("keydown", e => { if (e.key === "Enter") e.target.blur(); });
  document.getElementById("new-seed").addEventListener("click", () =>
    send({set: {seed: Math.floor(Math.random() * 2147483647)}}));
  document.getElementById("preview-on").addEventListener("change", e => send({preview: e.target.checked}));
  connect();
});
