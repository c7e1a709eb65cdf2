// One live tile: a <video> fed by a LivePlayer, a label and a status overlay. Shared by the
// video wall (grid.js) and the special supervisor's watch page (watch.js).
import { data, h } from "./dom.js";
import { t } from "./i18n.js";
import { LivePlayer } from "./whep.js";

// `labels`: the label's parts after `lead` (e.g. the camera state badge), shown as data.
export function liveTile(camera, { stream, labels, lead = null, onOpen = null, auth = null }) {
  const video = h("video", { muted: true, autoplay: true, playsInline: true });
  const overlay = h("div", { class: "overlay" });
  const el = h(
    "div",
    { class: "tile", dataset: { camera: camera.id }, ondblclick: onOpen },
    video,
    h("div", { class: "label" }, lead, labels.map((text) => data(text))),
    overlay,
  );
  const player = new LivePlayer(video, camera.id, {
    stream,
    auth,
    onStatus: (key) => {
      if (key) overlay.dataset.i18n = key;
      else delete overlay.dataset.i18n;
      overlay.textContent = key ? t(key) : "";
    },
  });
  return { el, player, camera };
}
