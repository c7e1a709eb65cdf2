// The event desk: filter events, see the annotated snapshot, play the clip, acknowledge.
import { api, ApiError, isMissing } from "../api.js";
import { $, clear, data, h } from "../dom.js";
import { loadDistrict } from "../district.js";
import { eventHead, eventRow } from "../eventlist.js";
import { applyI18n, t } from "../i18n.js";
import { initPage, label, notice } from "../shell.js";
import { fmtTime, localInputToIso } from "../time.js";
import { renderProposals, renderRates, verdictPanel } from "../verdicts.js";

const PAGE_SIZE = 50;
// The detector's violation types, then the health monitor's (hub.health.store.EVENT_TYPES).
const TYPES = ["no_chef_hat", "no_mask", "no_gloves", "rat", "cockroach",
  "camera_offline", "frozen", "black", "overexposed", "blurred", "covered", "moved",
  "clock_drift", "recording_gap", "storage_failing"];

await initPage("events");
const params = new URLSearchParams(location.search);
const { tree, cameras } = await loadDistrict();
let events = [];
let cursor = null;
let selected = params.get("event");
let available = true;

function select(name, key, options) {
  const chosen = params.get(name) ?? "";
  return h(
    "label",
    {},
    h("span", { dataset: { i18n: key } }),
    h("select", { name }, h("option", { value: "", dataset: { i18n: "common.all" } }),
      options.map(([value, text, i18n]) =>
        h("option", { value, selected: value === chosen, translate: i18n ? null : "no", dataset: i18n ? { i18n } : {} }, text))),
  );
}

function renderFilters() {
  const schools = [...tree.towns.flatMap((town) => town.schools), ...tree.direct_schools];
  clear(
    $("#filters"),
    select("town", "events.town", tree.towns.map((town) => [town.id, town.name])),
    select("school", "events.school", schools.map((s) => [s.id, s.name])),
    select("camera", "events.camera", cameras.map((c) => [c.id, `${c.school.name} ${c.name}`])),
    select("type", "events.type", TYPES.map((type) => [type, "", `type.${type}`])),
    h("label", {}, h("span", { dataset: { i18n: "events.since" } }), h("input", { type: "datetime-local", name: "since" })),
    h("label", {}, h("span", { dataset: { i18n: "events.until" } }), h("input", { type: "datetime-local", name: "until" })),
    select("acknowledged", "events.ack", [["false", "", "events.unacked"], ["true", "", "events.acked"]]),
    h("button", { class: "primary", type: "submit", dataset: { i18n: "common.search" } }),
  );
  applyI18n($("#filters"));
}

function query() {
  const form = new FormData($("#filters"));
  const q = new URLSearchParams({ limit: PAGE_SIZE });
  for (const name of ["town", "school", "camera", "type", "acknowledged"]) {
    if (form.get(name)) q.set(name, form.get(name));
  }
  for (const name of ["since", "until"]) {
    const iso = localInputToIso(form.get(name));
    if (iso) q.set(name, iso);
  }
  if (cursor) q.set("cursor", cursor);
  return q;
}

async function load({ more = false } = {}) {
  if (!more) cursor = null;
  try {
    const result = await api(`/api/events?${query()}`);
    events = more ? [...events, ...result.items] : result.items;
    cursor = result.next_cursor;
  } catch (e) {
    if (!isMissing(e)) throw e;
    available = false;
  }
  renderList();
  renderDetail();
}

function renderList() {
  const table = $("#list");
  $("#more").hidden = !cursor;
  if (!available) return clear(table, h("caption", {}, notice("common.unavailable")));
  if (!events.length) return clear(table, h("caption", {}, notice("common.empty")));
  const pick = (e) => {
    selected = e.id;
    renderList();
    renderDetail();
  };
  clear(table, eventHead(), h("tbody", {}, events.map((e) => eventRow(e, { onSelect: pick, selected: e.id === selected }))));
  applyI18n(table);
}

function ackForm(event) {
  const comment = h("textarea", { name: "comment", rows: 3, maxLength: 500 });
  const message = h("p", { class: "error", role: "alert" });
  const submit = async (e) => {
    e.preventDefault();
    try {
      await api(`/api/events/${event.id}/ack`, { method: "POST", json: { comment: comment.value || null } });
      Object.assign(event, await api(`/api/events/${event.id}`));
      renderList();
      renderDetail();
    } catch (err) {
      message.textContent = err instanceof ApiError ? err.message : String(err);
    }
  };
  return h(
    "form",
    { class: "stack", id: "ack", onsubmit: submit },
    h("label", {}, h("span", { dataset: { i18n: "events.comment" } }), comment),
    message,
    h("button", { class: "primary", type: "submit", dataset: { i18n: "events.acknowledge" } }),
  );
}

function renderDetail() {
  const box = $("#detail");
  const event = events.find((e) => e.id === selected);
  if (!event) return clear(box, notice("events.select"));
  const ack = event.acknowledged_at
    ? h("div", { id: "acked" },
        h("p", {}, t("events.ackedBy", { user: event.acknowledged_by, time: fmtTime(event.acknowledged_at) })),
        event.ack_comment ? data(event.ack_comment, "blockquote") : null)
    : ackForm(event);
  clear(
    box,
    h("h2", {}, label("type", event.type), " · ", fmtTime(event.started_at)),
    h("p", {}, data(event.school_name), " ", data(event.camera_name), " · ", label("severity", event.severity)),
    h("h2", { dataset: { i18n: "events.snapshot" } }),
    event.has_snapshot
      ? h("img", { id: "snapshot", src: `/api/events/${event.id}/snapshot`, alt: "" })
      : notice("events.noSnapshot"),
    h("h2", { dataset: { i18n: "events.clip" } }),
    event.has_clip
      ? h("video", { id: "clip", src: `/api/events/${event.id}/clip`, controls: true, muted: true, preload: "auto" })
      : notice("events.noClip"),
    ack,
    verdictPanel(event, async () => {
      Object.assign(event, await api(`/api/events/${event.id}`));
      renderDetail();
      loadRates();
    }),
  );
  applyI18n(box);
}

let ratePeriod = "week";
async function loadRates() {
  const name = (id) => {
    const c = cameras.find((x) => x.id === id);
    return c ? `${c.school.name} ${c.name}` : id;
  };
  for (const b of document.querySelectorAll("#rates [data-period]")) b.classList.toggle("current", b.dataset.period === ratePeriod);
  await renderRates($("#rates-body"), ratePeriod, name);
  await renderProposals($("#zones-body"), name, loadRates);
}

renderFilters();
$("#filters").addEventListener("submit", (e) => {
  e.preventDefault();
  load();
});
$("#more").addEventListener("click", () => load({ more: true }));
for (const b of document.querySelectorAll("#rates [data-period]")) {
  b.addEventListener("click", () => {
    ratePeriod = b.dataset.period;
    loadRates();
  });
}
window.addEventListener("langchange", () => {
  renderList(); // the filters' labels carry data-i18n: applyI18n already switched them
  renderDetail(); // the rates table's labels carry data-i18n too
});
await load();
if (available) await loadRates();
// New alerts arrive over server-sent events: refresh the first page when one comes in.
if (available && window.EventSource) {
  const stream = new EventSource("/api/alerts/stream");
  stream.addEventListener("alert", () => !cursor && load());
  window.addEventListener("pagehide", () => stream.close());
}
