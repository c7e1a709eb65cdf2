// The special supervisor's page (特别监督员, 家校共治): one school's live views, nothing else.
// Opened as /watch.html#<secret>: the fragment never reaches the server's logs; the secret
// goes to the hub as a bearer header. When the link expires or is revoked the page ends its
// views and says so; the hub ends the sessions on its side too.
import { $, clear, h } from "../dom.js";
import { applyI18n, t, toggleLang } from "../i18n.js";
import { liveTile } from "../livetile.js";
import { fmtTime } from "../time.js";

const RECHECK_MS = 30_000; // notices a revocation even while every view still plays
const MAX_TIMER_MS = 3_600_000; // setTimeout overflows past 24.8 days: re-arm hourly

const secret = location.hash.slice(1);
const auth = { headers: { Authorization: `Bearer ${secret}` }, onUnauthorized: () => check() };
let info = null;
let tiles = [];
let ended = null; // the refusal code once the link no longer works
let timers = [];

// The link's school and expiry, or the code the hub refused it with.
async function fetchInfo() {
  const reply = await fetch("/api/watch", { headers: auth.headers, credentials: "omit" });
  if (reply.ok) return { info: await reply.json() };
  const body = await reply.json().catch(() => null);
  return { refused: body?.error?.code ?? "link_invalid" };
}

async function check() {
  if (ended) return;
  const result = await fetchInfo().catch(() => ({}));
  if (result.refused) end(result.refused);
}

function end(code) {
  if (ended) return;
  ended = ["link_expired", "link_revoked"].includes(code) ? code : "link_invalid";
  timers.forEach(clearTimeout);
  tiles.forEach((tile) => tile.player.stop({ release: false }));
  tiles = [];
  $("#grid")?.remove(); // the console's .grid display rule would override `hidden`
  $("#ended").hidden = false;
  render();
}

function armExpiry() {
  const left = new Date(info.expires_at).getTime() - Date.now();
  if (left <= 0) return end("link_expired");
  timers.push(setTimeout(armExpiry, Math.min(left, MAX_TIMER_MS)));
}

function render() {
  applyI18n();
  if (ended) {
    $("#banner").textContent = t("watch.title");
    $("#who").textContent = "";
    $("#ended-title").textContent = t(`watch.${ended}`);
    $("#ended-text").textContent = t("watch.endedHint");
    return;
  }
  $("#banner").textContent = t("watch.banner", { until: fmtTime(info.expires_at, { seconds: false }) });
  clear($("#who"), h("span", { translate: "no" }, `${info.school.name} · ${info.name}`));
}

function show() {
  const cameras = info.school.kitchens.flatMap((k) => k.cameras.filter((c) => c.enabled).map((c) => ({ ...c, kitchen: k })));
  tiles = cameras.map((camera) => liveTile(camera, { stream: "sub", labels: [camera.kitchen.name, camera.name], auth }));
  const grid = $("#grid");
  grid.className = `grid n${cameras.length <= 1 ? 1 : cameras.length <= 4 ? 4 : cameras.length <= 9 ? 9 : 16}`;
  clear(grid, tiles.map((tile) => tile.el));
  tiles.forEach((tile) => tile.player.start());
}

$("#lang-toggle").addEventListener("click", toggleLang);
window.addEventListener("langchange", render);
const first = secret ? await fetchInfo().catch(() => ({ refused: "link_invalid" })) : { refused: "link_invalid" };
if (first.refused) {
  end(first.refused);
} else {
  info = first.info;
  render();
  show();
  armExpiry();
  timers.push(setInterval(check, RECHECK_MS));
}
