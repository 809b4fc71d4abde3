// What every part of the page shares: the MCP client, the page state, status and error reporting.

import { isNetworkError, networkFailed } from "./connection.js";
import { AuthError, McpClient } from "./mcp.js";

export const TOKEN_KEY = "mainloop.token";
export const AGENT_FOLDER_KEY = "mainloop.agentFolder"; // the work folder last used to start an agent
export const $ = (id) => document.getElementById(id);
export const client = new McpClient("/mcp", () => localStorage.getItem(TOKEN_KEY));

export const state = {
  tools: new Set(), // tool names the hub offers: views for search, memory and agents key off this
  threads: new Map(),
  mainId: null,
  currentId: null,
  messages: new Map(), // id -> message, for the current thread
  olderCursor: null,
  showArchived: false,
};

// Optional views (search.js, memory.js, agents.js) register what others may call, e.g. `zoomTo`,
// and app.js fills in the shell's own: `selectThread`, `loadTree`, `refreshMessages`, `setDrawer`.
export const features = {};

// Called with the thread's id whenever another thread is opened.
const threadListeners = [];
export function onThreadChange(listener) {
  threadListeners.push(listener);
}
export function threadChanged(id) {
  for (const listener of threadListeners) listener(id);
}

// Set by app.js: what to do when the hub refuses our credentials (back to the login form).
let authFailed = () => {};
export function onAuthFailure(handler) {
  authFailed = handler;
}

export function showStatus(text, isError = false) {
  const status = $("status");
  status.textContent = text;
  status.classList.toggle("error", isError);
  status.hidden = !text;
  clearTimeout(showStatus.timer);
  if (text) showStatus.timer = setTimeout(() => (status.hidden = true), 6000);
}

/** Reports a failed action: a refused token goes back to login, anything else to the status line. */
export function reportError(error, doing) {
  if (error instanceof AuthError) {
    authFailed(error);
    return;
  }
  if (isNetworkError(error)) {
    networkFailed();
    showStatus(`Offline: couldn't ${doing}. The hub can't be reached; queued posts go out when it is back.`, true);
    return;
  }
  console.error(doing, error);
  showStatus(`Couldn't ${doing}: ${error.message}`, true);
}

/** A small button that copies `text()` to the clipboard and says so. */
export function copyButton(text, label = "Copy") {
  const button = document.createElement("button");
  button.type = "button";
  button.className = "copy";
  button.textContent = "Copy";
  button.setAttribute("aria-label", label);
  button.addEventListener("click", async () => {
    try {
      await navigator.clipboard.writeText(text());
      button.textContent = "Copied";
    } catch {
      button.textContent = "Can't copy";
    }
    setTimeout(() => (button.textContent = "Copy"), 1500);
  });
  return button;
}

