// Live updates: one subscriptions/listen stream for the thread tree, the open thread and the agent runs.
// It resumes where it left off: every change carries the hub's sequence number, and a new stream
// asks for every change after the last one seen (the hub replays them, or says "resync").

import { AuthError } from "./mcp.js";
import { $, client, features, reportError, state } from "./shared.js";

const SEQ = "io.mainloop/seq";
const RESYNC = "io.mainloop/resync";

let generation = 0;
let currentAbort = null;
let lastSeq = null; // sequence number of the last change this page heard of

/** `fn` at most once at a time; calls meanwhile fold into one more run after it (a replayed burst). */
function coalesced(fn) {
  let running = null;
  let again = false;
  const run = () => {
    if (running) {
      again = true;
      return running;
    }
    running = fn().finally(() => {
      running = null;
      if (again) {
        again = false;
        run();
      }
    });
    return running;
  };
  return run;
}

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
  const thread = coalesced(onThread);
  const tree = coalesced(onTree);
  const runs = coalesced(async () => features.refreshRuns?.());
  const activity = coalesced(async () => features.refreshActivity?.());
  while (mine === generation) {
    const abort = new AbortController();
    currentAbort = abort;
    const threadUri = `thread://${state.currentId}`;
    try {
      await client.listen(
        { resourceSubscriptions: ["threads://active", threadUri, "agents://recent", "threads://activity"] },
        {
          signal: abort.signal,
          since: lastSeq,
          onReady: (meta) => {
            setLive(true);
            delay = 500;
            // The first stream replays nothing: refetch the open thread (a post can land between its
            // first read and this moment). Later streams get every missed change replayed instead.
            if (lastSeq == null) thread().catch((e) => reportError(e, "refresh"));
            lastSeq ??= meta[SEQ] ?? null;
          },
          onEvent: ({ uri, meta }) => {
            if (meta[SEQ] != null) lastSeq = Math.max(lastSeq ?? 0, meta[SEQ]);
            if (meta[RESYNC]) {
              Promise.all([thread(), tree(), runs()]).catch((e) => reportError(e, "refresh"));
            } else if (uri === threadUri) thread().catch((e) => reportError(e, "load new messages"));
            else if (uri === "threads://active") tree().catch((e) => reportError(e, "list the threads"));
            else if (uri === "agents://recent") runs();
            else if (uri === "threads://activity") activity(); // triage figures: unread counts, previews
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

