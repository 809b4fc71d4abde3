// The last state the page read, kept in localStorage: the thread tree and the newest page of the
// threads opened lately. It is shown at once on the next load (before the hub answers, so a slow
// network shows content, not a blank screen) and is all there is to read while offline.
// "Forget token" clears it.

const TREE_KEY = "mainloop.snapshot.tree";
const THREAD_PREFIX = "mainloop.snapshot.thread.";
const KEEP_THREADS = 12;

function read(key) {
  try {
    return JSON.parse(localStorage.getItem(key));
  } catch {
    return null;
  }
}

function write(key, value) {
  try {
    localStorage.setItem(key, JSON.stringify(value));
  } catch (error) {
    console.warn("could not save the snapshot", error); // quota: the page works without it
  }
}

export function saveTree(threads, mainId) {
  write(TREE_KEY, { threads: [...threads.values()], mainId, at: new Date().toISOString() });
}

/** {threads: [...], mainId, at} or null. */
export function loadTree() {
  return read(TREE_KEY);
}

/** Keeps the newest page of a thread; only the KEEP_THREADS most recently saved are kept. */
export function saveThread(threadId, messages, olderCursor) {
  write(THREAD_PREFIX + threadId, { messages, olderCursor, at: new Date().toISOString() });
  const index = (read(`${THREAD_PREFIX}index`) || []).filter((id) => id !== threadId);
  index.unshift(threadId);
  for (const id of index.splice(KEEP_THREADS)) localStorage.removeItem(THREAD_PREFIX + id);
  write(`${THREAD_PREFIX}index`, index);
}

/** {messages, olderCursor, at} or null. */
export function loadThread(threadId) {
  return read(THREAD_PREFIX + threadId);
}

export function forgetAll() {
  for (const key of Object.keys(localStorage)) if (key.startsWith("mainloop.snapshot.")) localStorage.removeItem(key);
}
