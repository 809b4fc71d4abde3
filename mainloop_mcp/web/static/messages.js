// The open thread's messages: rendering (markdown when its libraries load), paging, live refresh, posting.

import { $, client, reportError, state } from "./shared.js";

const PAGE_SIZE = 50;
// Markdown rendering is an enhancement: without its libraries the page shows plain text.
const markdown = import("./markdown.js").catch((error) => {
  console.error("markdown unavailable", error);
  return null;
});

/** Replaces the list with the newest page of `threadId`; false if another thread was opened meanwhile. */
export async function showMessages(threadId) {
  state.messages.clear();
  $("message-list").replaceChildren();
  const page = await client.callTool("read_messages", { thread_id: threadId, limit: PAGE_SIZE });
  if (state.currentId !== threadId) return false;
  state.olderCursor = page.next_cursor;
  await addMessages(page.messages, "bottom");
  scrollToBottom();
  return true;
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
  li.append(head, body);
  return li;
}

/** Adds messages not shown yet, keeping the list oldest-first; `where` says which end they belong to. */
export async function addMessages(messages, where) {
  const fresh = messages.filter((m) => !state.messages.has(m.id));
  fresh.sort((a, b) => a.created_at.localeCompare(b.created_at) || a.id.localeCompare(b.id));
  for (const m of fresh) state.messages.set(m.id, m);
  const items = await Promise.all(fresh.map(messageItem));
  const waiting = $("message-list").querySelector(".msg.pending"); // a question to the agent stays last
  if (where === "top") $("message-list").prepend(...items);
  else if (waiting) waiting.before(...items);
  else $("message-list").append(...items);
  $("empty").hidden = state.messages.size > 0;
  $("older").hidden = !state.olderCursor;
}

function nearBottom() {
  const box = $("messages");
  return box.scrollHeight - box.scrollTop - box.clientHeight < 120;
}
export function scrollToBottom() {
  const box = $("messages");
  box.scrollTop = box.scrollHeight;
}

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
      const stick = nearBottom();
      const page = await client.callTool("read_messages", { thread_id: id, limit: PAGE_SIZE });
      if (state.currentId !== id) continue;
      await addMessages(page.messages, "bottom");
      if (stick) scrollToBottom();
    } while (refreshAgain);
  })().finally(() => (refreshing = null));
  return refreshing;
}

// ---------- posting ----------

// A failed post keeps its idempotency key, so retrying the same text cannot post it twice.
let pendingPost = null; // {threadId, content, key}

/** agents.js sets `composer.ask` when the hub offers `chat`: {active(): bool, send(threadId, content)}. */
export const composer = { ask: null };

function newKey() {
  const bytes = crypto.getRandomValues(new Uint8Array(16)); // randomUUID needs a secure context
  return `web-${[...bytes].map((b) => b.toString(16).padStart(2, "0")).join("")}`;
}

async function send() {
  const input = $("input");
  const content = input.value;
  if (!content.trim()) return;
  const threadId = state.currentId;
  if (composer.ask?.active()) {
    $("send").disabled = true;
    input.value = "";
    autoGrow();
    try {
      // The text goes back into the box if the hub refused it before storing anything.
      if (!(await composer.ask.send(threadId, content)) && !input.value) {
        input.value = content;
        autoGrow();
      }
    } finally {
      $("send").disabled = false;
    }
    return;
  }
  if (pendingPost?.content !== content || pendingPost.threadId !== threadId) {
    pendingPost = { threadId, content, key: newKey() };
  }
  $("send").disabled = true;
  try {
    const message = await client.callTool("post_message", {
      thread_id: threadId,
      content,
      idempotency_key: pendingPost.key,
    });
    pendingPost = null;
    input.value = "";
    autoGrow();
    if (state.currentId === threadId) {
      await addMessages([message], "bottom");
      scrollToBottom();
    }
  } catch (error) {
    reportError(error, "send");
  } finally {
    $("send").disabled = false;
  }
}

$("composer").addEventListener("submit", (event) => {
  event.preventDefault();
  send();
});
$("input").addEventListener("keydown", (event) => {
  const touch = matchMedia("(pointer: coarse)").matches;
  if (event.key === "Enter" && !event.shiftKey && !event.isComposing && (!touch || event.ctrlKey || event.metaKey)) {
    event.preventDefault();
    send();
  }
});
function autoGrow() {
  const input = $("input");
  input.style.height = "auto";
  input.style.height = `${Math.min(input.scrollHeight, 160)}px`;
}
$("input").addEventListener("input", autoGrow);

