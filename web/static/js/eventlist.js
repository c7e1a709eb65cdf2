// A table of events, shared by the event desk and the camera page.
import { data, h } from "./dom.js";
import { fmtTime } from "./time.js";
import { label } from "./shell.js";

export function eventRow(event, { onSelect, selected = false } = {}) {
  return h(
    "tr",
    { dataset: { id: event.id }, class: selected ? "selected" : null, onclick: () => onSelect?.(event) },
    h("td", {}, fmtTime(event.started_at)),
    h("td", {}, label("type", event.type)),
    h("td", {}, label("severity", event.severity)),
    h("td", {}, data(event.school_name), " ", data(event.camera_name)),
    h("td", {}, label("events", event.acknowledged_at ? "acked" : "unacked")),
  );
}

export function eventHead() {
  const keys = ["events.time", "events.type", "events.severity", "events.camera", "events.ack"];
  return h("thead", {}, h("tr", {}, keys.map((k) => h("th", { dataset: { i18n: k } }))));
}
