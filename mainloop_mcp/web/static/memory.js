// The open thread's memory: the pyramid from `get_context` (recent messages, then days, weeks and
// months), and `zoom` into any period, down to its full messages, page by page.

import { $, client, features, reportError, state } from "./shared.js";
import { messageItem, renderRich, scrollToBottom } from "./messages.js";
import { closePanel, el, note, periodLabel, periodWallStart, plural, pushView } from "./panel.js";

const BUDGET = 60000; // tokens: the whole pyramid of a busy thread fits, and it stays one quick call
const ZOOM_PAGE = 50;
const GROUPS = [
  ["day", "Days"],
  ["week", "Weeks"],
  ["month", "Months"],
];
const LEVEL_NAMES = { week: "weeks", day: "days", message: "messages" };

export function init() {
  $("open-memory").hidden = false;
  $("open-memory").addEventListener("click", () => openMemory());
  features.zoomTo = zoomInto;
}

const loading = () => note("Loading…", "muted note loading");

function failed(view, error, doing) {
  view.replaceChildren(note(`Couldn't ${doing}: ${error.message}`, "error note"));
  reportError(error, doing);
}

export async function openMemory() {
  const threadId = state.currentId;
  closePanel();
  const view = pushView("Memory", "memory");
  view.append(loading());
  try {
    const context = await client.callTool("get_context", { thread_id: threadId, token_budget: BUDGET });
    if (view.isConnected && state.currentId === threadId) renderOverview(view, threadId, context);
  } catch (error) {
    failed(view, error, "load the memory");
  }
}

function renderOverview(view, threadId, context) {
  if (context.timezone) hubZone = context.timezone;
  const recent = context.items.filter((i) => i.granularity === "message");
  const parts = [note(`What the hub keeps of “${context.title}”, newest first. Tap a period to zoom in.`)];
  if (recent.length) {
    const since = new Date(recent[0].start);
    const card = el(
      "button",
      { className: "band band-recent", type: "button" },
      el("span", { className: "band-label", text: "Recent messages" }),
      el("span", { className: "band-meta", text: `${plural(recent.length, "message")} since ${since.toLocaleString([], { weekday: "short", hour: "2-digit", minute: "2-digit" })}` }),
    );
    card.addEventListener("click", () => {
      closePanel();
      scrollToBottom();
    });
    parts.push(card);
  }
  for (const [granularity, heading] of GROUPS) {
    const items = context.items.filter((i) => i.granularity === granularity).reverse();
    if (!items.length) continue;
    parts.push(el("h3", { className: "band-group", text: heading }), ...items.map((i) => bandCard(threadId, i)));
  }
  if (!context.items.length) parts.push(note("Nothing remembered yet: this thread has no messages."));
  else if (!context.complete) parts.push(note("Older history did not fit in this view's budget."));
  view.replaceChildren(...parts);
}

// A summary cites each message as "2026-11-24 09:00 user:" on the hub's clock, shown here in this
// browser's time zone: "**10:00** · user:" in a day, "**Tue 24 Nov, 10:00** · user:" above. With the
// hub's zone (get_context names it) each citation gets the offset of its own instant, so a week or
// month across a daylight-saving change is right on both sides; without it, the period's start (an
// instant) against its wall-clock midnight gives one offset for the whole period.
const CITATION = /^(- )?(\d{4})-(\d{2})-(\d{2}) (\d{2}):(\d{2}) ([a-z]+):/gm;
let hubZone = null;

/** How far `zone`'s wall clock is ahead of UTC at the instant `ms`. */
function zoneOffset(zone, ms) {
  const parts = new Intl.DateTimeFormat("en-US", {
    timeZone: zone, hourCycle: "h23", year: "numeric", month: "numeric", day: "numeric", hour: "numeric", minute: "numeric",
  }).formatToParts(ms);
  const p = Object.fromEntries(parts.map((x) => [x.type, +x.value]));
  return Date.UTC(p.year, p.month - 1, p.day, p.hour, p.minute) - Math.floor(ms / 60000) * 60000;
}

export function localTimes(item, zone = hubZone) {
  const wall = periodWallStart(item.period);
  if (wall == null) return item.content;
  const fixed = wall - Date.parse(item.start); // hub wall clock minus UTC at the period's start
  const offset = (asUtc) => {
    if (!zone) return fixed;
    const first = zoneOffset(zone, asUtc - fixed);
    return zoneOffset(zone, asUtc - first);
  };
  const day = item.granularity === "day";
  const when = { hour: "2-digit", minute: "2-digit", ...(!day && { weekday: "short", day: "numeric", month: "short" }) };
  const format = new Intl.DateTimeFormat([], when);
  return item.content.replace(CITATION, (_, bullet, y, mo, d, h, mi, role) => {
    const asUtc = Date.UTC(+y, +mo - 1, +d, +h, +mi);
    return `${bullet ?? ""}**${format.format(asUtc - offset(asUtc))}** · ${role}:`;
  });
}

/** A summarised period: its label, how many messages it stands for, the summary; tap to zoom. */
function bandCard(threadId, item) {
  const open = el(
    "button",
    { className: "band-zoom", type: "button" },
    el("span", { className: "band-label", text: periodLabel(item.period) }),
    el("span", { className: "band-meta", text: plural(item.source_message_count, "message") }),
    el("span", { className: "chevron", ariaHidden: "true", text: "›" }),
  );
  const summary = el("div", { className: "band-summary msg-body" });
  renderRich(summary, localTimes(item));
  const card = el("article", { className: `band band-${item.granularity}`, dataset: { period: item.period } }, open, summary);
  card.addEventListener("click", (event) => {
    if (event.target.closest("a")) return; // links in a summary open themselves
    zoomInto(threadId, item.period, item.granularity);
  });
  return card;
}

/**
 * Pushes a view of `period` one level finer (month -> weeks, week -> days, day -> messages).
 * `highlight` names a message to scroll to and mark (a search hit).
 */
export async function zoomInto(threadId, period, granularity, { highlight } = {}) {
  const view = pushView(periodLabel(period), "zoom");
  view.dataset.period = period;
  view.append(loading());
  try {
    const result = await client.callTool("zoom", { thread_id: threadId, period });
    if (!view.isConnected) return;
    if (result.level === "message") await renderMessages(view, threadId, period, result, highlight);
    else renderPeriods(view, threadId, result);
  } catch (error) {
    failed(view, error, `zoom into ${period}`);
  }
}

function renderPeriods(view, threadId, result) {
  const intro = note(`${periodLabel(result.period)}: its ${LEVEL_NAMES[result.level]}, oldest first.`);
  const cards = result.items.map((i) => bandCard(threadId, i));
  view.replaceChildren(intro, ...(cards.length ? cards : [note("No messages in this period.")]));
}

async function renderMessages(view, threadId, period, first, highlight) {
  const list = el("ol", { className: "message-list zoom-messages" });
  const more = el("button", { className: "link older", type: "button", text: "Load more messages" });
  let cursor = first.next_cursor;
  const addPage = async (items) => {
    const messages = items.map((i) => ({ id: i.message_id, role: i.role, content: i.content, created_at: i.start }));
    list.append(...(await Promise.all(messages.map(messageItem))));
    more.hidden = !cursor;
  };
  const loadMore = async () => {
    more.disabled = true;
    try {
      const page = await client.callTool("zoom", { thread_id: threadId, period, limit: ZOOM_PAGE, cursor });
      cursor = page.next_cursor;
      await addPage(page.items);
    } finally {
      more.disabled = false;
    }
  };
  more.addEventListener("click", () => loadMore().catch((error) => reportError(error, "load more messages")));
  const intro = note(`${periodLabel(period)}: ${first.items.length ? "every message, oldest first." : "no messages."}`);
  view.replaceChildren(intro, list, more);
  await addPage(first.items);
  if (!highlight) return;
  // A search hit may sit on a later page: fetch on until it shows (a day rarely holds many pages).
  for (let pages = 0; !list.querySelector(`[data-id="${CSS.escape(highlight)}"]`) && cursor && pages < 20; pages++) {
    await loadMore();
  }
  const hit = list.querySelector(`[data-id="${CSS.escape(highlight)}"]`);
  if (hit) {
    hit.classList.add("hit");
    hit.scrollIntoView({ block: "center" });
  }
}
