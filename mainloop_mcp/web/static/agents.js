// Agents: "ask the agent" on the input box (`chat`), and the runs in the drawer (`list_agents`)
// with status and cancel (`cancel_agent`), refreshed when the hub says a run changed (live.js), and
// a form to start one for the open thread (`spawn_agent`).

import { $, AGENT_FOLDER_KEY, client, features, reportError, showStatus, state } from "./shared.js";
import { AuthError } from "./mcp.js";
import { addMessages, composer, scrollToBottom } from "./messages.js";
import { el, plural } from "./panel.js";
import { runStatus } from "./triage.js";

const LIST_LIMIT = 20;
const STATUS_NAMES = { timed_out: "timed out" };

export function init() {
  if (state.tools.has("chat")) initAsk();
  if (state.tools.has("list_agents")) initRuns();
}

// ---------- ask the agent ----------

function initAsk() {
  const toggle = $("ask-toggle");
  toggle.hidden = false;
  toggle.addEventListener("click", () => {
    const on = toggle.getAttribute("aria-pressed") !== "true";
    toggle.setAttribute("aria-pressed", String(on));
    $("composer").classList.toggle("asking", on);
    $("input").placeholder = on ? "Ask the agent" : "Message";
    $("input").focus();
  });
  composer.ask = { active: () => toggle.getAttribute("aria-pressed") === "true", send: ask };
}

function waitingBubble(content) {
  const question = el(
    "li",
    { className: "msg role-user pending", dataset: { content } },
    el("div", { className: "msg-head" }, el("span", { className: "msg-role", text: "user" }), el("span", { text: "sending…" })),
    el("div", { className: "msg-body", text: content }),
  );
  const progress = el("span", { className: "progress-note", text: "asking the agent" });
  const clock = el("span", { className: "elapsed", text: "0 s" });
  const stop = el("button", { type: "button", className: "stop-ask", text: "Stop", ariaLabel: "Stop the agent" });
  const thinking = el(
    "li",
    { className: "msg role-assistant thinking", role: "status" },
    el("div", { className: "msg-head" }, el("span", { className: "msg-role", text: "assistant" }), clock, stop),
    el("div", { className: "msg-body" }, el("span", { className: "dots", ariaHidden: "true" }), progress),
  );
  return { question, thinking, progress, clock, stop };
}

/** Posts through `chat` and shows the wait; true once the question is stored (so it is not retyped). */
async function ask(threadId, content) {
  const before = new Set(state.messages.keys());
  const bubble = waitingBubble(content);
  $("message-list").append(bubble.question, bubble.thinking);
  $("empty").hidden = true;
  scrollToBottom();
  const started = Date.now();
  const ticker = setInterval(() => (bubble.clock.textContent = `${Math.round((Date.now() - started) / 1000)} s`), 1000);
  const onProgress = ({ message }) => {
    if (message) bubble.progress.textContent = message;
  };
  // Stop closes the request's stream: the hub cancels the call, and with it the agent's process.
  const abort = new AbortController();
  bubble.stop.addEventListener("click", () => abort.abort());
  try {
    const answer = await client.callTool("chat", { thread_id: threadId, content }, { onProgress, signal: abort.signal });
    bubble.question.remove();
    bubble.thinking.remove();
    if (state.currentId === threadId) {
      await addMessages([answer.message, answer.reply], "bottom");
      scrollToBottom();
    }
    return true;
  } catch (error) {
    bubble.question.remove();
    bubble.thinking.remove();
    if (abort.signal.aborted) showStatus("Stopped: the agent was not asked to finish.");
    else reportError(error, "ask the agent");
    if (error instanceof AuthError || state.currentId !== threadId) return state.currentId !== threadId;
    // The hub stores the question before asking: if the agent failed, the question is there already.
    await features.refreshMessages().catch(() => {});
    return [...state.messages.values()].some((m) => !before.has(m.id) && m.role === "user" && m.content === content);
  } finally {
    clearInterval(ticker);
  }
}

// ---------- runs ----------

let runs = [];
let refreshing = null;

function initRuns() {
  features.refreshRuns = refreshRuns; // app.js calls it after a new login
  $("agents").hidden = false;
  if (state.tools.has("spawn_agent")) {
    $("spawn-open").hidden = false;
    $("spawn-open").addEventListener("click", openSpawn);
  }
  $("agent-list").addEventListener("click", onListClick);
  $("menu").addEventListener("click", () => refreshRuns());
  document.addEventListener("visibilitychange", () => {
    if (document.visibilityState === "visible") refreshRuns();
  });
  refreshRuns();
}

const isActive = (run) => run.status === "queued" || run.status === "running";

function refreshRuns() {
  refreshing ??= loadRuns().finally(() => (refreshing = null));
  return refreshing;
}

async function loadRuns() {
  if ($("app").hidden) return; // logged out: nothing to show until the next login refreshes again
  try {
    const page = await client.callTool("list_agents", { limit: LIST_LIMIT });
    noticeFinished(page.runs);
    runs = page.runs;
    renderRuns();
    // Oldest first, so a thread's newest run decides its status in the tree.
    for (const run of [...runs].reverse()) runStatus.set(run.thread_id, run.status);
    features.renderTree?.();
  } catch (error) {
    if (error instanceof AuthError) return reportError(error, "list the agents");
    console.warn("list_agents failed", error);
  }
}

// A finished run posts into its task thread and its parent (live.js hears those too if that thread is open).
function noticeFinished(fresh) {
  const wasActive = new Set(runs.filter(isActive).map((r) => r.id));
  const done = fresh.filter((r) => wasActive.has(r.id) && !isActive(r));
  if (done.some((r) => r.thread_id === state.currentId || r.parent_thread_id === state.currentId)) {
    features.refreshMessages().catch((error) => reportError(error, "refresh"));
  }
  if (done.length) features.loadTree().catch((error) => reportError(error, "list the threads"));
}

function since(iso) {
  const seconds = Math.max(0, Math.round((Date.now() - new Date(iso)) / 1000));
  if (seconds < 90) return `${seconds} s`;
  if (seconds < 5400) return `${Math.round(seconds / 60)} min`;
  if (seconds < 129600) return `${Math.round(seconds / 3600)} h`;
  return `${Math.round(seconds / 86400)} d`;
}

function runItem(run) {
  const status = STATUS_NAMES[run.status] ?? run.status;
  const when = isActive(run)
    ? `${run.status === "running" ? "for" : "waiting"} ${since(run.started_at ?? run.created_at)}`
    : `${since(run.finished_at ?? run.created_at)} ago`;
  const open = el(
    "button",
    { className: "agent-open", type: "button", title: run.error ?? run.prompt },
    el("span", { className: "agent-title", text: run.title }),
    el(
      "span",
      { className: "agent-meta" },
      el("span", { className: `badge run-${run.status}`, text: status }),
      el("span", { className: "muted", text: when }),
    ),
  );
  const cancel =
    isActive(run) && state.tools.has("cancel_agent")
      ? el("button", { className: "agent-cancel", type: "button", text: "Cancel", ariaLabel: `Cancel ${run.title}` })
      : null;
  return el("li", { className: "agent-run", dataset: { id: run.id, thread: run.thread_id, status: run.status } }, open, cancel);
}

function renderRuns() {
  $("agent-list").replaceChildren(...runs.map(runItem));
  $("agents-empty").hidden = runs.length > 0;
  const active = runs.filter(isActive).length;
  $("agents-badge").hidden = active === 0;
  $("agents-badge").textContent = String(active);
  $("menu").setAttribute("aria-label", active ? `Threads (${plural(active, "agent")} running)` : "Threads");
}

async function onListClick(event) {
  const item = event.target.closest(".agent-run");
  if (!item) return;
  const run = runs.find((r) => r.id === item.dataset.id);
  if (event.target.closest(".agent-cancel")) {
    if (!run || !confirm(`Stop the agent “${run.title}”?`)) return;
    const button = event.target.closest(".agent-cancel");
    button.disabled = true;
    button.textContent = "Stopping…";
    try {
      const after = await client.callTool("cancel_agent", { run_id: run.id });
      showStatus(`Agent “${after.title}” ${STATUS_NAMES[after.status] ?? after.status}.`);
    } catch (error) {
      reportError(error, "cancel the agent");
    }
    await refreshRuns();
  } else if (event.target.closest(".agent-open")) {
    features.setDrawer(false);
    await features.selectThread(item.dataset.thread).catch((error) => reportError(error, "open the thread"));
  }
}

// ---------- spawn ----------

// Runs go under a project or main: from a task, its project.
function spawnParent() {
  const current = state.threads.get(state.currentId);
  if (!current) return state.threads.get(state.mainId);
  return current.thread_type === "task" ? (state.threads.get(current.parent_id) ?? current) : current;
}

// The folders the hub lets agents work in (its work roots and their subfolders), as a list to pick from.
async function fillFolders() {
  const { folders } = await client.readJson("agents://work-folders");
  const last = localStorage.getItem(AGENT_FOLDER_KEY);
  $("spawn-folder").replaceChildren(...folders.map((f) => new Option(f, f, false, f === last)));
  if (!folders.length) {
    $("spawn-error").textContent = "The hub has no agent work folder: create one of its agent_work_roots.";
    $("spawn-error").hidden = false;
  }
}

function openSpawn() {
  const parent = spawnParent();
  $("spawn-dialog").dataset.parent = parent?.id ?? "";
  $("spawn-under").textContent = `A task thread is created under “${parent?.title ?? "main"}”; the result lands there.`;
  fillFolders().catch((error) => {
    $("spawn-error").textContent = `Couldn't list the work folders: ${error.message}`;
    $("spawn-error").hidden = false;
  });
  $("spawn-error").hidden = true;
  $("spawn-dialog").showModal();
  $("spawn-prompt").focus();
}

$("spawn-form").addEventListener("submit", async (event) => {
  if (event.submitter?.value !== "start") return;
  event.preventDefault();
  const args = {
    prompt: $("spawn-prompt").value,
    parent_thread_id: $("spawn-dialog").dataset.parent,
    work_folder: $("spawn-folder").value,
    ...($("spawn-title").value.trim() && { title: $("spawn-title").value.trim() }),
  };
  $("spawn-start").disabled = true;
  try {
    const run = await client.callTool("spawn_agent", args);
    localStorage.setItem(AGENT_FOLDER_KEY, args.work_folder);
    $("spawn-dialog").close();
    $("spawn-prompt").value = "";
    $("spawn-title").value = "";
    showStatus(`Agent “${run.title}” started.`);
    await Promise.all([refreshRuns(), features.loadTree()]);
    features.setDrawer(true);
  } catch (error) {
    if (error instanceof AuthError) return reportError(error, "start the agent");
    $("spawn-error").textContent = error.message;
    $("spawn-error").hidden = false;
  } finally {
    $("spawn-start").disabled = false;
  }
});
