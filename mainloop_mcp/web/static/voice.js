// Voice: dictate into the input box with the browser's speech recognition, and read a reply aloud
// with its speech synthesis. Each control shows only where the browser has the engine for it.

import { $, showStatus } from "./shared.js";

const Recognition = window.SpeechRecognition || window.webkitSpeechRecognition;
export const canDictate = Boolean(Recognition);
export const canSpeak = "speechSynthesis" in window && "SpeechSynthesisUtterance" in window;

let listening = null;

function stopDictation() {
  listening?.stop();
}

function startDictation() {
  const input = $("input");
  const before = input.value ? `${input.value.replace(/\s*$/, "")} ` : "";
  const recognition = new Recognition();
  recognition.lang = navigator.language || "en-US";
  recognition.interimResults = true;
  recognition.continuous = true;
  recognition.onresult = (event) => {
    const heard = [...event.results].map((r) => r[0].transcript).join("");
    input.value = before + heard;
    input.dispatchEvent(new Event("input")); // grows the box and keeps the draft
  };
  recognition.onerror = (event) => {
    if (event.error === "network" || event.error === "service-not-allowed") {
      // The engine is there but its service is not (e.g. Chromium builds without Google's speech keys).
      $("dictate").hidden = true;
      showStatus("Dictation isn't available in this browser (its speech service can't be reached).", true);
    } else if (event.error !== "aborted" && event.error !== "no-speech") {
      showStatus(`Dictation stopped: ${event.error}`, true);
    }
  };
  recognition.onend = () => {
    listening = null;
    $("dictate").setAttribute("aria-pressed", "false");
  };
  recognition.start();
  listening = recognition;
  $("dictate").setAttribute("aria-pressed", "true");
}

export function initDictation() {
  if (!canDictate) return;
  $("dictate").hidden = false;
  $("dictate").addEventListener("click", () => (listening ? stopDictation() : startDictation()));
}

/** A "Read aloud" button for a message whose text is `text()`; null where the browser can't speak. */
export function readAloudButton(text) {
  if (!canSpeak) return null;
  const button = document.createElement("button");
  button.type = "button";
  button.className = "copy speak";
  button.textContent = "Read";
  button.setAttribute("aria-label", "Read aloud");
  button.addEventListener("click", () => {
    if (speechSynthesis.speaking) {
      speechSynthesis.cancel();
      return;
    }
    const utterance = new SpeechSynthesisUtterance(text().trim());
    utterance.lang = navigator.language || "en-US";
    speechSynthesis.speak(utterance);
  });
  return button;
}
