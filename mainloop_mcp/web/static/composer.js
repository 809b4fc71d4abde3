// The input box: per-thread drafts (kept across reloads), sending through the outbox, queued posts
// shown in the list until the hub has them, and "ask the agent" when agents.js turns it on.

import { enqueue, flush, outboxEvents, queuedFor } from "./outbox.js";
import { addMessages, composer, listHooks, saveShown, scrollToBottom } from "./messages.js";
import { $, onThreadChange, reportError, showStatus, state } from "./shared.js";
import { el } from "./panel.js";
import { initDictation } from "./voice.js";

initDictation();

const DRAFT_PREFIX = "mainloop.draft.";

// ---------- drafts ----------

let draftThread = null; // the thread the box's text belongs to

function saveDraft() {
  if (!draftThread) return;
  const text = $("input").value;
  if (text.trim()) localStorage.setItem(DRAFT_PREFIX + draftThread, text);
  else localStorage.removeItem(DRAFT_PREFIX + draftThread);
}

onThreadChange((id) => {
  saveDraft();
  draftThread = id;
  $("input").value = localStorage.getItem(DRAFT_PREFIX + id) || "";
  autoGrow();
});

$("input").addEventListener("input", () => {
  autoGrow();
  saveDraft();
});

function setInput(text) {
  $("input").value = text;
  autoGrow();
  saveDraft();
}

// ---------- queued posts ----------

function queuedItem(item) {
  return el(
    "li",
    { className: "msg role-user queued", dataset: { key: item.key } },
    el("div", { className: "msg-head" }, el("span", { className: "msg-role", text: "user" }), el("span", { className: "queued-note", text: "queued" })),
    el("div", { className: "msg-body", text: item.content }),
  );
}

/** Shows the open thread's queued posts at the end of the list (after the thread is (re)drawn). */
export function showQueued() {
  const list = $("message-list");
  const shown = new Set([...list.querySelectorAll(".msg.queued")].map((li) => li.dataset.key));
  for (const item of queuedFor(state.currentId)) if (!shown.has(item.key)) list.append(queuedItem(item));
  $("empty").hidden = state.messages.size > 0 || list.querySelector(".msg.queued") !== null;
}

listHooks.afterDraw = showQueued;

const queuedLi = (key) => $("message-list").querySelector(`.msg.queued[data-key="${CSS.escape(key)}"]`);

outboxEvents.sent = async (item, message) => {
  queuedLi(item.key)?.remove();
  if (state.currentId === item.threadId) {
    await addMessages([message], "bottom");
    saveShown();
    scrollToBottom();
  }
};
outboxEvents.refused = (item, error) => {
  queuedLi(item.key)?.remove();
  reportError(error, "send");
  if (state.currentId === item.threadId && !$("input").value) setInput(item.content); // back in the box
};
outboxEvents.changed = () => {
  const waiting = queuedFor(state.currentId).length;
  for (const li of $("message-list").querySelectorAll(".msg.queued .queued-note")) {
    li.textContent = document.body.classList.contains("offline") ? "queued: sends when the hub is back" : "sending…";
  }
  $("send").classList.toggle("has-queue", waiting > 0);
};

// ---------- sending ----------

async function send() {
  const input = $("input");
  const content = input.value;
  if (!content.trim()) return;
  const threadId = state.currentId;
  if (composer.ask?.active()) {
    if (document.body.classList.contains("offline")) return showStatus("The agent can't be asked offline.", true);
    $("send").disabled = true;
    setInput("");
    try {
      // The text goes back into the box if the hub refused it before storing anything.
      if (!(await composer.ask.send(threadId, content)) && !input.value) setInput(content);
    } finally {
      $("send").disabled = false;
    }
    return;
  }
  setInput("");
  enqueue(threadId, content);
  showQueued();
  outboxEvents.changed();
  scrollToBottom();
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

/**
 * Text shared into the page from another app (the manifest's share_target opens /?title=&text=&url=):
 * it goes into the open thread's box, after any draft, for the person to check and send.
 */
const sharedAtLoad = location.search; // read before the page rewrites its address

export function acceptShared() {
  if (acceptShared.done) return;
  acceptShared.done = true;
  const params = new URLSearchParams(sharedAtLoad);
  const title = params.get("title")?.trim();
  const body = ["text", "url"].map((k) => params.get(k)?.trim()).filter(Boolean).join(" ");
  const text = title && !body.includes(title) ? [title, body].filter(Boolean).join("\n\n") : body;
  if (!text) return;
  const draft = $("input").value.replace(/\s*$/, "");
  setInput(draft ? `${draft}\n\n${text}` : text);
  if (location.search) history.replaceState(null, "", location.pathname + location.hash);
  showStatus(`Shared text is in the box of “${state.threads.get(state.currentId)?.title ?? "this thread"}”: check it and send.`);
}

/** Sends whatever waits in the outbox (the hub is reachable again, or the page just loaded). */
export function sendQueued() {
  return flush();
}
