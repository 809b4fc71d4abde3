// The service worker: the page's files come from a cache, so it opens at once on a slow network and
// opens at all offline (showing the last state the page saved). Data (/mcp) is never cached here.
//
// The hub lists the files the page loads up front and names the release (/static/shell.json, a hash
// of every page file); modules loaded later are cached as the page first asks for them. Pages are
// served from the cache first; each navigation checks the release in the background, and when it
// changed, the new files are fetched into a new cache and open pages are told ("updated").
// It also shows Web Push notifications (see push.js) and opens the thread a notification is about.

const PREFIX = "mainloop-shell-";

async function currentCache() {
  const names = (await caches.keys()).filter((n) => n.startsWith(PREFIX));
  return names.length ? caches.open(names.sort().at(-1)) : null;
}

/** Fetches the release's files into their own cache and drops older ones; true when it was new. */
async function install() {
  const response = await fetch("/static/shell.json", { cache: "no-store" });
  const { version, files } = await response.json();
  const name = `${PREFIX}${version}`;
  const existing = (await caches.keys()).filter((n) => n.startsWith(PREFIX));
  if (existing.includes(name)) return false;
  // The first install follows the page's first load: its files are in the HTTP cache, fresh, so they
  // are taken from there (no bytes again). An update revalidates each file with the hub.
  const mode = existing.length ? "no-cache" : "force-cache";
  const cache = await caches.open(name);
  await cache.addAll(files.map((url) => new Request(url, { cache: mode })));
  for (const old of await caches.keys()) if (old.startsWith(PREFIX) && old !== name) await caches.delete(old);
  return true;
}

self.addEventListener("install", (event) => {
  event.waitUntil(install().then(() => self.skipWaiting()));
});

self.addEventListener("activate", (event) => {
  event.waitUntil(self.clients.claim());
});

let checking = null;
function checkForUpdate() {
  checking ??= install()
    .then(async (updated) => {
      if (!updated) return;
      for (const client of await self.clients.matchAll()) client.postMessage({ type: "updated" });
    })
    .catch(() => {}) // offline: keep what we have
    .finally(() => (checking = null));
  return checking;
}

self.addEventListener("fetch", (event) => {
  const request = event.request;
  const url = new URL(request.url);
  if (request.method !== "GET" || url.origin !== self.location.origin) return;
  const isPage = request.mode === "navigate" && url.pathname === "/";
  if (!isPage && !url.pathname.startsWith("/static/") && url.pathname !== "/manifest.webmanifest") return;
  if (url.pathname === "/static/shell.json") return;
  event.respondWith(
    (async () => {
      const cache = await currentCache();
      const hit = cache && (await cache.match(isPage ? "/" : request, { ignoreSearch: isPage }));
      if (isPage) event.waitUntil(checkForUpdate());
      if (hit) return hit;
      const response = await fetch(request);
      // A module the page loads later (search, memory, agents...): kept for the next load and offline.
      if (cache && !isPage && response.ok) event.waitUntil(cache.put(request, response.clone()));
      return response;
    })(),
  );
});

// ---------- push notifications ----------

self.addEventListener("push", (event) => {
  let note = {};
  try {
    note = event.data?.json() ?? {};
  } catch {
    note = { title: "mainloop", body: event.data?.text() ?? "" };
  }
  event.waitUntil(
    (async () => {
      const windows = await self.clients.matchAll({ type: "window" });
      // The page is open and looking at that thread: it updates live, no notification needed.
      if (windows.some((w) => w.visibilityState === "visible" && w.url.includes(`thread=${note.thread_id}`))) return;
      await self.registration.showNotification(note.title || "mainloop", {
        body: note.body || "",
        tag: note.tag || note.thread_id || "mainloop",
        icon: "/static/icon-192.png",
        data: { threadId: note.thread_id || null },
      });
    })(),
  );
});

self.addEventListener("notificationclick", (event) => {
  event.notification.close();
  const threadId = event.notification.data?.threadId;
  const target = threadId ? `/#thread=${threadId}` : "/";
  event.waitUntil(
    (async () => {
      const windows = await self.clients.matchAll({ type: "window", includeUncontrolled: true });
      if (windows.length) {
        windows[0].postMessage({ type: "open-thread", threadId });
        return windows[0].focus();
      }
      return self.clients.openWindow(target);
    })(),
  );
});
