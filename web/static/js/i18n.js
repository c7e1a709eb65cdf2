// One dictionary per language; zh-CN is the default. The choice lives in localStorage.
// Static labels carry data-i18n="key" (or data-i18n-placeholder / data-i18n-title);
// pages re-render their dynamic parts on the "langchange" event. Data (names of schools,
// cameras, people) is marked translate="no" and never touched.
import zh from "./lang/zh-CN.js";
import en from "./lang/en.js";

const DICTS = { "zh-CN": zh, en };
const STORAGE_KEY = "bkhub.lang";

export function lang() {
  const saved = localStorage.getItem(STORAGE_KEY);
  return saved in DICTS ? saved : "zh-CN";
}

export function t(key, vars = {}) {
  const text = DICTS[lang()][key] ?? zh[key] ?? key;
  return text.replace(/\{(\w+)\}/g, (_, name) => String(vars[name] ?? ""));
}

export function applyI18n(root = document) {
  document.documentElement.lang = lang();
  for (const el of root.querySelectorAll("[data-i18n]")) el.textContent = t(el.dataset.i18n);
  for (const el of root.querySelectorAll("[data-i18n-placeholder]")) {
    el.placeholder = t(el.dataset.i18nPlaceholder);
  }
  for (const el of root.querySelectorAll("[data-i18n-title]")) el.title = t(el.dataset.i18nTitle);
  const title = document.querySelector("title[data-i18n]");
  if (title) document.title = `${t(title.dataset.i18n)} · ${t("app.title")}`;
}

export function setLang(next) {
  localStorage.setItem(STORAGE_KEY, next in DICTS ? next : "zh-CN");
  applyI18n();
  window.dispatchEvent(new Event("langchange"));
}

export function toggleLang() {
  setLang(lang() === "zh-CN" ? "en" : "zh-CN");
}
