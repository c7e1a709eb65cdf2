// The monthly assessment report (月度考核报表) of the caller's scope: the figures per town and
// school from /api/reports/monthly, and links to the same report as PDF and XLSX.
import { api } from "../api.js";
import { $, clear, data, h } from "../dom.js";
import { applyI18n, t } from "../i18n.js";
import { initPage, label, notice } from "../shell.js";

const me = await initPage("reports");
let report = null;

const pct = (v) => (v == null ? "—" : `${(v * 100).toFixed(1)}%`);
const num = (v) => (v == null ? "—" : String(Math.round(v * 10) / 10));
const doneOf = (done, required) => (required ? `${done}/${required}` : "—");

function thisMonth() {
  // The district's month: Asia/Shanghai, whatever the browser's zone.
  const parts = new Intl.DateTimeFormat("en-CA", { timeZone: "Asia/Shanghai", year: "numeric", month: "2-digit" })
    .formatToParts(new Date());
  const get = (type) => parts.find((p) => p.type === type).value;
  return `${get("year")}-${get("month")}`;
}

function query(format) {
  const params = new URLSearchParams({ month: $("#month").value });
  if ($("#town").value) params.set("town", $("#town").value);
  if (format) params.set("format", format);
  return `/api/reports/monthly?${params}`;
}

function figureCells(f, uptime) {
  return [
    h("td", {}, String(f.total)),
    h("td", {}, String(f.repeats)),
    h("td", {}, pct(f.ack_rate)),
    h("td", {}, num(f.ack_median_min)),
    h("td", {}, pct(uptime)),
    h("td", {}, doneOf(f.inspections_done, f.inspections_required)),
    h("td", {}, doneOf(f.meals_done, f.meals_required)),
    h("td", {}, String(f.failed_items)),
  ];
}

const FIGURE_KEYS = ["reports.violations", "reports.repeats", "reports.ackRate", "reports.ackMedian",
  "reports.uptime", "reports.inspections", "reports.meals", "reports.failedItems"];

function head(keys) {
  return h("thead", {}, h("tr", {}, keys.map((k) => h("th", { dataset: { i18n: k } }))));
}

function byType(f) {
  const parts = Object.entries(f.violations).map(([type, n]) => `${label("type", type)} ${n}`);
  return parts.length ? parts.join(" · ") : "—";
}

function render() {
  if (!report) return;
  const total = report.total;
  clear($("#summary"), t("reports.summary", {
    schools: report.schools.length, total: total.total, acked: total.acknowledged,
    uptime: pct(report.uptime), inspections: doneOf(total.inspections_done, total.inspections_required),
    meals: doneOf(total.meals_done, total.meals_required),
  }));
  clear($("#towns"),
    head(["reports.town", "reports.schoolCount", ...FIGURE_KEYS]),
    h("tbody", {}, report.towns.map((r) => h("tr", { dataset: { town: r.id } },
      h("td", {}, r.id ? data(r.name) : h("span", { dataset: { i18n: "reports.direct" } })),
      h("td", {}, String(r.schools)),
      figureCells(r.figures, r.uptime)))));
  clear($("#schools"),
    head(["reports.school", "reports.grade", "reports.byType", ...FIGURE_KEYS]),
    h("tbody", {}, report.schools.map((r) => h("tr", { dataset: { school: r.id } },
      h("td", {}, data(r.name)),
      h("td", {}, r.grade ? data(r.grade) : h("span", { dataset: { i18n: "reports.ungraded" } })),
      h("td", {}, byType(r.figures)),
      figureCells(r.figures, r.uptime)))));
  applyI18n($("#main"));
}

async function load() {
  $("#pdf").href = query("pdf");
  $("#xlsx").href = query("xlsx");
  try {
    report = await api(query());
    render();
  } catch (error) {
    report = null;
    clear($("#summary"), notice("common.error", { message: error.message }));
    clear($("#towns"));
    clear($("#schools"));
  }
}

$("#month").value = thisMonth();
if (me?.scope === "district") {
  // District staff pick the district or one town; a town or school sees its own scope.
  const district = await api(query());
  clear($("#town"),
    h("option", { value: "", dataset: { i18n: "reports.wholeDistrict" } }),
    district.towns.filter((r) => r.id).map((r) => data(r.name, "option", { value: r.id })));
  $("#town-pick").hidden = false;
}
$("#month").addEventListener("change", load);
$("#town").addEventListener("change", load);
window.addEventListener("langchange", render);
await load();
