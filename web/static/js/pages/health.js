// Health: cameras online/offline with reasons, storage condition, live viewers.
import { api } from "../api.js";
import { $, clear, data, h } from "../dom.js";
import { applyI18n, t } from "../i18n.js";
import { badge, initPage } from "../shell.js";
import { fmtTime } from "../time.js";

const POLL_MS = 5_000;

await initPage("health");
let snapshot = null;

function card(key, value, id) {
  return h("div", { class: "card", id }, h("div", { class: "value" }, value), h("div", { class: "label", dataset: { i18n: key } }));
}

function render() {
  if (!snapshot) return;
  const { health, cameras, live } = snapshot;
  const store = health.object_store_failing_since
    ? t("health.storeFailing", { time: fmtTime(health.object_store_failing_since) })
    : t("health.storeOk");
  clear(
    $("#cards"),
    card("health.cameras", health.cameras_total, "card-cameras"),
    card("health.online", health.cameras_online, "card-online"),
    card("health.offline", health.cameras_total - health.cameras_online, "card-offline"),
    card("health.viewers", live ? live.viewers : "—", "card-viewers"),
    card("health.store", store, "card-store"),
    card("health.spool", health.spool_damaged_parts),
    card("health.dropped", health.spool_dropped_segments),
  );
  const keys = ["events.camera", "camera.state", "health.reason", "camera.fps", "camera.bitrate", "camera.lastPacket", "health.viewers"];
  clear(
    $("#cameras"),
    h("thead", {}, h("tr", {}, keys.map((k) => h("th", { dataset: { i18n: k } })))),
    h("tbody", {}, cameras.map((c) =>
      h("tr", { dataset: { camera: c.id } },
        h("td", {}, data(c.school_name), " ", data(c.name)),
        h("td", {}, badge(c.state)),
        h("td", {}, c.reason ? data(c.reason) : ""),
        h("td", {}, c.fps ? c.fps.toFixed(1) : "—"),
        h("td", {}, c.bitrate_kbps ? `${Math.round(c.bitrate_kbps)} kbps` : "—"),
        h("td", {}, fmtTime(c.last_packet_at)),
        h("td", {}, String(live?.per_camera?.[c.id] ?? 0)),
      ))),
  );
  applyI18n($("#main"));
}

async function poll() {
  try {
    const [health, cameras, live] = await Promise.all([
      api("/healthz"),
      api("/api/cameras"),
      api("/api/live").catch(() => null),
    ]);
    snapshot = { health, cameras, live };
    render();
  } finally {
    setTimeout(poll, POLL_MS);
  }
}

window.addEventListener("langchange", render);
poll();
