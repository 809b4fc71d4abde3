// Live updates: one subscriptions/listen stream for the thread tree and the open thread.

import { AuthError } from "./mcp.js";
import { $, client, reportError, state } from "./shared.js";

let generation = 0;
let currentAbort = null;

/** Ends the current stream (logout, or before opening one for another thread). */
export function stopListening() {
  generation++;
  currentAbort?.abort();
}

export function isLive() {
  return $("live").classList.contains("on");
}

function setLive(on) {
  $("live").classList.toggle("on", on);
  $("live").title = on ? "Live updates on" : "Reconnecting…";
}

/** Listens until stopped, reconnecting with backoff; `onThread`/`onTree` run when those changed. */
export async function listen({ onThread, onTree }) {
  stopListening();
  const mine = generation;
  let delay = 500;
  let first = true;
  while (mine === generation) {
    const abort = new AbortController();
    currentAbort = abort;
    const threadUri = `thread://${state.currentId}`;
    try {
      await client.listen(
        { resourceSubscriptions: ["threads://active", threadUri] },
        {
          signal: abort.signal,
          onReady: () => {
            setLive(true);
            delay = 500;
            // Nothing is replayed: refetch what may have changed before this stream was acknowledged
            // (the open thread always: a post can land between its first read and this moment).
            const refetch = first ? [onThread()] : [onThread(), onTree()];
            Promise.all(refetch).catch((e) => reportError(e, "refresh"));
            first = false;
          },
          onEvent: ({ uri }) => {
            if (uri === threadUri) onThread().catch((e) => reportError(e, "load new messages"));
            else if (uri === "threads://active") onTree().catch((e) => reportError(e, "list the threads"));
          },
        },
      );
    } catch (error) {
      if (error instanceof AuthError) return reportError(error, "listen");
      if (abort.signal.aborted) return;
      console.warn("listen stream failed", error);
    }
    if (mine !== generation) return;
    setLive(false);
    await new Promise((resolve) => setTimeout(resolve, delay));
    delay = Math.min(delay * 2, 10000);
  }
}

