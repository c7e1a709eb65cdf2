// One camera: its main stream, details and recent events.
import { api, isMissing } from "../api.js";
import { $, clear, data, h } from "../dom.js";
import { cameraStates, loadDistrict } from "../district.js";
import { eventHead, eventRow } from "../eventlist.js";
import { applyI18n, t } from "../i18n.js";
import { badge, initPage, notice, rerenderOnLangChange, roomName } from "../shell.js";
import { fmtTime } from "../time.js";
import { missPanel } from "../verdicts.js";
import { LivePlayer } from "../whep.js";

const POLL_MS = 5_000;
const RECENT = 10;

await initPage("tree");
const id = new URLSearchParams(location.search).get("id") ?? "";
const { byId } = await loadDistrict();
const camera = byId.get(id);
let state = null;
let events = null;

function renderInfo() {
  if (!camera) return clear($("#main"), notice("camera.notFound"));
  $("#title").textContent = `${camera.school.name} · ${camera.name}`;
  clear($("#state"), badge(state?.state ?? "unknown"));
  const rows = [
    ["camera.school", data(camera.school.name)],
    ["camera.kitchen", data(camera.kitchen.name)],
    ["camera.room", roomName(camera.room)],
    ["camera.fps", state?.fps ? state.fps.toFixed(1) : "—"],
    ["camera.bitrate", state?.bitrate_kbps ? `${Math.round(state.bitrate_kbps)} kbps` : "—"],
    ["camera.lastPacket", fmtTime(state?.last_packet_at)],
  ];
  clear($("#info"), rows.map(([key, value]) => h("tr", {}, h("th", { dataset: { i18n: key } }), h("td", {}, value))));
  applyI18n($("#info"));
}

function renderEvents() {
  const box = $("#events");
  if (events === null) return clear(box, notice("common.unavailable"));
  if (!events.length) return clear(box, notice("common.empty"));
  const open = (e) => (location.href = `/events.html?camera=${encodeURIComponent(id)}&event=${e.id}`);
  clear(box, h("table", {}, eventHead(), h("tbody", {}, events.map((e) => eventRow(e, { onSelect: open })))));
  applyI18n(box);
}

async function poll() {
  try {
    state = (await cameraStates()).get(id) ?? null;
    renderInfo();
  } finally {
    setTimeout(poll, POLL_MS);
  }
}

if (camera) {
  $("#export-link").href = `/export.html?camera=${encodeURIComponent(id)}`;
  const overlay = $("#overlay");
  const player = new LivePlayer($("#video"), id, {
    stream: "main",
    onStatus: (key) => {
      overlay.textContent = key ? t(key) : "";
      if (key) overlay.dataset.i18n = key;
      else delete overlay.dataset.i18n;
    },
  });
  player.start();
  $("#main").append(missPanel(id));
  try {
    events = (await api(`/api/events?camera=${encodeURIComponent(id)}&limit=${RECENT}`)).items;
  } catch (e) {
    if (!isMissing(e)) throw e;
  }
  rerenderOnLangChange(renderEvents);
  rerenderOnLangChange(renderInfo);
  poll();
} else {
  renderInfo();
}
