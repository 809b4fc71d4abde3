// Triage in the thread list: per thread an unread count, the newest message's preview and time
// (from threads://activity), and the run status of agent task threads (from agents.js).
// "Seen" is per device: the number of messages a thread had when it was last open here.

import { client, state } from "./shared.js";

const SEEN_KEY = "mainloop.seen";

export const activity = new Map(); // thread id -> {message_count, last_at, last_role, preview}
export const runStatus = new Map(); // task thread id -> run status, filled by agents.js

function loadSeen() {
  try {
    return JSON.parse(localStorage.getItem(SEEN_KEY));
  } catch {
    return null;
  }
}
let seen = loadSeen();
const leftAt = new Map(); // thread id -> when it was last open here (read up to then)

/** The open thread is about to change: it was read up to now. */
export function leave(threadId) {
  if (threadId) leftAt.set(threadId, new Date().toISOString());
}

/** Reads threads://activity; the open thread counts as read. */
export async function loadActivity() {
  const { threads } = await client.readJson("threads://activity");
  activity.clear();
  for (const a of threads) activity.set(a.thread_id, a);
  if (!seen) seen = Object.fromEntries(threads.map((a) => [a.thread_id, a.message_count])); // a new device
  for (const [id, at] of leftAt) {
    const a = activity.get(id);
    if (a && (!a.last_at || a.last_at <= at)) seen[id] = a.message_count;
  }
  leftAt.clear();
  markRead(state.currentId);
}

/** The open thread is read up to what it has now. */
export function markRead(threadId) {
  const a = activity.get(threadId);
  if (!a || !seen) return;
  seen[threadId] = a.message_count;
  localStorage.setItem(SEEN_KEY, JSON.stringify(seen));
}

export function unread(threadId) {
  const a = activity.get(threadId);
  if (!a || !seen || threadId === state.currentId) return 0;
  return Math.max(0, a.message_count - (seen[threadId] ?? 0));
}

/** "14:05" today, "Tue" this week, "Nov 3" before. */
export function shortTime(iso) {
  const when = new Date(iso);
  const now = new Date();
  if (when.toDateString() === now.toDateString()) return when.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
  if (now - when < 6 * 86400000) return when.toLocaleDateString([], { weekday: "short" });
  return when.toLocaleDateString([], { month: "short", day: "numeric" });
}
