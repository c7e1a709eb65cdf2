// Footage export for inspections: one camera, any time range, one MP4 (copy, no re-encode).
import { api } from "../api.js";
import { $, clear, data, h } from "../dom.js";
import { loadDistrict } from "../district.js";
import { applyI18n, t } from "../i18n.js";
import { initPage, notice } from "../shell.js";
import { fmtTime, isoToLocalInput, localInputToIso } from "../time.js";

const DEFAULT_SPAN_MS = 10 * 60 * 1000;

await initPage("export");
const { cameras } = await loadDistrict();
const form = $("#export");
const preset = new URLSearchParams(location.search).get("camera");
clear(
  form.elements.camera,
  cameras.map((c) => h("option", { value: c.id, selected: c.id === preset, translate: "no" }, `${c.school.name} · ${c.name}`)),
);
const now = new Date();
form.elements.end.value = isoToLocalInput(now);
form.elements.start.value = isoToLocalInput(new Date(now - DEFAULT_SPAN_MS));
let last = null;

function renderResult() {
  const box = $("#result");
  if (!last) return clear(box);
  if (last.error) return clear(box, h("p", { class: "error" }, t("common.error", { message: last.error })));
  if (last.working) return clear(box, notice("export.working"));
  const x = last.export;
  const mb = (x.bytes / 1e6).toFixed(1);
  clear(
    box,
    h("div", { class: "panel", id: "export-done" },
      h("h2", { dataset: { i18n: "export.done" } }),
      h("p", {}, fmtTime(x.media_start_at), " – ", fmtTime(x.media_end_at), " · ", t("export.duration", { s: Math.round(x.duration_s), mb })),
      h("p", {}, h("a", { href: x.download_url, download: "", dataset: { i18n: "export.download" } })),
      x.gaps.length
        ? h("div", {}, h("p", { dataset: { i18n: "export.gaps" } }),
            h("ul", {}, x.gaps.map((g) => h("li", {}, fmtTime(g.start), " – ", fmtTime(g.end), " ", data(g.reason)))))
        : null,
      h("p", {}, data(`SHA-256 ${x.sha256}`, "code"))),
  );
  applyI18n(box);
}

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  last = { working: true };
  renderResult();
  try {
    const body = {
      camera_id: form.elements.camera.value,
      start: localInputToIso(form.elements.start.value),
      end: localInputToIso(form.elements.end.value),
    };
    last = { export: await api("/api/exports", { method: "POST", json: body }) };
  } catch (e) {
    last = { error: e.message };
  }
  renderResult();
});
window.addEventListener("langchange", renderResult);
