// Verdicts teach the detector (issue 15): 确认违规 / 误报 on an event, 漏报 boxed on a camera's
// frame (live or recorded), and the false-alarm rates that show which cameras are noisy.
import { api, ApiError, toLogin } from "./api.js";
import { clear, data, h } from "./dom.js";
import { applyI18n, t } from "./i18n.js";
import { fmtTime, isoToLocalInput, localInputToIso } from "./time.js";

const REASONS = ["wrong_object", "wrong_person_state", "not_in_area", "other"];
// The detector class a missed violation of each type is boxed as (detectors/scenes/labels.py).
const MISS_CLASS = { no_chef_hat: "head_bare", no_mask: "face_bare", no_gloves: "hand_bare", rat: "rat", cockroach: "cockroach" };

// An empty state that follows the language toggle (applyI18n switches data-i18n at once).
const emptyNote = (key) => h("p", { class: "notice", dataset: { i18n: key } }, t(key));
const errorText = (err) => (err instanceof ApiError ? err.message : String(err));

function givenText(verdict) {
  const kind = t(`verdict.${verdict.kind}`);
  const shown = verdict.reason ? t("verdict.withReason", { verdict: kind, reason: t(`reason.${verdict.reason}`) }) : kind;
  return t("verdict.givenBy", { verdict: shown, user: verdict.given_by, time: fmtTime(verdict.created_at) });
}

// The verdict part of the event desk; `onGiven` reloads the event after a verdict.
export function verdictPanel(event, onGiven) {
  if (event.kind !== "violation") return null;
  if (event.verdict) return h("div", { id: "verdict-given" }, h("h2", { dataset: { i18n: "verdict.title" } }), h("p", {}, givenText(event.verdict)));
  const reason = h("select", { name: "reason" },
    REASONS.map((r) => h("option", { value: r, dataset: { i18n: `reason.${r}` } })));
  const note = h("textarea", { name: "note", rows: 2, maxLength: 500 });
  const message = h("p", { class: "error", role: "alert" });
  const give = async (kind) => {
    const json = { kind, note: note.value || null };
    if (kind === "false_alarm") json.reason = reason.value;
    try {
      await api(`/api/events/${event.id}/verdict`, { method: "POST", json });
      await onGiven();
    } catch (err) {
      message.textContent = errorText(err);
    }
  };
  return h(
    "form",
    { class: "stack", id: "verdict", onsubmit: (e) => e.preventDefault() },
    h("h2", { dataset: { i18n: "verdict.title" } }),
    h("label", {}, h("span", { dataset: { i18n: "verdict.reason" } }), reason),
    h("label", {}, h("span", { dataset: { i18n: "verdict.note" } }), note),
    message,
    h("div", { class: "buttons" },
      h("button", { type: "button", id: "confirm", class: "primary", onclick: () => give("confirmed"), dataset: { i18n: "verdict.confirmed" } }),
      h("button", { type: "button", id: "false-alarm", onclick: () => give("false_alarm"), dataset: { i18n: "verdict.false_alarm" } })),
  );
}

// False-alarm rates per camera and type, this week or this month, noisiest first.
export async function renderRates(box, period, cameraName) {
  const report = await api(`/api/verdicts/false-alarm-rates?period=${period}`);
  if (!report.rows.length) return clear(box, emptyNote("common.empty"));
  const head = h("tr", {}, ["events.camera", "events.type", "verdict.events", "verdict.falseAlarms", "verdict.rate"]
    .map((key) => h("th", { dataset: { i18n: key } })));
  const rows = report.rows.map((r) => h("tr", { dataset: { camera: r.camera_id, type: r.type }, class: r.rate >= 0.5 ? "noisy" : null },
    h("td", {}, data(cameraName(r.camera_id))), h("td", { dataset: { i18n: `type.${r.type}` } }),
    h("td", {}, String(r.events)), h("td", {}, String(r.false_alarms)), h("td", {}, `${Math.round(r.rate * 100)}%`)));
  clear(box, h("table", { id: "rates-table" }, h("thead", {}, head), h("tbody", {}, rows)));
  applyI18n(box);
}

// Places where one camera's rule keeps giving false alarms: the hub proposes an exclude zone,
// a principal or above accepts it (applied at once) or turns it down (not proposed again).
export async function renderProposals(box, cameraName, onDecided) {
  const proposals = await api("/api/verdicts/zone-proposals");
  if (!proposals.length) return clear(box, emptyNote("zones.none"));
  const message = h("p", { class: "error", role: "alert" });
  const decide = async (p, accepted) => {
    const json = { type: p.type, x1: p.x1, y1: p.y1, x2: p.x2, y2: p.y2, accepted };
    try {
      await api(`/api/cameras/${encodeURIComponent(p.camera_id)}/suppression-zones`, { method: "POST", json });
      await onDecided();
    } catch (err) {
      message.textContent = errorText(err);
    }
  };
  const pct = (v) => `${Math.round(v * 100)}%`;
  const head = h("tr", {}, ["events.camera", "events.type", "zones.falseAlarms", "zones.area", "zones.decide"]
    .map((key) => h("th", { dataset: { i18n: key } })));
  const rows = proposals.map((p) => h("tr", { dataset: { camera: p.camera_id, type: p.type } },
    h("td", {}, data(cameraName(p.camera_id))), h("td", { dataset: { i18n: `type.${p.type}` } }),
    h("td", {}, String(p.false_alarms)),
    h("td", { translate: "no" }, `x ${pct(p.x1)}–${pct(p.x2)}, y ${pct(p.y1)}–${pct(p.y2)}`),
    h("td", {},
      h("button", { type: "button", class: "primary", onclick: () => decide(p, true), dataset: { i18n: "zones.accept" } }),
      h("button", { type: "button", onclick: () => decide(p, false), dataset: { i18n: "zones.reject" } }))));
  clear(box, h("p", { class: "hint", dataset: { i18n: "zones.hint" } }), h("table", { id: "zones-table" }, h("thead", {}, head), h("tbody", {}, rows)), message);
  applyI18n(box);
}

// The box the user drags on the frame, corners normalised to [0, 1].
function boxDrawer(img, shape) {
  let start = null;
  let box = null;
  const at = (e) => {
    const r = img.getBoundingClientRect();
    return [Math.min(Math.max((e.clientX - r.left) / r.width, 0), 1), Math.min(Math.max((e.clientY - r.top) / r.height, 0), 1)];
  };
  const draw = ([x1, y1, x2, y2]) => {
    Object.assign(shape.style, { left: `${x1 * 100}%`, top: `${y1 * 100}%`, width: `${(x2 - x1) * 100}%`, height: `${(y2 - y1) * 100}%` });
    shape.hidden = false;
  };
  const corners = (a, b) => [Math.min(a[0], b[0]), Math.min(a[1], b[1]), Math.max(a[0], b[0]), Math.max(a[1], b[1])];
  img.addEventListener("pointerdown", (e) => {
    e.preventDefault();
    start = at(e);
    img.setPointerCapture(e.pointerId);
  });
  img.addEventListener("pointermove", (e) => start && draw(corners(start, at(e))));
  img.addEventListener("pointerup", (e) => {
    if (!start) return;
    const c = corners(start, at(e));
    start = null;
    box = c[2] - c[0] > 0.005 && c[3] - c[1] > 0.005 ? c : null;
    if (box) draw(box);
    else shape.hidden = true;
  });
  return { box: () => box, clear: () => { box = null; shape.hidden = true; } };
}

// 漏报 on a camera: fetch its live picture or its recorded frame at a moment, drag a box on
// it, pick the type, send. The miss keeps that very frame (X-Frame-Id).
export function missPanel(cameraId) {
  let frameId = null;
  const img = h("img", { id: "miss-frame", alt: "", draggable: false });
  const shape = h("div", { class: "drawn-box", hidden: true });
  const drawer = boxDrawer(img, shape);
  const when = h("input", { type: "datetime-local", name: "at", step: 1, value: isoToLocalInput(new Date(Date.now() - 5 * 60_000)) });
  const seenAt = h("p", { id: "miss-frame-at" });
  const type = h("select", { name: "type" },
    Object.keys(MISS_CLASS).map((v) => h("option", { value: v, dataset: { i18n: `type.${v}` } })));
  const note = h("input", { name: "note", maxLength: 500 });
  const message = h("p", { class: "error", role: "alert" });
  const done = h("p", { id: "miss-done" });
  const fetchFrame = async (atIso) => {
    message.textContent = "";
    done.textContent = "";
    const url = `/api/cameras/${encodeURIComponent(cameraId)}/frame${atIso ? `?at=${encodeURIComponent(atIso)}` : ""}`;
    const reply = await fetch(url, { credentials: "same-origin" });
    if (reply.status === 401) return toLogin();
    if (!reply.ok) {
      message.textContent = errorText(new ApiError(reply.status, await reply.json().catch(() => null)));
      return;
    }
    frameId = reply.headers.get("X-Frame-Id");
    if (img.src) URL.revokeObjectURL(img.src);
    img.src = URL.createObjectURL(await reply.blob());
    seenAt.textContent = t("miss.frameAt", { time: fmtTime(reply.headers.get("X-Frame-At")) });
    drawer.clear();
  };
  const send = async (e) => {
    e.preventDefault();
    const box = drawer.box();
    if (!frameId || !box) {
      message.textContent = t("miss.drawFirst");
      return;
    }
    const [x1, y1, x2, y2] = box;
    const json = { frame_id: frameId, type: type.value, labels: [{ cls: MISS_CLASS[type.value], x1, y1, x2, y2 }], note: note.value || null };
    try {
      const verdict = await api(`/api/cameras/${encodeURIComponent(cameraId)}/misses`, { method: "POST", json });
      message.textContent = "";
      done.textContent = t("miss.recorded", { time: fmtTime(verdict.at) });
      drawer.clear();
    } catch (err) {
      message.textContent = errorText(err);
    }
  };
  const panel = h(
    "form",
    { class: "stack panel", id: "miss", onsubmit: send },
    h("h2", { dataset: { i18n: "miss.title" } }),
    h("p", { class: "hint", dataset: { i18n: "miss.hint" } }),
    h("div", { class: "buttons" },
      h("button", { type: "button", id: "miss-live", onclick: () => fetchFrame(null), dataset: { i18n: "miss.live" } }),
      when,
      h("button", { type: "button", id: "miss-recorded", onclick: () => fetchFrame(localInputToIso(when.value)), dataset: { i18n: "miss.recorded_frame" } })),
    h("div", { class: "frame-box" }, img, shape),
    seenAt,
    h("label", {}, h("span", { dataset: { i18n: "events.type" } }), type),
    h("label", {}, h("span", { dataset: { i18n: "verdict.note" } }), note),
    message,
    done,
    h("button", { type: "submit", class: "primary", dataset: { i18n: "miss.submit" } }),
  );
  applyI18n(panel);
  return panel;
}
