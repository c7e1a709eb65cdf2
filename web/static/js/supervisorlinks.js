// The special supervisor links section (特别监督员, 家校共治) of the users page: list, create
// (the link is shown once), revoke. Hidden for roles that may not manage links.
import { api, ApiError } from "./api.js";
import { $, clear, data, h } from "./dom.js";
import { loadDistrict } from "./district.js";
import { applyI18n, t } from "./i18n.js";
import { fmtTime, TIME_ZONE } from "./time.js";

const MAX_DAYS = 90; // the hub's bound (web.auth.links.LINK_MAX_DAYS)
const DEFAULT_DAYS = 30;
const DAY_MS = 86_400_000;

let links = [];
let schools = [];

// yyyy-mm-dd of a moment in Beijing time (the <input type="date"> value).
function localDate(ms) {
  return new Intl.DateTimeFormat("en-CA", { timeZone: TIME_ZONE }).format(new Date(ms));
}

// The end of the chosen local day, but never past the hub's bound.
function expiryOf(day) {
  const end = new Date(`${day}T23:59:59+08:00`).getTime();
  return new Date(Math.min(end, Date.now() + MAX_DAYS * DAY_MS - 60_000)).toISOString();
}

async function load(root) {
  try {
    links = (await api("/api/supervisor-links?limit=200")).items;
  } catch (e) {
    if (e instanceof ApiError && e.status === 403) root.hidden = true;
    return;
  }
  renderTable(root);
}

async function revoke(root, link) {
  await api(`/api/supervisor-links/${link.id}`, { method: "DELETE" });
  $("#link-message", root).textContent = t("links.revokedOne", { name: link.name });
  await load(root);
}

function renderTable(root) {
  const keys = ["links.name", "links.school", "links.state", "links.expires", "links.createdBy", "links.lastUsed", ""];
  clear(
    $("#links-table", root),
    h("thead", {}, h("tr", {}, keys.map((k) => h("th", { dataset: k ? { i18n: k } : {} })))),
    h("tbody", {}, links.map((link) =>
      h("tr", { dataset: { link: link.id, state: link.state } },
        h("td", {}, data(link.name)),
        h("td", {}, data(link.school_name)),
        h("td", { dataset: { i18n: `links.state.${link.state}` } }),
        h("td", {}, fmtTime(link.expires_at, { seconds: false })),
        h("td", {}, data(link.created_by)),
        h("td", {}, fmtTime(link.last_used_at)),
        h("td", {}, link.state === "active"
          ? h("button", { type: "button", class: "revoke", onclick: () => revoke(root, link), dataset: { i18n: "links.revoke" } })
          : ""),
      ))),
  );
  applyI18n(root);
}

function renderForm(root) {
  const field = (key, input) => h("label", {}, h("span", { dataset: { i18n: key } }), input);
  const now = Date.now();
  clear(
    $("#link-create", root),
    field("links.name", h("input", { name: "name", required: true, maxLength: 100, dataset: { i18nPlaceholder: "links.namePlaceholder" } })),
    field("links.school", h("select", { name: "school" }, schools.map((s) => data(s.name, "option", { value: s.id })))),
    field("links.expires", h("input", { name: "day", type: "date", required: true, min: localDate(now), max: localDate(now + MAX_DAYS * DAY_MS), value: localDate(now + DEFAULT_DAYS * DAY_MS) })),
    h("button", { class: "primary", type: "submit", dataset: { i18n: "links.create" } }),
  );
  applyI18n(root);
}

async function create(root, form) {
  const body = { name: form.get("name"), school: form.get("school"), expires_at: expiryOf(form.get("day")) };
  const made = h("div", { id: "link-made" });
  try {
    const link = await api("/api/supervisor-links", { method: "POST", json: body });
    const url = `${location.origin}${link.url}`;
    clear(made, h("p", {}, t("links.created", { name: link.name })), h("input", { id: "link-url", readOnly: true, value: url, size: 80, translate: "no", onfocus: (e) => e.target.select() }));
    $("#link-message", root).textContent = "";
    $("#link-create", root).reset();
    await load(root);
  } catch (e) {
    $("#link-message", root).textContent = e.message;
  }
  // Shown once: the page never fetches the secret again.
  clear($("#link-made-slot", root), made);
}

export async function supervisorLinks(root) {
  root.hidden = false;
  const { tree } = await loadDistrict();
  schools = [...tree.towns.flatMap((town) => town.schools), ...tree.direct_schools];
  renderForm(root);
  $("#link-create", root).addEventListener("submit", (event) => {
    event.preventDefault();
    create(root, new FormData(event.target));
  });
  window.addEventListener("langchange", () => renderTable(root));
  await load(root);
}
