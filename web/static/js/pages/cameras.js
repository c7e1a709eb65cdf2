// District > town > school > kitchen > camera, with live state badges (polled).
import { isMissing } from "../api.js";
import { $, clear, data, h } from "../dom.js";
import { cameraStates, loadDistrict } from "../district.js";
import { t } from "../i18n.js";
import { badge, initPage, notice, rerenderOnLangChange, roomName } from "../shell.js";

const POLL_MS = 5_000;

await initPage("tree");
let district = null;
let states = new Map();

function cameraItem(camera) {
  const state = states.get(camera.id);
  const reason = state?.state === "offline" && state.reason;
  return h(
    "li",
    { dataset: { camera: camera.id } },
    badge(state?.state ?? (camera.enabled ? "unknown" : "disabled")),
    h("a", { href: `/camera.html?id=${encodeURIComponent(camera.id)}` }, data(camera.name)),
    h("span", { class: "room" }, roomName(camera.room)),
    reason ? data(reason, "span", { class: "reason" }) : null,
  );
}

function school(s, match) {
  const kitchens = s.kitchens
    .map((k) => [k, k.cameras.filter((c) => match(s, c))])
    .filter(([, cams]) => cams.length);
  if (!kitchens.length) return null;
  return h(
    "details",
    { open: true },
    h("summary", {}, data(s.name)),
    kitchens.map(([k, cams]) =>
      h("details", { open: true }, h("summary", {}, data(k.name)), h("ul", {}, cams.map(cameraItem))),
    ),
  );
}

function render() {
  const box = $("#tree");
  if (!district) return;
  const needle = $("#filter").value.trim().toLowerCase();
  const match = (s, c) =>
    !needle || [s.name, c.name, c.id].some((v) => v.toLowerCase().includes(needle));
  const { tree, cameras } = district;
  const towns = tree.towns
    .map((town) => {
      const schools = town.schools.map((s) => school(s, match)).filter(Boolean);
      return schools.length ? h("details", { open: true }, h("summary", {}, data(town.name)), schools) : null;
    })
    .filter(Boolean);
  const direct = tree.direct_schools.map((s) => school(s, match)).filter(Boolean);
  if (direct.length) {
    towns.push(h("details", { open: true }, h("summary", {}, t("tree.direct")), direct));
  }
  const root = h("details", { open: true }, h("summary", {}, data(tree.name)), towns);
  clear(box, cameras.length ? root : notice("common.empty"));
  const online = [...states.values()].filter((s) => s.state === "online").length;
  $("#summary").textContent = t("tree.summary", { total: cameras.length, online });
}

async function poll() {
  try {
    states = await cameraStates();
    render();
  } finally {
    setTimeout(poll, POLL_MS);
  }
}

try {
  district = await loadDistrict();
} catch (e) {
  clear($("#tree"), notice(isMissing(e) ? "common.unavailable" : "common.error", { message: e.message }));
}
$("#filter").addEventListener("input", render);
rerenderOnLangChange(render);
poll();
