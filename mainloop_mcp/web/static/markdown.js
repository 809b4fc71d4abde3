// Markdown to safe DOM: marked renders, DOMPurify sanitises, highlight.js colours code blocks.
// Message content is untrusted (any agent can post), so nothing it contains may run: raw HTML
// goes through DOMPurify, links open in a new tab without an opener, and the page's CSP forbids
// inline script and foreign origins as a second wall.

import { Marked } from "/static/vendor/marked.js";
import DOMPurify from "/static/vendor/purify.js";
import { copyButton } from "./shared.js";

// highlight.js is the page's largest library: it loads beside the first render, not before it, and
// code blocks drawn before it arrives are coloured when it does.
let hljs = null;
const highlighter = import("/static/vendor/highlight.js").then((module) => (hljs = module.default));

function highlight(code) {
  const language = [...code.classList].find((c) => c.startsWith("language-"))?.slice(9);
  if (language && !hljs.getLanguage(language)) code.classList.remove(`language-${language}`);
  hljs.highlightElement(code);
}

const marked = new Marked({ gfm: true, breaks: true });

DOMPurify.addHook("afterSanitizeAttributes", (node) => {
  if (node.tagName === "A" && node.hasAttribute("href") && !node.getAttribute("href").startsWith("#")) {
    node.setAttribute("target", "_blank");
    node.setAttribute("rel", "noopener noreferrer nofollow");
  }
});

const PURIFY = {
  FORBID_TAGS: ["style", "form", "input", "button", "textarea", "select", "iframe", "object", "embed"],
  FORBID_ATTR: ["style"],
};

// Thread and run ids in text ("Agent run run_0193… succeeded") become links within the page.
const ID = /\b(thr|run)_[0-9a-f]{22}\b/g;

function linkIds(element) {
  const walker = document.createTreeWalker(element, NodeFilter.SHOW_TEXT, {
    acceptNode: (node) => (node.parentElement.closest("a, code, pre") ? NodeFilter.FILTER_REJECT : NodeFilter.FILTER_ACCEPT),
  });
  const hits = [];
  for (let node = walker.nextNode(); node; node = walker.nextNode()) if (node.data.search(ID) >= 0) hits.push(node);
  for (const node of hits) {
    const parts = [];
    let last = 0;
    for (const match of node.data.matchAll(ID)) {
      parts.push(node.data.slice(last, match.index));
      const link = document.createElement("a");
      link.href = `#${match[1] === "thr" ? "thread" : "run"}=${match[0]}`;
      link.className = "id-link";
      link.textContent = match[0];
      parts.push(link);
      last = match.index + match[0].length;
    }
    parts.push(node.data.slice(last));
    node.replaceWith(...parts);
  }
}

/** Renders markdown into `element`, sanitised, with highlighted code and linked ids. */
export function renderMarkdown(element, source) {
  element.innerHTML = DOMPurify.sanitize(marked.parse(source), PURIFY);
  linkIds(element);
  for (const code of element.querySelectorAll("pre code")) {
    if (hljs) highlight(code);
    else highlighter.then(() => code.isConnected && highlight(code)).catch(() => {});
    code.parentElement.append(copyButton(() => code.textContent, "Copy code"));
  }
}
