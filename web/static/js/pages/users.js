// User management for administrators: list, create, disable/enable.
import { api, ApiError } from "../api.js";
import { $, clear, data, h } from "../dom.js";
import { applyI18n, t } from "../i18n.js";
import { initPage, label, notice } from "../shell.js";
import { supervisorLinks } from "../supervisorlinks.js";
import { fmtTime } from "../time.js";

const ROLES = ["district_admin", "district_staff", "town_staff", "school_principal", "canteen_manager"];

const me = await initPage("users");
let users = null;
let problem = null;

async function load() {
  try {
    const page = await api("/api/users?limit=200");
    users = page.items;
  } catch (e) {
    problem = e instanceof ApiError && e.status === 403 ? "common.forbidden" : "common.unavailable";
  }
  render();
}

async function toggle(user) {
  await api(`/api/users/${user.id}`, { method: "PATCH", json: { disabled: !user.disabled } });
  await load();
}

function render() {
  const table = $("#users");
  if (problem || !me?.admin) {
    $("#create").hidden = true;
    return clear(table, h("caption", {}, notice(problem ?? "common.forbidden")));
  }
  if (users === null) return;
  const keys = ["users.username", "users.displayName", "users.role", "users.scope", "users.lastLogin", "users.status", ""];
  clear(
    table,
    h("thead", {}, h("tr", {}, keys.map((k) => h("th", { dataset: k ? { i18n: k } : {} })))),
    h("tbody", {}, users.map((u) =>
      h("tr", { dataset: { user: u.username } },
        h("td", {}, data(u.username)),
        h("td", {}, data(u.display_name)),
        h("td", {}, label("role", u.role)),
        h("td", {}, data(u.scope)),
        h("td", {}, fmtTime(u.last_login_at)),
        h("td", {}, t(u.disabled ? "users.disabled" : "users.enabled")),
        h("td", {}, u.id === me.id ? "" : h("button", { type: "button", onclick: () => toggle(u) }, t(u.disabled ? "users.enable" : "users.disable"))),
      ))),
  );
  applyI18n(table);
}

function renderForm() {
  const field = (key, input) => h("label", {}, h("span", { dataset: { i18n: key } }), input);
  clear(
    $("#create"),
    field("users.username", h("input", { name: "username", required: true, autocomplete: "off" })),
    field("users.displayName", h("input", { name: "display_name", required: true })),
    field("users.password", h("input", { name: "password", type: "password", required: true, autocomplete: "new-password" })),
    field("users.role", h("select", { name: "role" }, ROLES.map((r) => h("option", { value: r, dataset: { i18n: `role.${r}` } })))),
    field("users.scope", h("input", { name: "scope", required: true, value: "district", placeholder: "district / town:<id> / school:<id>" })),
    h("button", { class: "primary", type: "submit", dataset: { i18n: "users.create" } }),
  );
  applyI18n($("#create"));
}

$("#create").addEventListener("submit", async (event) => {
  event.preventDefault();
  const form = Object.fromEntries(new FormData(event.target));
  try {
    await api("/api/users", { method: "POST", json: form });
    $("#message").textContent = t("users.created", { name: form.username });
    event.target.reset();
    await load();
  } catch (e) {
    $("#message").textContent = e.message;
  }
});
renderForm();
window.addEventListener("langchange", () => {
  $("#message").textContent = "";
  render();
});
await load();
await supervisorLinks($("#links"));
