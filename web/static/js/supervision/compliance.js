// The compliance view: each duty rule at each school in scope, done vs required in its
// current day, week or month, who did it, and whether the previous period was met. A rule
// behind pace (the API's `overdue`) is highlighted.
import { clear, data, h } from "../dom.js";
import { applyI18n, t } from "../i18n.js";
import { label, notice } from "../shell.js";

const KEYS = ["duty.school", "duty.rule", "duty.kind", "duty.period", "duty.done", "duty.dueByNow",
  "duty.byPerson", "duty.previous", "duty.pace"];

function people(byPerson) {
  const entries = Object.entries(byPerson);
  if (!entries.length) return "—";
  return entries.map(([name, n]) => data(`${name} ${n}`, "span", { class: "tag" }));
}

function row(r) {
  return h("tr", { class: r.overdue ? "overdue" : null, dataset: { school: r.school_id, rule: r.rule_id } },
    h("td", {}, data(r.school_name)),
    h("td", {}, data(r.rule_name)),
    h("td", {}, label("duty.duty", r.duty)),
    h("td", {}, label("duty.per", r.per)),
    h("td", { class: "done" }, `${r.done}/${r.required}`),
    h("td", {}, String(r.due_by_now)),
    h("td", {}, people(r.by_person)),
    h("td", {}, t("duty.previousDone", { done: r.previous_done, required: r.required }), " ",
      t(r.previous_met ? "duty.met" : "duty.notMet")),
    h("td", { class: "pace" }, t(r.overdue ? "duty.behind" : "duty.onPace")));
}

// `rows`: GET /api/supervision/compliance; null when it could not be loaded.
export function renderCompliance(table, rows) {
  if (rows === null) return clear(table, h("caption", {}, notice("common.unavailable")));
  if (!rows.length) return clear(table, h("caption", {}, notice("duty.noDuties")));
  clear(table,
    h("thead", {}, h("tr", {}, KEYS.map((k) => h("th", { dataset: { i18n: k } })))),
    h("tbody", {}, rows.map(row)));
  applyI18n(table);
}
