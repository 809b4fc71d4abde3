// Search across threads (`search`): ranked snippets naming thread and period; a tap opens the
// thread, scrolled to the message, or the summarised period zoomed (memory.js).

import { $, client, features, reportError, state } from "./shared.js";
import { closePanel, el, note, periodLabel, plural, showKeptView } from "./panel.js";

const LIMIT = 30;
const KIND_NAMES = { message: "message", day: "day summary", week: "week summary", month: "month summary" };

const input = el("input", {
  type: "search",
  id: "search-input",
  placeholder: "Search all threads",
  enterKeyHint: "search",
  autocomplete: "off",
  ariaLabel: "Search words",
});
const here = el("input", { type: "checkbox", id: "search-here" });
const form = el(
  "form",
  { className: "search-form", role: "search" },
  input,
  el("label", { className: "toggle" }, here, " Only this thread"),
);
const summary = note("");
const results = el("ol", { className: "results", id: "search-results" });
const view = el("div", { className: "panel-view view-search" }, form, summary, results);

const titles = new Map(); // thread id -> title, for threads outside the tree (archived, or new)
let asked = 0;
let debounce = null;

export function init() {
  $("open-search").hidden = false;
  $("open-search").addEventListener("click", () => {
    showKeptView("Search", view);
    input.focus();
  });
}

async function titleOf(id) {
  const known = state.threads.get(id)?.title ?? titles.get(id);
  if (known) return known;
  try {
    titles.set(id, (await client.callTool("get_thread", { thread_id: id })).title);
  } catch {
    titles.set(id, "(unknown thread)");
  }
  return titles.get(id);
}

/** The snippet as text with the matched words (which the hub puts in [brackets]) marked. */
function snippetOf(text) {
  const node = el("p", { className: "snippet" });
  text.split(/\[([^[\]]+)\]/).forEach((part, i) => node.append(i % 2 ? el("mark", { text: part }) : part));
  return node;
}

async function runSearch() {
  const query = input.value.trim();
  const mine = ++asked;
  if (!/[\p{L}\p{N}]/u.test(query)) {
    summary.textContent = "";
    results.replaceChildren();
    return;
  }
  const args = { query, limit: LIMIT, ...(here.checked && state.currentId && { thread_id: state.currentId }) };
  summary.textContent = "Searching…";
  try {
    const answer = await client.callTool("search", args);
    const names = await Promise.all(answer.matches.map((m) => titleOf(m.thread_id)));
    if (mine !== asked) return; // a newer search is on its way
    summary.textContent = answer.matches.length
      ? `${answer.matches.length === LIMIT ? `${LIMIT}+ matches` : plural(answer.matches.length, "match", "matches")}, best first`
      : `Nothing matches “${query}”. Every word must appear.`;
    results.replaceChildren(...answer.matches.map((m, i) => resultItem(m, names[i])));
  } catch (error) {
    if (mine !== asked) return;
    summary.textContent = `Couldn't search: ${error.message}`;
    reportError(error, "search");
  }
}

function resultItem(match, threadTitle) {
  const kind = match.kind === "summary" ? match.granularity : "message";
  const when =
    match.kind === "message"
      ? new Date(match.time).toLocaleString([], { month: "short", day: "numeric", hour: "2-digit", minute: "2-digit" })
      : periodLabel(match.period);
  const button = el(
    "button",
    { className: "result", type: "button", dataset: { thread: match.thread_id, kind } },
    el(
      "span",
      { className: "result-head" },
      el("strong", { className: "result-thread", text: threadTitle }),
      el("span", { className: `badge kind-${kind}`, text: KIND_NAMES[kind] }),
    ),
    snippetOf(match.snippet),
    el("span", { className: "result-when muted", text: when }),
  );
  button.addEventListener("click", () => openMatch(match).catch((error) => reportError(error, "open the match")));
  return el("li", {}, button);
}

async function openMatch(match) {
  closePanel();
  await features.selectThread(match.thread_id);
  if (match.kind === "summary") {
    if (features.zoomTo) await features.zoomTo(match.thread_id, match.period, match.granularity);
    return;
  }
  const shown = $("message-list").querySelector(`[data-id="${CSS.escape(match.id)}"]`);
  if (shown) {
    shown.scrollIntoView({ block: "center" });
    shown.classList.remove("hit");
    void shown.offsetWidth; // restart the highlight animation
    shown.classList.add("hit");
  } else if (features.zoomTo) {
    await features.zoomTo(match.thread_id, match.period, "day", { highlight: match.id });
  }
}

form.addEventListener("submit", (event) => {
  event.preventDefault();
  clearTimeout(debounce);
  input.blur(); // closes the phone's keyboard so the results have the screen
  runSearch();
});
input.addEventListener("input", () => {
  clearTimeout(debounce);
  debounce = setTimeout(runSearch, 350);
});
here.addEventListener("change", runSearch);
