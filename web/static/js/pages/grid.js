// The live video wall: 1/4/9/16 tiles, paging, and an auto-rotating tour (轮巡).
// Tiles take the cameras' sub-streams; the single-tile layout takes the main stream.
import { $, clear, h } from "../dom.js";
import { cameraStates, loadDistrict } from "../district.js";
import { applyI18n, t } from "../i18n.js";
import { liveTile } from "../livetile.js";
import { badge, initPage, notice } from "../shell.js";

const LAYOUTS = [1, 4, 9, 16];
const INTERVALS_S = [10, 30, 60];
const POLL_MS = 5_000;
const LAYOUT_KEY = "bkhub.grid.layout";

await initPage("grid");
const params = new URLSearchParams(location.search);
const { cameras: all } = await loadDistrict();
const cameras = all.filter((c) => c.enabled);
let layout = Number(params.get("n") ?? localStorage.getItem(LAYOUT_KEY) ?? 4);
if (!LAYOUTS.includes(layout)) layout = 4;
let page = 0;
let players = [];
let tourTimer = null;
let intervalS = Number(params.get("interval") ?? INTERVALS_S[1]);

const pages = () => Math.max(1, Math.ceil(cameras.length / layout));

function tile(camera) {
  const state = h("span", { class: "state" }, badge("unknown"));
  const stream = layout === 1 ? "main" : "sub";
  const labels = [camera.school.name, camera.name];
  return { ...liveTile(camera, { stream, labels, lead: state, onOpen: () => open(camera) }), state };
}

function open(camera) {
  location.href = `/camera.html?id=${encodeURIComponent(camera.id)}`;
}

function show() {
  players.forEach((p) => p.player.stop());
  const grid = $("#grid");
  grid.className = `grid n${layout}`;
  const slice = cameras.slice(page * layout, (page + 1) * layout);
  players = slice.map(tile);
  clear(grid, slice.length ? players.map((p) => p.el) : notice("grid.noCameras"));
  players.forEach((p) => p.player.start());
  renderControls();
  refreshStates();
}

function renderControls() {
  clear(
    $("#layouts"),
    LAYOUTS.map((n) =>
      h("button", { type: "button", "aria-pressed": String(n === layout), dataset: { layout: n }, onclick: () => setLayout(n) }, String(n)),
    ),
  );
  $("#page").textContent = t("grid.page", { page: page + 1, pages: pages() });
  const select = $("#interval");
  clear(select, INTERVALS_S.map((s) => h("option", { value: s, selected: s === intervalS }, t("grid.seconds", { n: s }))));
  const tour = $("#tour");
  tour.setAttribute("aria-pressed", String(tourTimer !== null));
  tour.dataset.i18n = tourTimer === null ? "grid.tourStart" : "grid.tourStop";
  applyI18n($("#main"));
}

function setLayout(n) {
  layout = n;
  localStorage.setItem(LAYOUT_KEY, String(n));
  page = 0;
  show();
}

function turn(step) {
  page = (page + step + pages()) % pages();
  show();
}

function setTour(on) {
  clearInterval(tourTimer);
  tourTimer = on ? setInterval(() => turn(1), intervalS * 1000) : null;
  renderControls();
}

async function refreshStates() {
  const states = await cameraStates().catch(() => new Map());
  for (const p of players) clear(p.state, badge(states.get(p.camera.id)?.state ?? "unknown"));
}

$("#prev").addEventListener("click", () => turn(-1));
$("#next").addEventListener("click", () => turn(1));
$("#tour").addEventListener("click", () => setTour(tourTimer === null));
$("#interval").addEventListener("change", (e) => {
  intervalS = Number(e.target.value);
  if (tourTimer !== null) setTour(true);
});
setInterval(refreshStates, POLL_MS);
show();
if (params.get("tour") === "1") setTour(true);
window.addEventListener("langchange", renderControls);
