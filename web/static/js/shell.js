// The frame of every console page: header with navigation, language toggle and log-out.
import { api } from "./api.js";
import { h, data } from "./dom.js";
import { applyI18n, t, toggleLang } from "./i18n.js";

const NAV = [
  ["tree", "/cameras.html"],
  ["grid", "/grid.html"],
  ["events", "/events.html"],
  ["export", "/export.html"],
  ["health", "/health.html"],
  ["reports", "/reports.html"],
  ["supervision", "/supervision.html"],
  ["users", "/users.html", { admin: true }],
];

function header(me, current) {
  const links = NAV.filter(([, , opts]) => !opts?.admin || me?.admin).map(([key, href]) =>
    h("a", { href, class: key === current ? "current" : null, dataset: { i18n: `nav.${key}` } }),
  );
  const logout = async () => {
    await api("/api/auth/logout", { method: "POST", redirect: false }).catch(() => {});
    location.replace("/login.html");
  };
  return h(
    "header",
    { class: "top" },
    h("a", { href: "/cameras.html", class: "brand", dataset: { i18n: "app.title" } }),
    me ? data(me.scope_name, "span", { class: "scope" }) : null,
    h("nav", {}, links),
    h("span", { class: "spacer" }),
    me ? data(me.display_name, "span", { class: "who" }) : null,
    // Named in the other language, as language switches are; not a label to translate.
    h("button", { id: "lang-toggle", type: "button", translate: "no", onclick: toggleLang, dataset: { i18n: "nav.lang" } }),
    me ? h("button", { id: "logout", type: "button", onclick: logout, dataset: { i18n: "nav.logout" } }) : null,
  );
}

// Builds the header and returns the logged-in user (the log-in page is shown on 401).
export async function initPage(current, { auth = true } = {}) {
  let me = null;
  if (auth) me = await api("/api/auth/me");
  document.body.prepend(header(me, current));
  applyI18n();
  return me;
}

export function badge(state) {
  const known = ["online", "connecting", "offline", "stopped", "disabled"];
  const s = known.includes(state) ? state : "unknown";
  return h("span", { class: `badge state-${s}`, dataset: { i18n: `state.${s}` } }, t(`state.${s}`));
}

export function notice(key, vars) {
  return h("p", { class: "notice" }, t(key, vars));
}

// Render a page part now and again whenever the language changes.
export function rerenderOnLangChange(render) {
  window.addEventListener("langchange", render);
  render();
}

// Enum values (rooms, event types, roles) are labels; an unknown one is shown as it is.
export function label(prefix, value) {
  const key = `${prefix}.${value}`;
  const text = t(key);
  return text === key ? value : text;
}

export const roomName = (room) => label("room", room);
