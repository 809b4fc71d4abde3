// The phone page's shell: login, the thread tree, switching, creating and archiving threads.
// Everything goes through MCP calls to /mcp (see mcp.js); messages.js and live.js do the rest.

import { acceptShared, sendQueued } from "./composer.js";
import { isNetworkError, isReachable, networkFailed, onReachability, watchConnection } from "./connection.js";
import { isLive, listen, stopListening } from "./live.js";
import { AuthError } from "./mcp.js";
import { prefetch, refreshMessages, showMessages } from "./messages.js";
import { forgetQueue } from "./outbox.js";
import { closePanel, el } from "./panel.js";
import { $, TOKEN_KEY, client, features, onAuthFailure, reportError, showStatus, state, threadChanged } from "./shared.js";
import * as snapshot from "./snapshot.js";
import * as triage from "./triage.js";

// ---------- login ----------

function showLogin(message) {
  stopListening();
  closePanel();
  $("app").hidden = true;
  $("skeleton").hidden = true;
  $("message-list").replaceChildren();
  $("tree").replaceChildren();
  state.threads.clear();
  state.messages.clear();
  $("login").hidden = false;
  $("login-error").textContent = message || "";
  $("login-error").hidden = !message;
  $("token").focus();
}

$("login-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  localStorage.setItem(TOKEN_KEY, $("token").value.trim());
  $("token").value = "";
  await start();
});

$("logout").addEventListener("click", () => {
  localStorage.removeItem(TOKEN_KEY);
  // What this browser kept of the hub goes with the token: saved threads, queued posts, drafts.
  snapshot.forgetAll();
  forgetQueue();
  for (const key of Object.keys(localStorage)) if (key.startsWith("mainloop.draft.")) localStorage.removeItem(key);
  showLogin("");
});

onAuthFailure((error) => {
  const hadToken = Boolean(localStorage.getItem(TOKEN_KEY));
  localStorage.removeItem(TOKEN_KEY);
  const reason = error.message.split(":")[0];
  showLogin(hadToken ? `The hub refused this token (${reason}). Check MAINLOOP_TOKEN and try again.` : "");
});

// ---------- start ----------

async function start() {
  const saved = snapshot.loadTree();
  if (saved && !shownFromSnapshot) showSnapshot(saved);
  // One round trip for all three: a refused token fails them alike. All three are awaited before
  // acting on a failure, so nothing is still on its way when the login form shows.
  let tools;
  prefetch(new URLSearchParams(location.hash.slice(1)).get("thread") ?? "main");
  try {
    const answers = await Promise.allSettled([client.discover(), client.listTools(), loadTree()]);
    const failed = answers.find((a) => a.status === "rejected");
    if (failed) throw failed.reason;
    tools = answers[1].value;
  } catch (error) {
    if (error instanceof AuthError) return reportError(error, "connect");
    if (shownFromSnapshot && isNetworkError(error)) return offlineStart();
    $("skeleton").hidden = true;
    $("login").hidden = false;
    $("login-error").textContent = `Can't reach the hub: ${error.message}`;
    $("login-error").hidden = false;
    return;
  }
  state.tools = new Set(tools.map((t) => t.name));
  showApp();
  const wanted = new URLSearchParams(location.hash.slice(1)).get("thread");
  await selectThread(wanted && state.threads.has(wanted) ? wanted : state.mainId).catch((error) =>
    reportError(error, "open the thread"),
  );
  acceptShared();
  sendQueued();
  loadFeatures().catch((error) => reportError(error, "load search, memory and agents"));
}

function showApp() {
  $("skeleton").hidden = true;
  $("login").hidden = true;
  $("app").hidden = false;
  if (!showApp.watching) watchConnection();
  showApp.watching = true;
}

// The last state this browser saw, drawn before the hub answers: on a slow network it is what shows
// first, and offline it is all there is (read-only; posts wait in the outbox).
let shownFromSnapshot = false;
function showSnapshot(saved) {
  shownFromSnapshot = true;
  state.threads = new Map(saved.threads.map((t) => [t.id, t]));
  state.mainId = saved.mainId;
  showApp();
  const wanted = new URLSearchParams(location.hash.slice(1)).get("thread");
  const thread = state.threads.get(wanted) ?? state.threads.get(state.mainId);
  if (!thread) return;
  state.currentId = thread.id;
  threadChanged(thread.id);
  renderHeader(thread);
  renderTree();
  showMessages(thread.id).catch(() => {}); // draws the saved page; the hub's answer comes with start()
}

function offlineStart() {
  networkFailed();
  showStatus(`Offline: showing what this phone saved at ${new Date(snapshot.loadTree().at).toLocaleString()}.`);
  onReachability((up) => up && !state.tools.size && start());
}

onReachability((up) => {
  $("live").classList.remove("on");
  $("live").title = up ? "Reconnecting…" : "Offline: the hub can't be reached";
  if (!up) return stopListening();
  if (!state.tools.size || !state.currentId) return; // start() is still on its way
  sendQueued();
  listen({ onThread: refreshMessages, onTree: loadTree });
});

// The optional views load after the thread shows, and only for the tools this hub lists.
let featuresLoaded = false;
async function loadFeatures() {
  if (featuresLoaded) return features.refreshRuns?.();
  featuresLoaded = true;
  Object.assign(features, { selectThread, loadTree, refreshMessages, setDrawer, renderTree, refreshActivity });
  const has = (...names) => names.every((n) => state.tools.has(n));
  const modules = await Promise.all([
    import("./push.js"),
    has("search") && import("./search.js"),
    has("get_context", "zoom") && import("./memory.js"),
    (has("chat") || has("list_agents")) && import("./agents.js"),
  ]);
  for (const module of modules) if (module) module.init();
}

// ---------- thread tree ----------

async function fetchThreads() {
  if (!state.showArchived) return (await client.readJson("threads://active")).threads;
  const threads = [];
  let cursor = null;
  do {
    const page = await client.callTool("list_threads", { status: null, limit: 500, ...(cursor && { cursor }) });
    threads.push(...page.threads);
    cursor = page.next_cursor;
  } while (cursor);
  return threads;
}

async function loadTree() {
  const threads = await fetchThreads();
  state.threads = new Map(threads.map((t) => [t.id, t]));
  state.mainId = threads.find((t) => t.thread_type === "main")?.id ?? (await client.callTool("get_thread")).id;
  if (!state.showArchived) snapshot.saveTree(state.threads, state.mainId);
  renderTree();
  refreshActivity();
}

// An active task whose project is archived (and hidden) still shows, under main.
const isOrphan = (t) => t.thread_type !== "main" && t.parent_id && !state.threads.has(t.parent_id);

function childrenOf(parentId) {
  const order = { project: 0, task: 1 };
  return [...state.threads.values()]
    .filter((t) => t.parent_id === parentId || (parentId === state.mainId && isOrphan(t)))
    .sort((a, b) => order[a.thread_type] - order[b.thread_type] || lastActivity(b).localeCompare(lastActivity(a)));
}

// A preview reads as text: markdown's marks go.
const plainText = (md) => md.replace(/[*_`#>~]+/g, "").replace(/\[([^\]]*)\]\([^)]*\)/g, "$1");

// The newer of the thread's own change and its newest message (ISO strings in UTC compare as text).
function lastActivity(thread) {
  const last = triage.activity.get(thread.id)?.last_at;
  return last && last > thread.updated_at ? last : thread.updated_at;
}

function treeItem(thread) {
  const li = document.createElement("li");
  const button = document.createElement("button");
  button.className = `thread-link type-${thread.thread_type}`;
  button.dataset.id = thread.id;
  button.title = thread.title;
  if (thread.id === state.currentId) button.setAttribute("aria-current", "page");
  const a = triage.activity.get(thread.id);
  const count = triage.unread(thread.id);
  const run = triage.runStatus.get(thread.id);
  const status = thread.thread_type === "main" ? "main" : thread.status !== "active" ? thread.status : null;
  button.append(
    el("span", { className: "thread-line" },
      el("span", { className: "thread-name", text: thread.title }),
      a?.last_at && el("time", { className: "thread-time", dateTime: a.last_at, text: triage.shortTime(a.last_at) })),
    el("span", { className: "thread-line" },
      el("span", { className: "thread-preview", text: a?.preview ? `${a.last_role === "user" ? "You: " : ""}${plainText(a.preview)}` : "" }),
      run && el("span", { className: `badge run-${run}`, text: run.replace("_", " ") }),
      status && el("span", { className: `badge status-${status}`, text: status }),
      count > 0 && el("span", { className: "unread", text: String(count), ariaLabel: `${count} unread` })),
  );
  li.append(button);
  const children = childrenOf(thread.id);
  if (children.length) {
    const ul = document.createElement("ul");
    ul.append(...children.map(treeItem));
    li.append(ul);
  }
  return li;
}

const ACTIVITY_EVERY = 2000; // ms: a burst of posts costs one read of threads://activity
let activityLoading = null;
/** Reloads the triage figures (counts, previews) and redraws the tree; one read at a time, at most one
 * every ACTIVITY_EVERY (live.js calls it for every post in any thread). */
function refreshActivity() {
  activityLoading ??= triage
    .loadActivity()
    .then(renderTree)
    .catch((error) => console.warn("threads://activity failed", error))
    .then(() => new Promise((resolve) => setTimeout(resolve, ACTIVITY_EVERY)))
    .finally(() => (activityLoading = null));
  return activityLoading;
}

function renderTree() {
  const main = state.threads.get(state.mainId);
  $("tree").replaceChildren(...(main ? [treeItem(main)] : []));
}

$("tree").addEventListener("click", (event) => {
  const button = event.target.closest("button.thread-link");
  if (!button) return;
  setDrawer(false);
  selectThread(button.dataset.id).catch((error) => reportError(error, "open the thread"));
});

$("show-archived").addEventListener("change", async (event) => {
  state.showArchived = event.target.checked;
  await loadTree().catch((error) => reportError(error, "list the threads"));
});

function setDrawer(open) {
  document.body.classList.toggle("drawer-open", open);
  $("scrim").hidden = !open;
  $("menu").setAttribute("aria-expanded", String(open));
}
$("menu").addEventListener("click", () => {
  const open = !document.body.classList.contains("drawer-open");
  setDrawer(open);
  if (open) refreshActivity();
});
$("scrim").addEventListener("click", () => setDrawer(false));

// ---------- one thread ----------

async function selectThread(id) {
  const thread = state.threads.get(id) ?? (await client.callTool("get_thread", { thread_id: id }));
  const switched = state.currentId !== thread.id;
  if (switched) triage.leave(state.currentId);
  state.currentId = thread.id;
  state.threads.set(thread.id, thread);
  if (switched) threadChanged(thread.id);
  history.replaceState(null, "", thread.id === state.mainId ? location.pathname : `#thread=${thread.id}`);
  renderHeader(thread);
  renderTree();
  if (!(await showMessages(thread.id))) return;
  performance.mark("mainloop:thread-visible"); // read by bench/web_first_load.py
  listen({ onThread: refreshMessages, onTree: loadTree });
}

function renderHeader(thread) {
  $("thread-title").textContent = thread.title;
  const parent = thread.parent_id && state.threads.get(thread.parent_id);
  const kind = thread.thread_type === "main" ? "main thread" : thread.thread_type;
  $("thread-meta").textContent = [kind, thread.status === "archived" ? "archived" : "", parent ? `in ${parent.title}` : ""]
    .filter(Boolean)
    .join(" · ");
  $("archive").hidden = thread.thread_type === "main" || thread.status === "archived";
  document.title = `${thread.title} · mainloop`;
}

document.addEventListener("visibilitychange", () => {
  if (document.visibilityState === "visible" && state.currentId && !$("app").hidden && isReachable()) {
    refreshMessages().catch((e) => reportError(e, "refresh"));
    if (!isLive()) listen({ onThread: refreshMessages, onTree: loadTree });
  }
});

// A link to a thread (#thread=...) or an agent run (#run=..., opens its task thread), e.g. from a
// notification or an id in a message.
addEventListener("hashchange", async () => {
  if ($("app").hidden) return;
  const wanted = new URLSearchParams(location.hash.slice(1));
  try {
    const runId = wanted.get("run");
    const threadId = runId ? (await client.callTool("get_agent", { run_id: runId })).thread_id : wanted.get("thread");
    if (threadId && threadId !== state.currentId) {
      closePanel();
      await selectThread(threadId);
    }
  } catch (error) {
    reportError(error, "open the link");
  }
});

// ---------- create and archive ----------

function fillParents() {
  const projects = [...state.threads.values()].filter((t) => t.thread_type === "project" && t.status === "active");
  const current = state.threads.get(state.currentId);
  const preferred = current?.thread_type === "project" ? current.id : current?.parent_id;
  $("new-parent").replaceChildren(
    ...projects.map((p) => {
      const option = new Option(p.title, p.id, false, p.id === preferred);
      return option;
    }),
  );
}

function syncKind() {
  const task = $("new-type").value === "task";
  $("new-parent").hidden = !task;
  $("new-parent-label").hidden = !task;
}

$("new-thread").addEventListener("click", () => {
  fillParents();
  $("new-title").value = "";
  $("new-error").hidden = true;
  syncKind();
  $("new-dialog").showModal();
  $("new-title").focus();
});
$("new-type").addEventListener("change", syncKind);

$("new-form").addEventListener("submit", async (event) => {
  if (event.submitter?.value !== "create") return;
  event.preventDefault();
  const task = $("new-type").value === "task";
  const args = { title: $("new-title").value, thread_type: $("new-type").value };
  if (task) {
    if (!$("new-parent").value) {
      $("new-error").textContent = "Create a project first: a task lives under a project.";
      $("new-error").hidden = false;
      return;
    }
    args.parent_id = $("new-parent").value;
  }
  try {
    const thread = await client.callTool("create_thread", args);
    $("new-dialog").close();
    state.threads.set(thread.id, thread);
    setDrawer(false);
    await selectThread(thread.id);
    await loadTree();
  } catch (error) {
    if (error instanceof AuthError) return reportError(error, "create the thread");
    $("new-error").textContent = error.message;
    $("new-error").hidden = false;
  }
});

$("archive").addEventListener("click", async () => {
  const thread = state.threads.get(state.currentId);
  if (!thread || !confirm(`Archive “${thread.title}”? Its messages stay searchable.`)) return;
  try {
    await client.callTool("archive_thread", { thread_id: thread.id });
    await loadTree();
    await selectThread(thread.parent_id ?? state.mainId);
  } catch (error) {
    reportError(error, "archive the thread");
  }
});

// ---------- service worker ----------

if ("serviceWorker" in navigator) {
  addEventListener("load", () => {
    navigator.serviceWorker
      .register("/static/sw.js", { scope: "/", updateViaCache: "none" })
      .catch((error) => console.warn("no service worker", error));
  });
  navigator.serviceWorker.addEventListener("message", ({ data }) => {
    if (data?.type === "updated") showStatus("A new version of the page is ready: reload to use it.");
    if (data?.type === "open-thread" && data.threadId) selectThread(data.threadId).catch((e) => reportError(e, "open the thread"));
  });
}

start();
