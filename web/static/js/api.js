// fetch() for the hub's API: session cookie, CSRF header on changes, JSON errors.
import { lang } from "./i18n.js";

const CSRF_COOKIE = "bkhub_csrf";

export class ApiError extends Error {
  constructor(status, body) {
    const error = body?.error ?? {};
    const zh = lang() === "zh-CN" && error.message_zh;
    super(zh || error.message || `HTTP ${status}`);
    this.status = status;
    this.code = error.code ?? null;
  }
}

export function csrfToken() {
  const entry = document.cookie.split("; ").find((c) => c.startsWith(`${CSRF_COOKIE}=`));
  return entry ? decodeURIComponent(entry.slice(CSRF_COOKIE.length + 1)) : "";
}

export function changeHeaders(extra = {}) {
  return { "X-CSRF-Token": csrfToken(), ...extra };
}

export function toLogin() {
  const next = encodeURIComponent(location.pathname + location.search);
  location.replace(`/login.html?next=${next}`);
}

// Resolves to parsed JSON (or null for 204); rejects with ApiError. A 401 sends the user to
// the log-in page unless `redirect` is false.
export async function api(path, { method = "GET", json, headers = {}, redirect = true } = {}) {
  const init = { method, headers: { ...headers }, credentials: "same-origin" };
  if (json !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(json);
  }
  if (method !== "GET") Object.assign(init.headers, changeHeaders());
  const reply = await fetch(path, init);
  if (reply.status === 401 && redirect) toLogin();
  if (!reply.ok) throw new ApiError(reply.status, await reply.json().catch(() => null));
  if (reply.status === 204) return null;
  return reply.headers.get("content-type")?.includes("json") ? reply.json() : reply.text();
}

// Pages whose backend has not landed yet show an empty state instead of an error.
export function isMissing(error) {
  return error instanceof ApiError && (error.status === 404 || error.status === 405);
}
