// Health: each camera's condition and problems (with reasons), storage, live viewers, and
// uptime roll-ups per school (today) and town (this month) from /api/health.
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
  const { health, cameras, live, condition, schools, towns } = snapshot;
  const byId = new Map((condition ?? []).map((c) => [c.id, c]));
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
  const keys = ["events.camera", "camera.state", "health.condition", "health.problems", "health.reason",
    "camera.fps", "camera.bitrate", "camera.lastPacket", "health.viewers"];
  clear(
    $("#cameras"),
    h("thead", {}, h("tr", {}, keys.map((k) => h("th", { dataset: { i18n: k } })))),
    h("tbody", {}, cameras.map((c) =>
      h("tr", { dataset: { camera: c.id } },
        h("td", {}, data(c.school_name), " ", data(c.name)),
        h("td", {}, badge(c.state)),
        h("td", {}, byId.has(c.id) ? h("span", { dataset: { i18n: `cond.${byId.get(c.id).condition}` } }) : "—"),
        h("td", {}, problems(byId.get(c.id))),
        h("td", {}, c.reason ? data(c.reason) : ""),
        h("td", {}, c.fps ? c.fps.toFixed(1) : "—"),
        h("td", {}, c.bitrate_kbps ? `${Math.round(c.bitrate_kbps)} kbps` : "—"),
        h("td", {}, fmtTime(c.last_packet_at)),
        h("td", {}, String(live?.per_camera?.[c.id] ?? 0)),
      ))),
  );
  clear($("#uptime-schools"), uptimeTable(schools));
  clear($("#uptime-towns"), uptimeTable(towns));
  applyI18n($("#main"));
}

function problems(camera) {
  if (!camera || !camera.problems.length) return "";
  return camera.problems.map((p) =>
    h("div", { title: p.detail }, h("span", { dataset: { i18n: `check.${p.check}` } }), " · ", fmtTime(p.since)));
}

function uptimeTable(report) {
  if (!report || !report.rows.length) return h("tbody", {}, h("tr", {}, h("td", { dataset: { i18n: "common.empty" } })));
  return [
    h("thead", {}, h("tr", {}, h("th", { dataset: { i18n: "health.name" } }), h("th", { dataset: { i18n: "health.uptime" } }))),
    h("tbody", {}, report.rows.map((r) => h("tr", {},
      h("td", {}, data(r.name)),
      h("td", {}, r.uptime == null ? "—" : `${(r.uptime * 100).toFixed(1)} %`)))),
  ];
}

async function poll() {
  try {
    const [health, cameras, live, condition, schools, towns] = await Promise.all([
      api("/healthz"),
      api("/api/cameras"),
      api("/api/live").catch(() => null),
      api("/api/health/cameras").catch(() => null),
      api("/api/health/uptime?level=school&period=day").catch(() => null),
      api("/api/health/uptime?level=town&period=month").catch(() => null),
    ]);
    snapshot = { health, cameras, live, condition, schools, towns };
    render();
  } finally {
    setTimeout(poll, POLL_MS);
  }
}

window.addEventListener("langchange", render);
poll();
