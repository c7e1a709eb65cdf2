// Accompany-meal records (陪餐): the form (the person is the signed-in user, as the API
// records it) and the newest records in scope.
import { api } from "../api.js";
import { clear, data, h } from "../dom.js";
import { applyI18n, t } from "../i18n.js";
import { label, notice } from "../shell.js";
import { fmtTime, isoToLocalInput } from "../time.js";

const SCORES = [5, 4, 3, 2, 1];

const today = () => isoToLocalInput(new Date()).slice(0, 10); // the district's date

function field(key, input) {
  return h("label", {}, h("span", { dataset: { i18n: key } }), input);
}

function scoreSelect(name) {
  return h("select", { name }, SCORES.map((n) => h("option", { value: n, dataset: { i18n: `duty.score.${n}` } })));
}

// Builds the form into `form`; `onRecorded(meal)` after the API took a record.
export function mealForm(form, message, { me, schools, meals, onRecorded }) {
  clear(form,
    field("duty.school", h("select", { name: "school_id" }, schools.map((s) => data(s.name, "option", { value: s.id })))),
    field("duty.mealDate", h("input", { name: "meal_date", type: "date", required: true, value: today(), max: today() })),
    field("duty.meal", h("select", { name: "meal" }, meals.map((m) => h("option", { value: m, selected: m === "lunch", dataset: { i18n: `duty.mealName.${m}` } })))),
    field("duty.person", data(me?.display_name, "output")),
    field("duty.quality", scoreSelect("quality")),
    field("duty.satisfaction", scoreSelect("satisfaction")),
    field("duty.note", h("textarea", { name: "note", rows: 2, maxLength: 2000 })),
    h("button", { class: "primary", type: "submit", dataset: { i18n: "duty.recordMeal" } }));
  form.onsubmit = async (event) => {
    event.preventDefault();
    const body = Object.fromEntries(new FormData(form));
    body.quality = Number(body.quality);
    body.satisfaction = Number(body.satisfaction);
    body.note ||= null;
    message.className = "";
    try {
      const meal = await api("/api/supervision/meals", { method: "POST", json: body });
      message.textContent = t("duty.mealRecorded");
      form.elements.note.value = "";
      onRecorded(meal);
    } catch (e) {
      message.className = "error";
      message.textContent = e.message;
    }
  };
  applyI18n(form);
}

// `names`: school id -> name (the records carry ids).
export function renderMeals(table, meals, names) {
  if (!meals.length) return clear(table, h("caption", {}, notice("duty.noMeals")));
  const keys = ["duty.mealDate", "duty.meal", "duty.school", "duty.person", "duty.quality", "duty.satisfaction",
    "duty.note", "duty.recordedAt"];
  clear(table,
    h("thead", {}, h("tr", {}, keys.map((k) => h("th", { dataset: { i18n: k } })))),
    h("tbody", {}, meals.map((m) => h("tr", { dataset: { meal: m.id, school: m.school_id } },
      h("td", {}, m.meal_date),
      h("td", {}, label("duty.mealName", m.meal)),
      h("td", {}, data(names.get(m.school_id) ?? m.school_id)),
      h("td", {}, data(m.person)),
      h("td", {}, String(m.quality)),
      h("td", {}, String(m.satisfaction)),
      h("td", {}, data(m.note)),
      h("td", {}, fmtTime(m.recorded_at))))));
  applyI18n(table);
}
