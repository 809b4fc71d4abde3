// The open thread's messages: rendering (markdown when its libraries load), paging, live refresh, posting.

import { $, client, copyButton, reportError, state } from "./shared.js";
import * as snapshot from "./snapshot.js";
import { readAloudButton } from "./voice.js";

const PAGE_SIZE = 50;
// Markdown rendering is an enhancement: without its libraries the page shows plain text.
const markdown = import("./markdown.js").catch((error) => {
  console.error("markdown unavailable", error);
  return null;
});

/**
 * Replaces the list with the newest page of `threadId`; false if another thread was opened meanwhile.
 * The list is cleared at once (never the previous thread's messages); the page saved last time shows
 * until the hub answers, and stays, marked as saved, when it can't be reached.
 */
// The first thread's newest page, asked for beside the page's other first calls (one round trip
// fewer before the thread shows). `ref` may be "main" or an id; the answer names the thread.
let early = null;
export function prefetch(ref) {
  early = client.callTool("read_messages", { thread_id: ref, limit: PAGE_SIZE }).catch(() => null);
}

async function newestPage(threadId) {
  const ahead = early && (await early);
  early = null;
  if (ahead?.thread_id === threadId) return ahead;
  return client.callTool("read_messages", { thread_id: threadId, limit: PAGE_SIZE });
}

export async function showMessages(threadId) {
  resetList();
  const saved = snapshot.loadThread(threadId);
  if (saved) {
    await drawPage(threadId, saved.messages, saved.olderCursor, true);
    performance.mark("mainloop:saved-visible"); // read by bench/web_first_load.py
  }
  else $("message-list").classList.add("skeleton-rows");
  let page;
  try {
    page = await newestPage(threadId);
  } finally {
    if (state.currentId === threadId) $("message-list").classList.remove("skeleton-rows");
  }
  if (state.currentId !== threadId) return false;
  if (saved) resetList();
  await drawPage(threadId, page.messages, page.next_cursor, false);
  snapshot.saveThread(threadId, page.messages, page.next_cursor);
  return true;
}

/** Saves the open thread's newest page as shown now (for the next load, and offline). */
export function saveShown() {
  const newest = [...state.messages.values()]
    .sort((a, b) => b.created_at.localeCompare(a.created_at) || b.id.localeCompare(a.id))
    .slice(0, PAGE_SIZE);
  snapshot.saveThread(state.currentId, newest, state.olderCursor);
}

function resetList() {
  hidePill();
  state.messages.clear();
  state.olderCursor = null;
  $("older").hidden = true;
  $("message-list").replaceChildren();
  $("message-list").classList.toggle("stale", false);
}

async function drawPage(threadId, messages, olderCursor, stale) {
  state.olderCursor = olderCursor;
  await addMessages(messages, "bottom");
  if (state.currentId !== threadId) return;
  $("message-list").classList.toggle("stale", stale);
  listHooks.afterDraw();
  scrollToBottom();
}

function formatTime(iso) {
  const when = new Date(iso);
  const sameDay = when.toDateString() === new Date().toDateString();
  return sameDay
    ? when.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" })
    : when.toLocaleString([], { month: "short", day: "numeric", hour: "2-digit", minute: "2-digit" });
}

/** Renders untrusted text into `element`: sanitised markdown, or plain text without its libraries. */
export async function renderRich(element, text) {
  const md = await markdown;
  if (md) md.renderMarkdown(element, text);
  else element.textContent = text;
}

export async function messageItem(message) {
  const li = document.createElement("li");
  li.className = `msg role-${message.role}`;
  li.dataset.id = message.id;
  const head = document.createElement("div");
  head.className = "msg-head";
  const role = document.createElement("span");
  role.className = "msg-role";
  role.textContent = message.role;
  const time = document.createElement("time");
  time.dateTime = message.created_at;
  time.textContent = formatTime(message.created_at);
  head.append(role, time);
  const body = document.createElement("div");
  body.className = "msg-body";
  await renderRich(body, message.content);
  const readable = message.role !== "user" ? readAloudButton(() => body.textContent) : null;
  head.append(copyButton(() => message.content, "Copy message"), ...(readable ? [readable] : []));
  li.append(head, body);
  return li;
}

/** Adds messages not shown yet, keeping the list oldest-first; `where` says which end they belong to. */
export async function addMessages(messages, where) {
  const threadId = state.currentId;
  const fresh = messages.filter((m) => !state.messages.has(m.id));
  fresh.sort((a, b) => a.created_at.localeCompare(b.created_at) || a.id.localeCompare(b.id));
  const items = await Promise.all(fresh.map(messageItem));
  if (state.currentId !== threadId) return; // another thread opened while these rendered
  const unseen = fresh.filter((m) => !state.messages.has(m.id)); // a concurrent call may have added some
  for (const m of unseen) state.messages.set(m.id, m);
  const keep = new Set(unseen.map((m) => m.id));
  items.splice(0, items.length, ...items.filter((li) => keep.has(li.dataset.id)));
  // A question to the agent shows as stored once the hub has it (live updates may bring it first).
  for (const pending of $("message-list").querySelectorAll(".msg.pending")) {
    if (unseen.some((m) => m.role === "user" && m.content === pending.dataset.content)) pending.remove();
  }
  const waiting = $("message-list").querySelector(".msg.pending, .msg.thinking, .msg.queued"); // they stay last
  if (where === "top") $("message-list").prepend(...items);
  else if (waiting) waiting.before(...items);
  else $("message-list").append(...items);
  $("empty").hidden = state.messages.size > 0;
  $("older").hidden = !state.olderCursor;
  return unseen.length;
}

function nearBottom() {
  const box = $("messages");
  return box.scrollHeight - box.scrollTop - box.clientHeight < 120;
}
export function scrollToBottom() {
  const box = $("messages");
  box.scrollTop = box.scrollHeight;
  hidePill();
}

// ---------- the "new messages" pill: new messages arrived while the reader was scrolled up ----------

let pillCount = 0;
function showPill(added) {
  pillCount += added;
  $("new-pill").textContent = `↓ ${pillCount} new message${pillCount === 1 ? "" : "s"}`;
  $("new-pill").hidden = false;
}
function hidePill() {
  pillCount = 0;
  $("new-pill").hidden = true;
}
$("new-pill").addEventListener("click", scrollToBottom);

$("older").addEventListener("click", async () => {
  const id = state.currentId;
  const box = $("messages");
  const before = box.scrollHeight;
  try {
    const page = await client.callTool("read_messages", { thread_id: id, limit: PAGE_SIZE, cursor: state.olderCursor });
    if (state.currentId !== id) return;
    state.olderCursor = page.next_cursor;
    await addMessages(page.messages, "top");
    box.scrollTop += box.scrollHeight - before;
  } catch (error) {
    reportError(error, "load older messages");
  }
});

// Coalesces bursts of change events: one fetch in flight, at most one more queued.
let refreshing = null;
let refreshAgain = false;
export async function refreshMessages() {
  if (refreshing) {
    refreshAgain = true;
    return refreshing;
  }
  refreshing = (async () => {
    do {
      refreshAgain = false;
      const id = state.currentId;
      const page = await client.callTool("read_messages", { thread_id: id, limit: PAGE_SIZE });
      if (state.currentId !== id) continue;
      const stick = nearBottom();
      const added = await addMessages(page.messages, "bottom");
      saveShown();
      if (stick) scrollToBottom();
      else if (added) showPill(added);
    } while (refreshAgain);
  })().finally(() => (refreshing = null));
  return refreshing;
}

/** agents.js sets `composer.ask` when the hub offers `chat`: {active(): bool, send(threadId, content)}. */
export const composer = { ask: null };
/** composer.js sets `afterDraw`: what to add once a thread's list is drawn (its queued posts). */
export const listHooks = { afterDraw: () => {} };

// The keyboard opening shrinks the list (interactive-widget=resizes-content): stay at the bottom if
// that is where the reader was.
let pinned = true;
$("messages").addEventListener(
  "scroll",
  () => {
    pinned = nearBottom();
    if (pinned && pillCount) hidePill();
  },
  { passive: true },
);
new ResizeObserver(() => pinned && scrollToBottom()).observe($("messages"));
