// Supervision duties (监管履职): start an inspection round on a school in scope, do it (see
// supervision/round.js), record accompanied meals, and see who is behind on which duty.
import { api } from "../api.js";
import { $, clear, data, h } from "../dom.js";
import { loadDistrict } from "../district.js";
import { applyI18n, t } from "../i18n.js";
import { initPage, label, notice } from "../shell.js";
import { renderCompliance } from "../supervision/compliance.js";
import { mealForm, renderMeals } from "../supervision/meals.js";
import { RoundView } from "../supervision/round.js";
import { fmtTime } from "../time.js";

const ROUNDS = 20;
const MEALS = 20;
const MODES = ["remote", "on_site"];

const me = await initPage("supervision");
const { tree, cameras } = await loadDistrict();
const schools = [...tree.towns.flatMap((town) => town.schools), ...tree.direct_schools];
const schoolNames = new Map(schools.map((s) => [s.id, s.name]));
const checklist = await api("/api/supervision/checklist");
let rounds = [];
let meals = [];
let compliance = null;

const view = new RoundView($("#round"), { me, cameras, checklist, onChange: () => refresh() });

function renderStart() {
  clear($("#start"),
    h("label", {}, h("span", { dataset: { i18n: "duty.school" } }),
      h("select", { name: "school_id" }, schools.map((s) => data(s.name, "option", { value: s.id })))),
    h("label", {}, h("span", { dataset: { i18n: "duty.modeLabel" } }),
      h("select", { name: "mode" }, MODES.map((m) => h("option", { value: m, dataset: { i18n: `duty.mode.${m}` } })))),
    h("label", {}, h("span", { dataset: { i18n: "duty.note" } }), h("input", { name: "note", maxLength: 2000 })),
    h("button", { class: "primary", type: "submit", id: "start-round", dataset: { i18n: "duty.start" } }));
  applyI18n($("#start"));
}

async function openRound(round) {
  history.replaceState(null, "", `?round=${round.id}`); // a reload comes back to it
  await view.open(round);
  $("#round").scrollIntoView();
}

function renderRounds() {
  const table = $("#rounds");
  if (!rounds.length) return clear(table, h("caption", {}, notice("duty.noRounds")));
  const keys = ["duty.startedAt", "duty.school", "duty.inspector", "duty.modeLabel", "duty.status",
    "duty.failed", "duty.evidence"];
  const status = (r) => (r.finished_at ? t("duty.finishedAt", { time: fmtTime(r.finished_at) }) : t("duty.open"));
  clear(table,
    h("thead", {}, h("tr", {}, keys.map((k) => h("th", { dataset: { i18n: k } })))),
    h("tbody", {}, rounds.map((r) => h("tr", { dataset: { id: r.id, round: r.id }, onclick: () => openRound(r) },
      h("td", {}, fmtTime(r.started_at)),
      h("td", {}, data(r.school_name ?? r.school_id)),
      h("td", {}, data(r.inspector)),
      h("td", {}, label("duty.mode", r.mode)),
      h("td", {}, status(r)),
      h("td", {}, String(r.items.filter((i) => i.result === "fail").length)),
      h("td", {}, String(r.evidence.length))))));
  applyI18n(table);
}

function render() {
  renderRounds();
  renderMeals($("#meals"), meals, schoolNames);
  renderCompliance($("#compliance"), compliance);
}

// Lists and compliance after anything changed (a round finished counts at once).
async function refresh() {
  [rounds, meals, compliance] = await Promise.all([
    api(`/api/supervision/rounds?limit=${ROUNDS}`),
    api(`/api/supervision/meals?limit=${MEALS}`),
    api("/api/supervision/compliance").catch(() => null),
  ]);
  render();
}

$("#start").addEventListener("submit", async (event) => {
  event.preventDefault();
  const body = Object.fromEntries(new FormData(event.target));
  body.note ||= null;
  $("#start-error").textContent = "";
  try {
    const round = await api("/api/supervision/rounds", { method: "POST", json: body });
    await openRound(round);
    await refresh();
  } catch (e) {
    $("#start-error").textContent = e.message;
  }
});

renderStart();
mealForm($("#meal"), $("#meal-message"), { me, schools, meals: checklist.meals, onRecorded: refresh });
window.addEventListener("langchange", () => {
  render();
  view.render();
});
// The round the address asked for when the page loaded: one started since (the form works
// while the lists load) has already put its own id there and is open.
const wanted = new URLSearchParams(location.search).get("round");
await refresh();
if (wanted && !view.round) {
  await api(`/api/supervision/rounds/${encodeURIComponent(wanted)}`).then(openRound, () => history.replaceState(null, "", "?"));
}
