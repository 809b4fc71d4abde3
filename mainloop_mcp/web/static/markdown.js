// Markdown to safe DOM: marked renders, DOMPurify sanitises, highlight.js colours code blocks.
// Message content is untrusted (any agent can post), so nothing it contains may run: raw HTML
// goes through DOMPurify, links open in a new tab without an opener, and the page's CSP forbids
// inline script and foreign origins as a second wall.

import { Marked } from "/static/vendor/marked.js";
import DOMPurify from "/static/vendor/purify.js";
import hljs from "/static/vendor/highlight.js";
import { copyButton } from "./shared.js";

const marked = new Marked({ gfm: true, breaks: true });

DOMPurify.addHook("afterSanitizeAttributes", (node) => {
  if (node.tagName === "A" && node.hasAttribute("href")) {
    node.setAttribute("target", "_blank");
    node.setAttribute("rel", "noopener noreferrer nofollow");
  }
});

const PURIFY = {
  FORBID_TAGS: ["style", "form", "input", "button", "textarea", "select", "iframe", "object", "embed"],
  FORBID_ATTR: ["style"],
};

/** Renders markdown into `element`, sanitised, with highlighted code. */
export function renderMarkdown(element, source) {
  element.innerHTML = DOMPurify.sanitize(marked.parse(source), PURIFY);
  for (const code of element.querySelectorAll("pre code")) {
    const language = [...code.classList].find((c) => c.startsWith("language-"))?.slice(9);
    if (language && !hljs.getLanguage(language)) code.classList.remove(`language-${language}`);
    hljs.highlightElement(code);
    code.parentElement.append(copyButton(() => code.textContent, "Copy code"));
  }
}
