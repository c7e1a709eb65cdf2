import { api } from "../api.js";

// The console's front door: the camera tree when logged in, the log-in page otherwise.
api("/api/auth/me", { redirect: false }).then(
  () => location.replace("/cameras.html"),
  () => location.replace("/login.html"),
);
