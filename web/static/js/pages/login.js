import { api, ApiError } from "../api.js";
import { $ } from "../dom.js";
import { setLang, t } from "../i18n.js";
import { initPage } from "../shell.js";

await initPage("login", { auth: false });

$("#login").addEventListener("submit", async (event) => {
  event.preventDefault();
  const form = new FormData(event.target);
  const error = $("#login-error");
  error.textContent = "";
  try {
    await api("/api/auth/login", {
      method: "POST",
      json: { username: form.get("username"), password: form.get("password") },
      redirect: false,
    });
  } catch (e) {
    error.textContent = e instanceof ApiError && e.status === 401 ? t("login.failed") : e.message;
    return;
  }
  if (!localStorage.getItem("bkhub.lang")) setLang("zh-CN");
  const next = new URLSearchParams(location.search).get("next");
  location.replace(next?.startsWith("/") && !next.startsWith("//") ? next : "/cameras.html");
});
