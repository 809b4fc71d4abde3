// Notifications on this device (Web Push): the browser subscribes with the hub's VAPID key, the hub
// keeps the subscription with this device's choices and pushes when a reply lands, an agent run
// ends, or anything but the person's own words lands in a thread the device follows (the bell in the
// top bar); sw.js shows it (unless this thread is open and visible) and opens the thread on a tap.
// Hidden where the browser has no push support.

import { $, TOKEN_KEY, onThreadChange, reportError, showStatus, state } from "./shared.js";

const DEVICE_KEY = "mainloop.push.device"; // {id, settings}

async function hubFetch(path, method = "GET", body = undefined) {
  const token = localStorage.getItem(TOKEN_KEY);
  const response = await fetch(path, {
    method,
    headers: { "Content-Type": "application/json", ...(token && { Authorization: `Bearer ${token}` }) },
    body: body && JSON.stringify(body),
    cache: "no-store",
  });
  if (!response.ok) {
    const detail = await response.json().catch(() => ({}));
    throw new Error(detail.error || detail.message || `HTTP ${response.status}`);
  }
  return response.status === 204 ? null : response.json();
}

const device = () => JSON.parse(localStorage.getItem(DEVICE_KEY) || "null");
const followed = () => device()?.settings.follow ?? [];
const settingsFromForm = (follow = followed()) => ({
  replies: $("push-replies").checked,
  runs: $("push-runs").checked,
  follow,
});

function render() {
  const current = device();
  $("push-on").checked = Boolean(current);
  $("push-kinds").hidden = !current;
  if (current) {
    $("push-replies").checked = current.settings.replies;
    $("push-runs").checked = current.settings.runs;
  }
  renderFollow();
}

function renderFollow(id = state.currentId) {
  const on = Boolean(device()) && followed().includes(id);
  $("follow").hidden = !device() || !id;
  $("follow").setAttribute("aria-pressed", String(on));
  $("follow").setAttribute("aria-label", on ? "Stop following this thread" : "Follow this thread");
}

async function saveSettings(settings) {
  const current = device();
  if (!current) return;
  const saved = await hubFetch(`/push/devices/${encodeURIComponent(current.id)}`, "PUT", settings);
  localStorage.setItem(DEVICE_KEY, JSON.stringify(saved));
}

function base64UrlToBytes(text) {
  const base64 = text.replace(/-/g, "+").replace(/_/g, "/").padEnd(Math.ceil(text.length / 4) * 4, "=");
  return Uint8Array.from(atob(base64), (c) => c.charCodeAt(0));
}

async function turnOn() {
  if ((await Notification.requestPermission()) !== "granted") {
    throw new Error("this browser did not allow notifications for the page");
  }
  const registration = await navigator.serviceWorker.ready;
  const { publicKey } = await hubFetch("/push/key");
  const subscription = await registration.pushManager.subscribe({
    userVisibleOnly: true,
    applicationServerKey: base64UrlToBytes(publicKey),
  });
  const saved = await hubFetch("/push/devices", "POST", { subscription: subscription.toJSON(), settings: settingsFromForm() });
  localStorage.setItem(DEVICE_KEY, JSON.stringify(saved));
  showStatus("Notifications are on for this device.");
}

async function turnOff() {
  const current = device();
  localStorage.removeItem(DEVICE_KEY);
  const registration = await navigator.serviceWorker.ready;
  await (await registration.pushManager.getSubscription())?.unsubscribe();
  if (current) await hubFetch(`/push/devices/${encodeURIComponent(current.id)}`, "DELETE");
}

export function init() {
  if (!("serviceWorker" in navigator) || !("PushManager" in window) || !("Notification" in window)) return;
  $("push").hidden = false;
  render();
  $("push-on").addEventListener("change", async (event) => {
    try {
      await (event.target.checked ? turnOn() : turnOff());
    } catch (error) {
      reportError(error, event.target.checked ? "turn notifications on" : "turn notifications off");
    }
    render();
  });
  for (const box of [$("push-replies"), $("push-runs")]) {
    box.addEventListener("change", async () => {
      try {
        await saveSettings(settingsFromForm());
      } catch (error) {
        reportError(error, "save the notification settings");
      }
      render();
    });
  }
  $("follow").addEventListener("click", async () => {
    const id = state.currentId;
    const follow = followed().includes(id) ? followed().filter((t) => t !== id) : [...followed(), id];
    try {
      await saveSettings(settingsFromForm(follow));
      const title = state.threads.get(id)?.title ?? "this thread";
      showStatus(follow.includes(id) ? `You'll be notified of news in ${title}.` : `No longer following ${title}.`);
    } catch (error) {
      reportError(error, "follow the thread");
    }
    renderFollow(id);
  });
  onThreadChange((id) => renderFollow(id));
}
