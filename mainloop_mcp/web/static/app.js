// The phone page: threads, messages and live updates, all through MCP calls to /mcp.

import { AuthError, McpClient } from "./mcp.js";

const TOKEN_KEY = "mainloop.token";
const PAGE_SIZE = 50;
const $ = (id) => document.getElementById(id);

const client = new McpClient("/mcp", () => localStorage.getItem(TOKEN_KEY));
// Markdown rendering is an enhancement: without its libraries the page shows plain text.
const markdown = import("./markdown.js").catch((error) => {
  console.error("markdown unavailable", error);
  return null;
});

const state = {
  tools: new Set(), // tool names the hub offers: views for search, memory and agents key off this
  threads: new Map(),
  mainId: null,
  currentId: null,
  messages: new Map(), // id -> message, for the current thread
  olderCursor: null,
  showArchived: false,
  listenGeneration: 0,
  listenAbort: null,
  pendingPost: null, // {content, key}: a failed post keeps its idempotency key for the retry
};

// ---------- login ----------

function showLogin(message) {
  state.listenAbort?.abort();
  state.listenGeneration++;
  $("app").hidden = true;
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
  showLogin("");
});

function handleError(error, doing) {
  if (error instanceof AuthError) {
    const hadToken = Boolean(localStorage.getItem(TOKEN_KEY));
    localStorage.removeItem(TOKEN_KEY);
    const reason = error.message.split(":")[0];
    showLogin(hadToken ? `The hub refused this token (${reason}). Check MAINLOOP_TOKEN and try again.` : "");
    return;
  }
  console.error(doing, error);
  showStatus(`Couldn't ${doing}: ${error.message}`, true);
}

function showStatus(text, isError = false) {
  const status = $("status");
  status.textContent = text;
  status.classList.toggle("error", isError);
  status.hidden = !text;
  clearTimeout(showStatus.timer);
  if (text) showStatus.timer = setTimeout(() => (status.hidden = true), 6000);
}

// ---------- start ----------

async function start() {
  try {
    await client.discover();
  } catch (error) {
    if (error instanceof AuthError) return handleError(error, "connect");
    $("login").hidden = false;
    $("login-error").textContent = `Can't reach the hub: ${error.message}`;
    $("login-error").hidden = false;
    return;
  }
  $("login").hidden = true;
  $("app").hidden = false;
  try {
    const tools = await client.listTools();
    state.tools = new Set(tools.map((t) => t.name));
    await loadTree();
    const wanted = new URLSearchParams(location.hash.slice(1)).get("thread");
    await selectThread(wanted && state.threads.has(wanted) ? wanted : state.mainId);
  } catch (error) {
    handleError(error, "load the threads");
  }
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
  renderTree();
}

function childrenOf(parentId) {
  const order = { project: 0, task: 1 };
  return [...state.threads.values()]
    .filter((t) => t.parent_id === parentId)
    .sort((a, b) => order[a.thread_type] - order[b.thread_type] || b.updated_at.localeCompare(a.updated_at));
}

function treeItem(thread) {
  const li = document.createElement("li");
  const button = document.createElement("button");
  button.className = `thread-link type-${thread.thread_type}`;
  button.dataset.id = thread.id;
  if (thread.id === state.currentId) button.setAttribute("aria-current", "page");
  const title = document.createElement("span");
  title.className = "thread-name";
  title.textContent = thread.title;
  const badge = document.createElement("span");
  badge.className = `badge status-${thread.status}`;
  badge.textContent = thread.thread_type === "main" ? "main" : thread.status;
  button.append(title, badge);
  li.append(button);
  const children = childrenOf(thread.id);
  if (children.length) {
    const ul = document.createElement("ul");
    ul.append(...children.map(treeItem));
    li.append(ul);
  }
  return li;
}

function renderTree() {
  const main = state.threads.get(state.mainId);
  $("tree").replaceChildren(...(main ? [treeItem(main)] : []));
}

$("tree").addEventListener("click", (event) => {
  const button = event.target.closest("button.thread-link");
  if (!button) return;
  setDrawer(false);
  selectThread(button.dataset.id).catch((error) => handleError(error, "open the thread"));
});

$("show-archived").addEventListener("change", async (event) => {
  state.showArchived = event.target.checked;
  await loadTree().catch((error) => handleError(error, "list the threads"));
});

function setDrawer(open) {
  document.body.classList.toggle("drawer-open", open);
  $("scrim").hidden = !open;
  $("menu").setAttribute("aria-expanded", String(open));
}
$("menu").addEventListener("click", () => setDrawer(!document.body.classList.contains("drawer-open")));
$("scrim").addEventListener("click", () => setDrawer(false));

// ---------- one thread ----------

async function selectThread(id) {
  const thread = state.threads.get(id) ?? (await client.callTool("get_thread", { thread_id: id }));
  state.currentId = thread.id;
  state.threads.set(thread.id, thread);
  history.replaceState(null, "", thread.id === state.mainId ? location.pathname : `#thread=${thread.id}`);
  renderHeader(thread);
  renderTree();
  state.messages.clear();
  $("message-list").replaceChildren();
  const page = await client.callTool("read_messages", { thread_id: thread.id, limit: PAGE_SIZE });
  if (state.currentId !== thread.id) return;
  state.olderCursor = page.next_cursor;
  await addMessages(page.messages, "bottom");
  scrollToBottom();
  performance.mark("mainloop:thread-visible"); // read by bench/web_first_load.py
  listen();
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

function formatTime(iso) {
  const when = new Date(iso);
  const sameDay = when.toDateString() === new Date().toDateString();
  return sameDay
    ? when.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" })
    : when.toLocaleString([], { month: "short", day: "numeric", hour: "2-digit", minute: "2-digit" });
}

async function messageItem(message) {
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
  const md = await markdown;
  if (md) md.renderMarkdown(body, message.content);
  else body.textContent = message.content;
  li.append(head, body);
  return li;
}

/** Adds messages not shown yet, keeping the list oldest-first; `where` says which end they belong to. */
async function addMessages(messages, where) {
  const fresh = messages.filter((m) => !state.messages.has(m.id));
  fresh.sort((a, b) => a.created_at.localeCompare(b.created_at) || a.id.localeCompare(b.id));
  for (const m of fresh) state.messages.set(m.id, m);
  const items = await Promise.all(fresh.map(messageItem));
  if (where === "top") $("message-list").prepend(...items);
  else $("message-list").append(...items);
  $("empty").hidden = state.messages.size > 0;
  $("older").hidden = !state.olderCursor;
}

function nearBottom() {
  const box = $("messages");
  return box.scrollHeight - box.scrollTop - box.clientHeight < 120;
}
function scrollToBottom() {
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
    handleError(error, "load older messages");
  }
});

// Coalesces bursts of change events: one fetch in flight, at most one more queued.
let refreshing = null;
let refreshAgain = false;
async function refreshMessages() {
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

// ---------- live updates: one subscriptions/listen stream for the tree and the open thread ----------

function setLive(on) {
  $("live").classList.toggle("on", on);
  $("live").title = on ? "Live updates on" : "Reconnecting…";
}

async function listen() {
  state.listenAbort?.abort();
  const generation = ++state.listenGeneration;
  let delay = 1000;
  let first = true;
  while (generation === state.listenGeneration) {
    const abort = new AbortController();
    state.listenAbort = abort;
    const threadUri = `thread://${state.currentId}`;
    try {
      await client.listen(
        { resourceSubscriptions: ["threads://active", threadUri] },
        {
          signal: abort.signal,
          onReady: () => {
            setLive(true);
            delay = 1000;
            // Nothing is replayed after a reconnect: refetch what may have changed meanwhile.
            if (!first) Promise.all([refreshMessages(), loadTree()]).catch((e) => handleError(e, "refresh"));
            first = false;
          },
          onEvent: ({ uri }) => {
            if (uri === threadUri) refreshMessages().catch((e) => handleError(e, "load new messages"));
            else if (uri === "threads://active") loadTree().catch((e) => handleError(e, "list the threads"));
          },
        },
      );
    } catch (error) {
      if (error instanceof AuthError) return handleError(error, "listen");
      if (abort.signal.aborted) return;
      console.warn("listen stream failed", error);
    }
    if (generation !== state.listenGeneration) return;
    setLive(false);
    await new Promise((resolve) => setTimeout(resolve, delay));
    delay = Math.min(delay * 2, 15000);
  }
}

document.addEventListener("visibilitychange", () => {
  if (document.visibilityState === "visible" && state.currentId && !$("app").hidden) {
    refreshMessages().catch((e) => handleError(e, "refresh"));
    if (!$("live").classList.contains("on")) listen();
  }
});

// ---------- posting ----------

function newKey() {
  const bytes = crypto.getRandomValues(new Uint8Array(16)); // randomUUID needs a secure context
  return `web-${[...bytes].map((b) => b.toString(16).padStart(2, "0")).join("")}`;
}

async function send() {
  const input = $("input");
  const content = input.value;
  if (!content.trim()) return;
  if (state.pendingPost?.content !== content) state.pendingPost = { content, key: newKey() };
  $("send").disabled = true;
  try {
    const message = await client.callTool("post_message", {
      thread_id: state.currentId,
      content,
      idempotency_key: state.pendingPost.key,
    });
    state.pendingPost = null;
    input.value = "";
    autoGrow();
    await addMessages([message], "bottom");
    scrollToBottom();
  } catch (error) {
    handleError(error, "send");
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
    if (error instanceof AuthError) return handleError(error, "create the thread");
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
    handleError(error, "archive the thread");
  }
});

start();
