// An honest connection indicator: the hub is "reachable" only while it answers. A phone that loses
// its network often leaves a stream hanging without an error, so a small probe (/healthz, no
// credentials, no store work within its 30 s cache) runs every few seconds while the page is
// visible; a probe that fails or takes longer than PROBE_TIMEOUT marks the hub unreachable, so the
// dot turns grey within PROBE_EVERY + PROBE_TIMEOUT (under 10 s). Any failed fetch does it at once.

const PROBE_EVERY = 4000;
const PROBE_TIMEOUT = 4000;

let reachable = true;
const listeners = [];
let timer = null;

export function isReachable() {
  return reachable;
}

/** `listener(reachable)` runs whenever reachability changes. */
export function onReachability(listener) {
  listeners.push(listener);
}

function set(value) {
  if (value === reachable) return;
  reachable = value;
  document.body.classList.toggle("offline", !value);
  for (const listener of listeners) listener(value);
}

/** A fetch failed at the network level (not an HTTP answer): the hub is out of reach now. */
export function networkFailed() {
  set(false);
  probeSoon();
}

/** True when `error` is the browser's "could not reach it" (TypeError from fetch), not an answer. */
export function isNetworkError(error) {
  return error instanceof TypeError || error?.name === "TimeoutError";
}

export async function probe() {
  try {
    const response = await fetch("/healthz", { cache: "no-store", signal: AbortSignal.timeout(PROBE_TIMEOUT) });
    set(response.status !== 502 && response.status !== 504); // a proxy answering for a hub that is gone
  } catch {
    set(false);
  }
  return reachable;
}

function probeSoon(delay = reachable ? PROBE_EVERY : 1000) {
  clearTimeout(timer);
  if (document.visibilityState !== "visible") return;
  timer = setTimeout(async () => {
    await probe();
    probeSoon();
  }, delay);
}

/** Starts watching; call once the app is shown. */
export function watchConnection() {
  addEventListener("offline", () => set(false));
  addEventListener("online", () => probe().then(() => probeSoon()));
  document.addEventListener("visibilitychange", () => probeSoon(0));
  probeSoon();
}
