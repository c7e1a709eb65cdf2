// LivePlayer: one <video> fed by the hub's WHEP endpoint (H.264 passthrough over WebRTC).
// Players close their hub session when stopped, when the page goes away, and after the page
// has been hidden for a while (the hub caps viewers per camera); they retry after failures.
// A page not signed in as a user (the supervisor watch page) passes `auth`: extra request
// headers (its link) and what to do when the hub refuses them (401) instead of the log-in.
import { changeHeaders, toLogin } from "./api.js";

const HIDDEN_PAUSE_MS = 60_000; // a background tab gives its viewer slots back after a minute
const RETRY_MS = 3_000;
const FULL_RETRY_MS = 15_000; // the camera's viewer cap is full: ask again less often
const GATHER_TIMEOUT_MS = 3_000; // the hub does not trickle: offer once candidates are in

const players = new Set();
let iceServers = null;

async function configuredIceServers(headers) {
  if (iceServers === null) {
    try {
      const reply = await fetch("/api/live/ice", { credentials: "same-origin", headers });
      iceServers = reply.ok ? (await reply.json()).ice_servers.map((urls) => ({ urls })) : [];
    } catch {
      iceServers = [];
    }
  }
  return iceServers;
}

function gathered(pc) {
  if (pc.iceGatheringState === "complete") return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      if (pc.iceGatheringState !== "complete") return;
      pc.removeEventListener("icegatheringstatechange", done);
      resolve();
    };
    pc.addEventListener("icegatheringstatechange", done);
    setTimeout(resolve, GATHER_TIMEOUT_MS);
  });
}

export class LivePlayer {
  constructor(video, cameraId, { stream = "sub", onStatus = () => {}, auth = null } = {}) {
    this.video = video;
    this.cameraId = cameraId;
    this.stream = stream;
    this.onStatus = onStatus;
    this.headers = auth?.headers ?? {};
    this.onUnauthorized = auth?.onUnauthorized ?? toLogin;
    this.pc = null;
    this.location = null;
    this.timer = null;
    this.active = false;
    this.paused = false;
    video.muted = true;
    video.autoplay = true;
    video.playsInline = true;
    video.addEventListener("playing", () => this.onStatus(null));
  }

  start() {
    this.active = true;
    this.paused = false;
    players.add(this);
    this._connect().catch(() => this._retry(RETRY_MS));
  }

  // release=false: leave the hub's session to the hub (it ends a link's views at expiry;
  // a DELETE would only be refused).
  stop({ release = true } = {}) {
    this.active = false;
    players.delete(this);
    clearTimeout(this.timer);
    if (!release) this.location = null;
    this._teardown();
  }

  pause() {
    this.paused = true;
    clearTimeout(this.timer);
    this._teardown();
    this.onStatus("live.paused");
  }

  async _connect() {
    this.onStatus("live.connecting");
    const pc = new RTCPeerConnection({ iceServers: await configuredIceServers(this.headers) });
    this.pc = pc;
    pc.addTransceiver("video", { direction: "recvonly" });
    pc.ontrack = (event) => {
      this.video.srcObject = new MediaStream([event.track]);
      this.onStatus("live.waiting");
    };
    pc.onconnectionstatechange = () => {
      if (pc === this.pc && ["failed", "closed"].includes(pc.connectionState)) {
        this._retry(RETRY_MS);
      }
    };
    await pc.setLocalDescription(await pc.createOffer());
    await gathered(pc);
    const url = `/api/cameras/${encodeURIComponent(this.cameraId)}/whep?stream=${this.stream}`;
    const reply = await fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: changeHeaders({ "Content-Type": "application/sdp", ...this.headers }),
      body: pc.localDescription.sdp,
    });
    if (pc !== this.pc) return; // stopped while the hub answered
    if (reply.status === 401) {
      this._teardown();
      return this.onUnauthorized();
    }
    if (reply.status !== 201) {
      const body = await reply.json().catch(() => null);
      const full = body?.error?.code === "viewer_limit";
      this.onStatus(full ? "live.full" : "live.failed");
      return this._retry(full ? FULL_RETRY_MS : RETRY_MS);
    }
    this.location = reply.headers.get("Location");
    this.served = reply.headers.get("X-Stream");
    await pc.setRemoteDescription({ type: "answer", sdp: await reply.text() });
  }

  _retry(delay) {
    this._teardown();
    if (!this.active || this.paused) return;
    this.onStatus("live.failed");
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this._connect().catch(() => this._retry(RETRY_MS)), delay);
  }

  _teardown() {
    const pc = this.pc;
    this.pc = null;
    this.video.srcObject = null;
    if (!this.location) return pc?.close();
    // keepalive: the DELETE still goes out while the page unloads. The peer closes after
    // it, so the hub ends the session for the DELETE rather than for the closed connection.
    fetch(this.location, {
      method: "DELETE",
      keepalive: true,
      credentials: "same-origin",
      headers: changeHeaders(this.headers),
    })
      .catch(() => {})
      .finally(() => pc?.close());
    this.location = null;
  }
}

let hiddenTimer = null;
document.addEventListener("visibilitychange", () => {
  clearTimeout(hiddenTimer);
  if (document.hidden) {
    hiddenTimer = setTimeout(() => players.forEach((p) => p.pause()), HIDDEN_PAUSE_MS);
  } else {
    players.forEach((p) => p.paused && p.start());
  }
});
window.addEventListener("pagehide", () => players.forEach((p) => p._teardown()));
window.addEventListener("pageshow", (event) => {
  if (event.persisted) players.forEach((p) => p.start()); // back from the page cache
});
