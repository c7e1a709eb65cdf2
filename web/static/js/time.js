// Times are stored in UTC and shown in the district's zone (Asia/Shanghai, no DST: +08:00).
import { lang } from "./i18n.js";

export const TIME_ZONE = "Asia/Shanghai";
const OFFSET = "+08:00";

export function fmtTime(iso, { seconds = true } = {}) {
  if (!iso) return "—";
  const options = {
    timeZone: TIME_ZONE,
    year: "numeric",
    month: "2-digit",
    day: "2-digit",
    hour: "2-digit",
    minute: "2-digit",
    hourCycle: "h23",
  };
  if (seconds) options.second = "2-digit";
  return new Intl.DateTimeFormat(lang(), options).format(new Date(iso));
}

// A <input type="datetime-local"> value read as Beijing time, as ISO 8601 with its offset.
export function localInputToIso(value) {
  if (!value) return null;
  return `${value.length === 16 ? `${value}:00` : value}${OFFSET}`;
}

// The value for a datetime-local input showing `date` in Beijing time.
export function isoToLocalInput(date) {
  const parts = new Intl.DateTimeFormat("en-CA", {
    timeZone: TIME_ZONE,
    year: "numeric",
    month: "2-digit",
    day: "2-digit",
    hour: "2-digit",
    minute: "2-digit",
    hourCycle: "h23",
  }).formatToParts(date);
  const get = (type) => parts.find((p) => p.type === type).value;
  return `${get("year")}-${get("month")}-${get("day")}T${get("hour")}:${get("minute")}`;
}
