// One inspection round (巡查): the checklist marked 合格/不合格 with notes, the school's cameras
// live with a one-click evidence snapshot each, the snapshots taken, linked violation events,
// and finishing it. Only the round's inspector records on it, and only until it is finished.
import { api } from "../api.js";
import { $, clear, data, h } from "../dom.js";
import { applyI18n, t } from "../i18n.js";
import { label, notice } from "../shell.js";
import { fmtTime } from "../time.js";
import { LivePlayer } from "../whep.js";

const EVENTS = 50; // the school's newest violations offered for linking
// What an inspector may raise by hand (hub.config.detection.ViolationType).
const MANUAL_TYPES = ["no_chef_hat", "no_mask", "no_gloves", "rat", "cockroach"];

const evidenceUrl = (e) => `/api/supervision/evidence/${e.id}`;

export class RoundView {
  // `cameras`: the district's cameras (district.js); `onChange(round)` after each change.
  constructor(box, { me, cameras, checklist, onChange }) {
    this.box = box;
    this.me = me;
    this.cameras = cameras;
    this.checklist = checklist;
    this.onChange = onChange;
    this.round = null;
    this.players = [];
    this.events = [];
    this.queue = Promise.resolve(); // changes go out one at a time, in the order made
  }

  async _loadEvents() {
    const url = `/api/events?school=${encodeURIComponent(this.round.school_id)}&kind=violation&limit=${EVENTS}`;
    this.events = (await api(url).catch(() => ({ items: [] }))).items;
  }

  // 人工登记: a violation found on the round, raised as an event (alerted like the detector's).
  _manualForm() {
    const type = h("select", { id: "manual-type" },
      MANUAL_TYPES.map((v) => h("option", { value: v, dataset: { i18n: `type.${v}` } }, t(`type.${v}`))));
    const picture = h("select", { id: "manual-evidence" },
      h("option", { value: "", dataset: { i18n: "duty.manualNoPicture" } }, t("duty.manualNoPicture")),
      this.round.evidence.map((e) => h("option", { value: e.id, translate: "no" }, `${fmtTime(e.taken_at)} ${e.item ?? ""}`)));
    const note = h("input", { id: "manual-note", maxLength: 500 });
    const raise = async () => {
      const json = { type: type.value, evidence_id: picture.value || null, note: note.value || null };
      await this._change("/manual-events", { json });
      await this._loadEvents();
      this._events();
    };
    return h("div", { class: "manual", id: "manual-event" },
      h("span", { dataset: { i18n: "duty.manualTitle" } }, t("duty.manualTitle")), " ", type, " ", picture, " ",
      h("label", {}, h("span", { dataset: { i18n: "duty.manualNote" } }, t("duty.manualNote")), note), " ",
      h("button", { type: "button", id: "raise-manual", dataset: { i18n: "duty.manualRaise" },
        onclick: () => raise().catch((e) => this._say("#finish-error", e.message)) }, t("duty.manualRaise")));
  }

  get editable() {
    return this.round && !this.round.finished_at && this.round.inspector === this.me?.username;
  }

  async open(round) {
    this.close();
    this.round = round;
    await this._loadEvents();
    const cams = this.cameras.filter((c) => c.school.id === round.school_id && c.enabled);
    this.box.dataset.round = round.id;
    clear(
      this.box,
      h("div", { class: "toolbar", id: "round-head" }),
      h("h2", { dataset: { i18n: "duty.checklist" } }),
      h("table", { id: "items" }),
      // Live views only while evidence can be taken: each holds a viewer slot of the hub.
      this.editable
        ? h("div", { id: "round-live" },
            h("h2", { dataset: { i18n: "duty.cameras" } }),
            h("p", { class: "error", id: "snap-error", role: "alert" }),
            h("div", { class: "duty-cams" }, cams.length ? cams.map((c) => this._tile(c)) : notice("grid.noCameras")))
        : null,
      h("h2", { dataset: { i18n: "duty.evidence" } }),
      h("div", { id: "evidence", class: "evidence" }),
      h("h2", { dataset: { i18n: "duty.events" } }),
      h("div", { id: "round-events" }),
      h("div", { class: "toolbar", id: "round-foot" }),
    );
    this.box.hidden = false;
    this.players.forEach((p) => p.start());
    this.render();
  }

  _stopLive() {
    this.players.forEach((p) => p.stop());
    this.players = [];
    $("#round-live", this.box)?.remove();
  }

  close() {
    this._stopLive();
    this.round = null;
    this.box.hidden = true;
    delete this.box.dataset.round;
    clear(this.box);
  }

  _dismiss() {
    this.close();
    history.replaceState(null, "", location.pathname); // a reload no longer reopens it
  }

  // Everything but the live tiles, which keep playing across changes and language switches.
  render() {
    if (!this.round) return;
    this._head();
    this._items();
    this._evidence();
    this._events();
    this._foot();
    if (!this.editable) this._stopLive(); // finished
    applyI18n(this.box);
  }

  // An error line of the view (gone once the round is closed or finished).
  _say(selector, text) {
    const line = $(selector, this.box);
    if (line) line.textContent = text;
  }

  // A note's change and a click on 合格 may both save the item: the later one must win.
  _send(path, options) {
    const id = this.round.id;
    const sent = this.queue.then(() => api(`/api/supervision/rounds/${id}${path}`, options));
    this.queue = sent.catch(() => {});
    return sent;
  }

  async _change(path, { method = "POST", json } = {}) {
    const round = await this._send(path, { method, json });
    if (this.round?.id !== round.id) return; // closed meanwhile
    this.round = round;
    this.render();
    this.onChange(round);
  }

  _head() {
    const r = this.round;
    const status = r.finished_at
      ? h("span", { class: "status done" }, t("duty.finishedAt", { time: fmtTime(r.finished_at) }))
      : h("span", { class: "status open", dataset: { i18n: "duty.open" } });
    clear($("#round-head", this.box),
      h("strong", {}, data(r.school_name ?? r.school_id)),
      h("span", {}, label("duty.mode", r.mode)),
      h("span", {}, t("duty.startedBy", { time: fmtTime(r.started_at) }), " ", data(r.inspector)),
      status,
      h("button", { type: "button", id: "round-close", onclick: () => this._dismiss(), dataset: { i18n: "common.close" } }));
  }

  _items() {
    const marked = new Map(this.round.items.map((i) => [i.item, i]));
    const row = (name) => {
      const mark = marked.get(name);
      const note = h("input", { class: "note", value: mark?.note ?? "", maxLength: 2000, disabled: !this.editable,
        dataset: { i18nPlaceholder: "duty.notePlaceholder" } });
      const save = (result) => this._change("/items", { method: "PUT", json: { item: name, result, note: note.value || null } })
        .catch((e) => this._say("#finish-error", e.message));
      note.addEventListener("change", () => mark && save(mark.result)); // a note alone is no result
      const choice = (result) => h("button", { type: "button", class: `result ${result}`, disabled: !this.editable,
        "aria-pressed": String(mark?.result === result), onclick: () => save(result), dataset: { i18n: `duty.result.${result}` } });
      return h("tr", { dataset: { item: name, result: mark?.result ?? "" } },
        h("td", {}, data(name)),
        h("td", {}, choice("pass"), " ", choice("fail")),
        h("td", {}, note),
        h("td", {}, mark ? fmtTime(mark.recorded_at) : h("span", { class: "hint", dataset: { i18n: "duty.unmarked" } })));
    };
    const keys = ["duty.item", "duty.result", "duty.note", "duty.recordedAt"];
    clear($("#items", this.box),
      h("thead", {}, h("tr", {}, keys.map((k) => h("th", { dataset: { i18n: k } })))),
      h("tbody", {}, this.checklist.items.map(row)));
  }

  _tile(camera) {
    const video = h("video", { muted: true, autoplay: true, playsInline: true });
    const overlay = h("div", { class: "overlay" });
    const snap = async (event) => {
      const button = event.currentTarget;
      button.disabled = true;
      this._say("#snap-error", "");
      try {
        const item = $("#snap-item", this.box)?.value || null;
        const evidence = await this._send("/snapshots", { method: "POST", json: { camera_id: camera.id, item } });
        if (!this.round) return; // closed meanwhile
        this.round.evidence.push(evidence);
        this.render();
        this.onChange(this.round);
      } catch (e) {
        this._say("#snap-error", e.message);
      } finally {
        button.disabled = false;
      }
    };
    this.players.push(new LivePlayer(video, camera.id, {
      onStatus: (key) => clear(overlay, key ? h("span", { dataset: { i18n: key } }, t(key)) : null),
    }));
    return h("div", { class: "tile", dataset: { camera: camera.id } },
      video,
      h("div", { class: "label" }, data(camera.kitchen.name), data(camera.name)),
      overlay,
      h("button", { type: "button", class: "snap primary", onclick: snap, dataset: { i18n: "duty.snapshot" } }));
  }

  _evidence() {
    const box = $("#evidence", this.box);
    const names = new Map(this.cameras.map((c) => [c.id, c.name]));
    const items = this.editable
      ? h("label", {}, h("span", { dataset: { i18n: "duty.snapFor" } }), " ",
          h("select", { id: "snap-item" }, h("option", { value: "", dataset: { i18n: "duty.noItem" } }),
            this.checklist.items.map((i) => data(i, "option", { value: i }))))
      : null;
    const keep = $("#snap-item", this.box)?.value ?? "";
    const thumbs = this.round.evidence.map((e) => h("figure", { dataset: { evidence: e.id } },
      e.has_image
        ? h("a", { href: evidenceUrl(e), target: "_blank" }, h("img", { src: evidenceUrl(e), alt: "" }))
        : h("div", { class: "expired", dataset: { i18n: "duty.expired" } }),
      h("figcaption", {}, data(names.get(e.camera_id) ?? e.camera_id), " ", fmtTime(e.taken_at),
        e.item ? data(e.item, "span", { class: "tag" }) : null)));
    clear(box, items, h("div", { class: "thumbs" }, thumbs.length ? thumbs : notice("duty.noEvidence")));
    if (items) $("#snap-item", this.box).value = keep;
  }

  _events() {
    const byId = new Map(this.events.map((e) => [e.id, e]));
    const describe = (e) => `${fmtTime(e.started_at)} ${label("type", e.type)} ${e.camera_name ?? ""}`;
    const linked = this.round.event_ids.map((id) => h("li", { dataset: { event: id } },
      h("a", { href: `/events.html?event=${id}`, translate: "no" }, byId.has(id) ? describe(byId.get(id)) : id)));
    const open = this.events.filter((e) => !this.round.event_ids.includes(e.id));
    const picker = this.editable && open.length
      ? h("span", {},
          // Each option mixes a type label with the camera's name: rendered per language.
          h("select", { id: "event-select" }, open.map((e) => h("option", { value: e.id, translate: "no" }, describe(e)))),
          " ",
          h("button", { type: "button", id: "link-event", dataset: { i18n: "duty.link" },
            onclick: () => this._change("/events", { json: { event_id: $("#event-select", this.box).value } })
              .catch((e) => this._say("#finish-error", e.message)) }))
      : null;
    clear($("#round-events", this.box), linked.length ? h("ul", { id: "linked" }, linked) : notice("duty.noEvents"), picker,
      this.editable ? this._manualForm() : null);
  }

  _foot() {
    const missing = this.round.missing.length;
    clear($("#round-foot", this.box),
      this.editable
        ? h("button", { type: "button", id: "finish", class: "primary", dataset: { i18n: "duty.finish" },
            onclick: () => {
              this._say("#finish-error", "");
              // The API refuses while items are unmarked; its message names them.
              this._change("/finish").catch((e) => this._say("#finish-error", e.message));
            } })
        : null,
      this.round.finished_at ? null : h("span", { class: "hint" }, t("duty.missing", { n: missing })),
      h("p", { class: "error", id: "finish-error", role: "alert" }));
  }
}
