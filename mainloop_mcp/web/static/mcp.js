// A small MCP client for the browser: Streamable HTTP at protocol 2026-07-28 (sessionless).
//
// Why hand-written: the official TypeScript client imports bare module names (zod, jose,
// eventsource, its core package) that a browser cannot resolve without a bundler, and would
// alone outgrow the page's size budget. The wire is small: every request is one POST with the
// per-request envelope in params._meta plus routing headers; the answer is JSON, or an SSE
// stream that ends with the answer. `subscriptions/listen` is a request whose SSE response
// stays open and carries change notifications: that is how the page gets live updates.

import { createParser } from "/static/vendor/eventsource-parser.js";

export const PROTOCOL_VERSION = "2026-07-28";
const CLIENT_INFO = { name: "mainloop-web", version: "0.1.0" };
// Methods whose named parameter is mirrored in the Mcp-Name header (the server checks it).
const NAME_PARAM = { "tools/call": "name", "prompts/get": "name", "resources/read": "uri" };

/** The hub refused our credentials (HTTP 401). */
export class AuthError extends Error {}
/** A JSON-RPC error answer, or a tool result with isError. */
export class McpError extends Error {
  constructor(message, code) {
    super(message);
    this.code = code;
  }
}

// Header values must be printable ASCII; anything else travels base64-wrapped, as the spec says.
function headerValue(value) {
  if (/^[\x20-\x7e]*$/.test(value) && value === value.trim() && !value.startsWith("=?base64?")) return value;
  const bytes = new TextEncoder().encode(value);
  return `=?base64?${btoa(String.fromCharCode(...bytes))}?=`;
}

// The JSON of each `data:` event of an SSE byte stream (eventsource-parser does the framing).
async function* sseMessages(body) {
  const reader = body.pipeThrough(new TextDecoderStream()).getReader();
  const ready = [];
  const parser = createParser({ onEvent: (event) => event.data && ready.push(JSON.parse(event.data)) });
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      parser.feed(value);
      while (ready.length) yield ready.shift();
    }
  } finally {
    reader.releaseLock();
  }
}

export class McpClient {
  /** @param {string} url  the /mcp endpoint; @param {() => string|null} token  current bearer token */
  constructor(url, token) {
    this.url = url;
    this.token = token;
    this.nextId = 1;
  }

  async #post(method, params, { signal, progressToken, meta } = {}) {
    const id = `${method}-${this.nextId++}`;
    const headers = {
      "Content-Type": "application/json",
      Accept: "application/json, text/event-stream",
      "MCP-Protocol-Version": PROTOCOL_VERSION,
      "Mcp-Method": method,
    };
    const nameKey = NAME_PARAM[method];
    if (nameKey && params[nameKey] != null) headers["Mcp-Name"] = headerValue(String(params[nameKey]));
    const token = this.token();
    if (token) headers.Authorization = `Bearer ${token}`;
    const body = {
      jsonrpc: "2.0",
      id,
      method,
      params: {
        ...params,
        _meta: {
          "io.modelcontextprotocol/protocolVersion": PROTOCOL_VERSION,
          "io.modelcontextprotocol/clientCapabilities": {},
          "io.modelcontextprotocol/clientInfo": CLIENT_INFO,
          ...(progressToken != null && { progressToken }),
          ...meta,
        },
      },
    };
    const response = await fetch(this.url, {
      method: "POST",
      headers,
      body: JSON.stringify(body),
      signal,
      credentials: "same-origin",
      cache: "no-store",
    });
    if (response.status === 401) {
      let detail = "";
      try {
        detail = (await response.json()).message || "";
      } catch {
        /* not JSON */
      }
      throw new AuthError(detail || "the hub refused the credentials (HTTP 401)");
    }
    return { id, response };
  }

  static #unwrap(message) {
    if (message.error) throw new McpError(message.error.message, message.error.code);
    return message.result;
  }

  /**
   * One request, one answer (a JSON body, or the last frame of an SSE stream). With `onProgress`,
   * the request carries a progress token and each `notifications/progress` on its stream is passed on.
   */
  async request(method, params = {}, { onProgress, signal } = {}) {
    const progressToken = onProgress ? `progress-${this.nextId}` : null;
    const { id, response } = await this.#post(method, params, { signal, progressToken });
    const type = response.headers.get("content-type") || "";
    if (type.startsWith("application/json")) return McpClient.#unwrap(await response.json());
    if (!type.startsWith("text/event-stream")) {
      throw new McpError(`unexpected answer from the hub: HTTP ${response.status} ${await response.text()}`);
    }
    for await (const message of sseMessages(response.body)) {
      if (message.id === id) return McpClient.#unwrap(message);
      if (message.method === "notifications/progress" && message.params?.progressToken === progressToken) {
        onProgress(message.params);
      }
    }
    throw new McpError(`the hub closed the stream before answering ${method}`);
  }

  discover() {
    return this.request("server/discover");
  }

  async listTools() {
    const tools = [];
    let cursor;
    do {
      const page = await this.request("tools/list", cursor ? { cursor } : {});
      tools.push(...page.tools);
      cursor = page.nextCursor;
    } while (cursor);
    return tools;
  }

  /** A tool's structured result; a tool error becomes McpError with the tool's own message. */
  async callTool(name, args = {}, options = {}) {
    const result = await this.request("tools/call", { name, arguments: args }, options);
    if (result.isError) {
      const text = (result.content || [])
        .map((c) => c.text || "")
        .join("\n")
        .replace(/^Error executing tool [^:]+: /, ""); // the SDK's prefix; the hub's own message follows
      throw new McpError(text || `${name} failed`);
    }
    return result.structuredContent;
  }

  /** A JSON resource, parsed. */
  async readJson(uri) {
    const result = await this.request("resources/read", { uri });
    return JSON.parse(result.contents[0].text);
  }

  /**
   * Opens a `subscriptions/listen` stream and calls onEvent({method, uri, meta}) for every change
   * notification until the stream ends or `signal` aborts. onReady(meta) runs once the server has
   * acknowledged (from then on nothing is missed). `meta` carries the hub's sequence number
   * ("io.mainloop/seq"); pass the last one seen as `since` and the hub first replays every later change.
   */
  async listen(filter, { onEvent, onReady, signal, since }) {
    const meta = since != null ? { "io.mainloop/since": since } : {};
    const { response } = await this.#post("subscriptions/listen", { notifications: filter }, { signal, meta });
    const type = response.headers.get("content-type") || "";
    if (!type.startsWith("text/event-stream")) {
      const message = type.startsWith("application/json") ? await response.json() : {};
      McpClient.#unwrap(message);
      throw new McpError(`subscriptions/listen was not answered with a stream (HTTP ${response.status})`);
    }
    for await (const message of sseMessages(response.body)) {
      const meta = message.params?._meta || {};
      if (message.method === "notifications/subscriptions/acknowledged") onReady?.(meta);
      else if (message.method) onEvent({ method: message.method, uri: message.params?.uri, meta });
      else if ("result" in message || "error" in message) return; // graceful end of the stream
    }
  }
}
