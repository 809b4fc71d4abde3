// The outbox: every post is queued here (in localStorage) before it is sent, with its idempotency
// key, and leaves the queue only when the hub has stored it or refused it. A post made offline, or
// one whose answer was lost, is sent again with the same key when the hub is back: the hub stores
// it once (nothing lost, nothing doubled), even across a reload.

import { McpError } from "./mcp.js";
import { client } from "./shared.js";
import { isNetworkError, networkFailed } from "./connection.js";

const KEY = "mainloop.outbox";

function load() {
  try {
    return JSON.parse(localStorage.getItem(KEY)) || [];
  } catch {
    return [];
  }
}
let items = load();
const save = () => localStorage.setItem(KEY, JSON.stringify(items));

// Set by composer.js: a post was stored (message) or refused (error message), and the queue changed.
export const outboxEvents = { sent: (_item, _message) => {}, refused: (_item, _error) => {}, changed: () => {} };

function newKey() {
  const bytes = crypto.getRandomValues(new Uint8Array(16)); // randomUUID needs a secure context
  return `web-${[...bytes].map((b) => b.toString(16).padStart(2, "0")).join("")}`;
}

/** Queues a post and starts sending; returns the queued item ({key, threadId, content, at}). */
export function enqueue(threadId, content) {
  const item = { key: newKey(), threadId, content, at: new Date().toISOString() };
  items.push(item);
  save();
  outboxEvents.changed();
  flush();
  return item;
}

export function queuedFor(threadId) {
  return items.filter((item) => item.threadId === threadId);
}

export function forgetQueue() {
  items = [];
  save();
}

let flushing = null;
/** Sends queued posts in order; stops at the first one the network fails (it stays queued). */
export function flush() {
  flushing ??= (async () => {
    while (items.length) {
      const item = items[0];
      try {
        const message = await client.callTool("post_message", {
          thread_id: item.threadId,
          content: item.content,
          idempotency_key: item.key,
        });
        items.shift();
        save();
        outboxEvents.sent(item, message);
      } catch (error) {
        if (error instanceof McpError) {
          items.shift(); // the hub refused this post for good (it says why); the others still go
          save();
          outboxEvents.refused(item, error);
          continue;
        }
        if (isNetworkError(error)) networkFailed();
        else outboxEvents.refused(item, error); // e.g. the token was refused: it stays queued
        return;
      }
    }
  })().finally(() => {
    flushing = null;
    outboxEvents.changed();
  });
  return flushing;
}
