// A sheet over the message list for the optional views (search, memory): a stack of views, each
// with its own element, so going back keeps the earlier view as it was (its scroll, its results).

import { $, onThreadChange } from "./shared.js";

const stack = []; // [{title, element}]

function sync() {
  const top = stack.at(-1);
  $("panel").hidden = !top;
  document.body.classList.toggle("panel-open", Boolean(top));
  if (!top) return;
  $("panel-title").textContent = top.title;
  $("panel-path").textContent = stack.length > 1 ? stack.slice(0, -1).map((v) => v.title).join(" › ") : "";
  $("panel-path").hidden = stack.length < 2;
  for (const view of stack) view.element.hidden = view !== top;
}

/** Shows a new view on top; returns its element. `kind` names the view for styles and tests. */
export function pushView(title, kind) {
  const element = document.createElement("div");
  element.className = `panel-view view-${kind}`;
  $("panel-views").append(element);
  stack.push({ title, element });
  sync();
  element.scrollTop = 0;
  return element;
}

/** Shows an element kept by its owner (e.g. the search form and its results) as the only view. */
export function showKeptView(title, element) {
  closePanel();
  if (!element.isConnected) $("panel-views").append(element);
  stack.push({ title, element, kept: true });
  sync();
}

export function setViewTitle(element, title) {
  const view = stack.find((v) => v.element === element);
  if (view) view.title = title;
  sync();
}

function popView() {
  const view = stack.pop();
  if (view && !view.kept) view.element.remove();
  else if (view) view.element.hidden = true;
  sync();
}

export function closePanel() {
  while (stack.length) popView();
}

export const isPanelOpen = () => stack.length > 0;

$("panel-back").addEventListener("click", popView);
$("panel-close").addEventListener("click", closePanel);
document.addEventListener("keydown", (event) => {
  if (event.key === "Escape" && isPanelOpen() && !document.querySelector("dialog[open]")) closePanel();
});
onThreadChange(() => closePanel());

// ---------- small DOM helpers for the views (text only: never HTML from content) ----------

/** An element with properties (`text` sets textContent, `dataset` merges) and children. */
export function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  const { text, dataset, ...rest } = props;
  Object.assign(node, rest);
  if (dataset) Object.assign(node.dataset, dataset);
  if (text != null) node.textContent = text;
  node.append(...children.filter((c) => c != null && c !== false));
  return node;
}

export const note = (text, className = "muted note") => el("p", { className, text });

const DAY_MS = 86400000;
const fmt = (options, ms) => new Intl.DateTimeFormat([], { timeZone: "UTC", ...options }).format(ms);

export function isoWeekMonday(year, week) {
  const jan4 = Date.UTC(year, 0, 4);
  const weekday = (new Date(jan4).getUTCDay() + 6) % 7; // Monday 0
  return jan4 - weekday * DAY_MS + (week - 1) * 7 * DAY_MS;
}

/** A period label (2026-11, 2026-W47, 2026-11-24) as people read it; the calendar is the hub's. */
export function periodLabel(period) {
  let m;
  if ((m = /^(\d{4})-(\d{2})$/.exec(period))) {
    return fmt({ month: "long", year: "numeric" }, Date.UTC(+m[1], +m[2] - 1, 1));
  }
  if ((m = /^(\d{4})-W(\d{2})$/.exec(period))) {
    const monday = isoWeekMonday(+m[1], +m[2]);
    const days = new Intl.DateTimeFormat([], { timeZone: "UTC", day: "numeric", month: "short" });
    return `Week ${+m[2]} · ${days.formatRange(monday, monday + 6 * DAY_MS)}`;
  }
  if ((m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(period))) {
    const day = Date.UTC(+m[1], +m[2] - 1, +m[3]);
    const thisYear = +m[1] === new Date().getFullYear();
    return fmt({ weekday: "short", day: "numeric", month: "short", ...(!thisYear && { year: "numeric" }) }, day);
  }
  return period;
}

/** Midnight starting `period` on the hub's calendar, as if that wall-clock time were UTC (ms). */
export function periodWallStart(period) {
  let m;
  if ((m = /^(\d{4})-(\d{2})$/.exec(period))) return Date.UTC(+m[1], +m[2] - 1, 1);
  if ((m = /^(\d{4})-W(\d{2})$/.exec(period))) return isoWeekMonday(+m[1], +m[2]);
  if ((m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(period))) return Date.UTC(+m[1], +m[2] - 1, +m[3]);
  return null;
}

export function plural(n, word, many = `${word}s`) {
  return `${n.toLocaleString()} ${n === 1 ? word : many}`;
}
