"""Property-based fuzzing (hypothesis) of every tool's arguments and of raw JSON-RPC bodies on /mcp.

The properties, for every input: no crash (no internal error, no logged exception, no HTTP 5xx, the
server process stays up), a bad input gets a short, clear refusal (a tool error, -32602 or HTTP
4xx), and a refused input changes nothing in the database. Tool arguments are derived from each
tool's own inputSchema, so tools added later are fuzzed too. Example counts are bounded so the
module runs in well under a minute; each test reports how many inputs it tried.
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import re
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from anyio.from_thread import BlockingPortal, start_blocking_portal
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from mcp import Client, MCPError
from mcp.types import INVALID_PARAMS

from mainloop_mcp.config import Settings
from mainloop_mcp.hub import open_hub
from mainloop_mcp.model import MAX_CONTENT_BYTES
from mainloop_mcp.server import create_server
from mainloop_mcp.store.bigquery.store import BigQueryStore
from tests.conftest import ServedHub, bigquery_url, sqlite_url, start_hub, stop_hub

TOOL_EXAMPLES = 400
RAW_EXAMPLES = 300
MAX_ERROR_CHARS = 2000  # a refusal quotes the bad value briefly, never echoes a megabyte back

FUZZ = settings(
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.large_base_example],
)

JSON: st.SearchStrategy[Any] = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=40),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)


class Big(str):
    """A huge string that prints short, so a failing example stays readable."""

    def __repr__(self) -> str:
        return f"Big({self[:8]!r}... {len(self):,} chars)"


class BigBytes(bytes):
    def __repr__(self) -> str:
        return f"BigBytes({self[:40]!r}... {len(self):,} bytes)"


ODD_STRINGS = [
    "",
    " ",
    "\n\t",
    "\x00",
    "\ud800",  # a lone surrogate: not encodable as UTF-8
    "'; DROP TABLE messages; --",
    "%s%n{0}",
    "main",
    Big("x" * (MAX_CONTENT_BYTES + 1)),
    Big("é" * (MAX_CONTENT_BYTES // 2 + 1)),  # under the limit in characters, over it in bytes
    "y" * 300,
    "2026-02-30T00:00:00Z",
    "0001-01-01T00:00:00",
    "9999-12-31T23:59:59.999999+14:00",
    # Seeds from the hardening probes (issue #18): each once answered only "Error executing tool".
    "0001-01-01T00:00:00+01:00",
    "9999-12",
    "9999-12-31",
    "9999-W52",
    "2026-13",
    "2025-W53",
    "a\ud800b",
    Big("/" + "a" * 10_000),  # ENAMETOOLONG as a work_folder
    "~",
]


def report(capsys: pytest.CaptureFixture[str], line: str) -> None:
    """Print past pytest's capture: the input counts belong in every run's output."""
    with capsys.disabled():
        print(f"\n{line}")


def snapshot(db: Path) -> str:
    """A digest of every row of every table: equal digests mean nothing was written."""
    digest = hashlib.sha256()
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
        tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")]
        for table in tables:
            digest.update(table.encode())
            for row in sorted(repr(r) for r in conn.execute(f'SELECT * FROM "{table}"')):
                digest.update(row.encode("utf-8", "surrogatepass"))
    conn.close()
    return digest.hexdigest()


class ErrorLog(logging.Handler):
    """Collects ERROR records: the SDK logs every unexpected exception in a handler at ERROR."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture
def error_log() -> Iterator[ErrorLog]:
    handler = ErrorLog()
    logging.getLogger().addHandler(handler)
    try:
        yield handler
    finally:
        logging.getLogger().removeHandler(handler)


def cursor_for(kind: str, position: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps({"k": kind, "p": position}).encode()).decode().rstrip("=")


def _deep_cursor(depth: int) -> str:
    raw = '{"k":"messages:newest","p":' + "[" * depth + "]" * depth + "}"
    return Big(base64.urlsafe_b64encode(raw.encode()).decode().rstrip("="))


SEED_CURSORS = [
    cursor_for("messages:newest", [2**70, "msg_x"]),
    cursor_for("threads:activity", [2**70, "thr_x"]),
    _deep_cursor(50_000),
]


def crafted_cursors() -> st.SearchStrategy[str]:
    """Cursors that decode but carry the wrong kind or a payload of the wrong shape."""
    kinds = st.sampled_from(["threads", "messages:newest", "messages:oldest", "nope"]) | st.text(max_size=10)
    return st.builds(cursor_for, kinds, st.lists(JSON, max_size=3) | JSON)


def _resolve(schema: dict[str, Any], defs: dict[str, Any]) -> list[dict[str, Any]]:
    """A property schema flattened: $ref resolved, anyOf/oneOf expanded."""
    if "$ref" in schema:
        return _resolve(
            {**defs[schema["$ref"].split("/")[-1]], **{k: v for k, v in schema.items() if k != "$ref"}}, defs
        )
    for key in ("anyOf", "oneOf"):
        if key in schema:
            return [part for option in schema[key] for part in _resolve(option, defs)]
    return [schema]


def value_for(
    name: str, schema: dict[str, Any], defs: dict[str, Any], pools: dict[str, list[str]]
) -> st.SearchStrategy[Any]:
    """Plausible values for one argument (so calls get past validation and reach the store), or any JSON."""
    options: list[st.SearchStrategy[Any]] = [JSON]
    for part in _resolve(schema, defs):
        kind = part.get("type")
        if "enum" in part:
            options.append(st.sampled_from(part["enum"]))
        if kind == "string":
            if name == "id" or name.endswith("_id"):
                options.append(st.sampled_from(pools["ids"]))
            if name == "cursor":
                options += [st.sampled_from(pools["cursors"]), crafted_cursors()]
            if part.get("format") == "date-time" or name in ("since", "until"):
                options.append(st.datetimes().map(lambda d: d.isoformat()))
            options += [st.text(max_size=120), st.sampled_from(ODD_STRINGS)]
        elif kind == "integer":
            options.append(st.integers(-(2**70), 2**70) | st.sampled_from([0, -1, 1, 500, 501, 2**63]))
        elif kind == "object":
            options.append(st.dictionaries(st.text(max_size=8), JSON, max_size=5))
        elif kind == "null":
            options.append(st.none())
    return st.one_of(*options)


def arguments_for(schema: dict[str, Any], pools: dict[str, list[str]]) -> st.SearchStrategy[dict[str, Any]]:
    """Any subset of the tool's own arguments (required ones too), now and then with unknown extras."""
    defs = schema.get("$defs", {})
    props = {name: value_for(name, prop, defs, pools) for name, prop in schema.get("properties", {}).items()}
    known = st.fixed_dictionaries({}, optional=props)
    extras = st.dictionaries(st.text(max_size=10), JSON, max_size=2)
    return st.one_of(known, known, known, st.builds(lambda a, b: {**b, **a}, known, extras))


@pytest.fixture
def portal() -> Iterator[BlockingPortal]:
    with start_blocking_portal("asyncio") as p:
        yield p


async def bigquery_snapshot(store: BigQueryStore) -> str:
    """The same digest for a BigQuery dataset: every row of every table, in one query."""
    tables = ("threads", "messages", "summaries", "agent_runs")
    sql = " UNION ALL ".join(
        f"SELECT '{name}' AS tbl, TO_JSON_STRING(r) AS j FROM {store.bq.target.table(name)} r" for name in tables
    )
    rows = sorted(f"{r['tbl']}:{r['j']}" for r in await store.bq.rows(sql))
    return hashlib.sha256("\n".join(rows).encode("utf-8", "surrogatepass")).hexdigest()


# The same fuzzing on both backends (BigQuery through the local emulator).
EXAMPLES_ON = {"sqlite": TOOL_EXAMPLES, "bigquery": TOOL_EXAMPLES}


@pytest.mark.parametrize("backend", sorted(EXAMPLES_ON))
def test_tool_arguments(
    tmp_path: Path, portal: BlockingPortal, error_log: ErrorLog, capsys: pytest.CaptureFixture[str], backend: str
) -> None:
    db = tmp_path / "mainloop.db"
    url = sqlite_url(tmp_path) if backend == "sqlite" else bigquery_url(tmp_path)
    with (
        portal.wrap_async_context_manager(open_hub(Settings(store=url))) as hub,
        portal.wrap_async_context_manager(Client(create_server(hub))) as client,
    ):

        def state() -> str:
            if isinstance(hub.store, BigQueryStore):
                return portal.call(bigquery_snapshot, hub.store)
            return snapshot(db)

        def ok(tool: str, **args: Any) -> dict[str, Any]:
            result = portal.call(client.call_tool, tool, args)
            assert not result.is_error, result.content
            assert isinstance(result.structured_content, dict)
            return result.structured_content

        # Real records for the argument pools: every kind of thread, messages, cursors of each kind.
        main = ok("get_thread")["id"]
        project = ok("create_thread", title="fuzz project", thread_type="project")["id"]
        task = ok("create_thread", title="fuzz task", thread_type="task", parent_id=project)["id"]
        archived = ok("create_thread", title="fuzz archived", thread_type="project")["id"]
        ok("archive_thread", thread_id=archived)
        for i in range(3):
            ok("post_message", thread_id=project, content=f"seed {i}", idempotency_key=f"seed-{i}")
        cursors = [
            ok("read_messages", thread_id=project, limit=1)["next_cursor"],
            ok("read_messages", thread_id=project, limit=1, order="oldest")["next_cursor"],
            ok("list_threads", limit=1, status=None)["next_cursor"],
        ]
        pools = {
            "ids": [main, project, task, archived, "thr_missing", "", "main"],
            "cursors": [*cursors, "not-a-cursor", "e30", "==", *SEED_CURSORS],
        }
        tools = portal.call(client.list_tools).tools
        calls = st.one_of(*[st.tuples(st.just(t.name), arguments_for(t.input_schema, pools)) for t in tools])
        tried: dict[str, int] = {t.name: 0 for t in tools}
        outcomes = {"accepted": 0, "tool error": 0, "invalid params": 0}

        @settings(FUZZ, max_examples=EXAMPLES_ON[backend])
        @given(call=calls)
        def check(call: tuple[str, dict[str, Any]]) -> None:
            tool, args = call
            tried[tool] += 1
            before = state()
            try:
                result = portal.call(client.call_tool, tool, args)
            except MCPError as exc:
                assert exc.error.code == INVALID_PARAMS, (tool, exc.error)
                outcomes["invalid params"] += 1
                refused = True
            else:
                refused = result.is_error
                if refused:
                    text = " ".join(getattr(c, "text", "") for c in result.content)
                    assert text.strip() and len(text) <= MAX_ERROR_CHARS, (tool, text[:300])
                    assert "Traceback" not in text
                    outcomes["tool error"] += 1
                else:
                    outcomes["accepted"] += 1
            assert not error_log.records, [r.getMessage() for r in error_log.records]
            if refused:
                assert state() == before, f"{tool} was refused but wrote to the database"

        check()
        ok("get_thread", thread_id=project)  # still serving

    total = sum(tried.values())
    report(capsys, f"fuzz tool arguments: {total} inputs over {len(tried)} tools {tried}; outcomes {outcomes}")
    assert total >= EXAMPLES_ON[backend] * 0.9 and all(tried.values())


# --- raw JSON-RPC bodies over HTTP ---------------------------------------------------------------

METHODS = [
    "initialize",
    "ping",
    "tools/list",
    "tools/call",
    "resources/list",
    "resources/read",
    "resources/templates/list",
    "resources/subscribe",
    "prompts/list",
    "prompts/get",
    "completion/complete",
    "logging/setLevel",
    "subscriptions/listen",
    "notifications/initialized",
    "notifications/cancelled",
]
TOOL_NAMES = ["create_thread", "list_threads", "get_thread", "post_message", "read_messages", "archive_thread"]
ACCEPT = {"Accept": "application/json, text/event-stream", "Content-Type": "application/json"}


def _deep(n: int) -> str:
    return '{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"post_message","arguments":' + (
        '{"thread_id":"x","content":"y","metadata":' + '{"a":' * n + "1" + "}" * n + "}}}"
    )


EXTREME_BODIES = [
    "[" * 100_000 + "]" * 100_000,
    _deep(100),
    _deep(5_000),
    json.dumps({"jsonrpc": "2.0", "id": 1, "method": "ping", "params": {"k" * 100_000: 1}}),
    json.dumps(
        {
            "jsonrpc": "2.0",
            "id": 2,
            "method": "tools/call",
            "params": {
                "name": "post_message",
                "arguments": {"thread_id": "x", "content": "z" * (2 * MAX_CONTENT_BYTES)},
            },
        }
    ),
    "x" * (5 * MAX_CONTENT_BYTES),
    "",
    "\ufeff{}",
    # Lone surrogates as a metadata key and in a search query, written as JSON escapes.
    '{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"post_message",'
    '"arguments":{"thread_id":"x","content":"y","metadata":{"\\ud800":1}}}}',
    '{"jsonrpc":"2.0","id":4,"method":"tools/call","params":{"name":"search","arguments":{"query":"a\\ud800b"}}}',
    '{"jsonrpc":"2.0","id":5,"method":"resources/read","params":{"uri":"memory://main/2026-13"}}',
]


MODERN_META = {
    "io.modelcontextprotocol/protocolVersion": "2026-07-28",
    "io.modelcontextprotocol/clientCapabilities": {},
}


def envelopes(modern: bool, tool_calls: st.SearchStrategy[dict[str, Any]]) -> st.SearchStrategy[Any]:
    """JSON-RPC messages: mostly well-formed requests with odd params, some malformed, some batches."""
    arguments = st.dictionaries(st.sampled_from(["thread_id", "content", "title", "thread_type", "limit"]), JSON)
    meta = st.just(MODERN_META) if modern else JSON
    tool_params = st.fixed_dictionaries(
        {"name": st.sampled_from(TOOL_NAMES) | st.text(max_size=12)},
        optional={"arguments": arguments | JSON, "_meta": meta},
    )
    other_params = st.dictionaries(st.sampled_from(["name", "uri", "arguments", "cursor"]), JSON).flatmap(
        lambda p: st.just(p) | meta.map(lambda m: {**p, "_meta": m})
    )
    request = st.fixed_dictionaries(
        {"jsonrpc": st.just("2.0"), "id": st.integers(0, 2**31), "method": st.sampled_from(METHODS)},
        optional={"params": st.one_of(tool_params, tool_params, other_params, JSON)},
    )
    if modern:
        tool_calls = tool_calls.map(lambda p: {**p, "_meta": MODERN_META})
    call = st.fixed_dictionaries(
        {"jsonrpc": st.just("2.0"), "id": st.integers(0, 2**31), "method": st.just("tools/call"), "params": tool_calls}
    )
    odd = st.dictionaries(st.sampled_from(["jsonrpc", "id", "method", "params", "result", "error"]), JSON)
    return st.one_of(call, call, call, request, request, odd, st.lists(request, max_size=3), JSON)


def bodies(modern: bool, tool_calls: st.SearchStrategy[dict[str, Any]]) -> st.SearchStrategy[bytes]:
    text = envelopes(modern, tool_calls).map(json.dumps)
    return st.one_of(
        text.map(str.encode),
        text.map(str.encode),
        text.flatmap(lambda s: st.integers(0, len(s)).map(lambda i: s[:i].encode())),  # cut short
        st.binary(max_size=300),
        st.sampled_from(EXTREME_BODIES).map(lambda s: BigBytes(s.encode("utf-8", "surrogatepass"))),
    )


def posts(tool_calls: st.SearchStrategy[dict[str, Any]]) -> st.SearchStrategy[tuple[bytes, str]]:
    """(body, header set): legacy bodies mostly on the live session, modern ones on the modern wire."""
    legacy_headers = st.sampled_from(["session"] * 4 + ["no session", "unknown version", "text/plain"])
    return st.one_of(
        st.tuples(bodies(False, tool_calls), legacy_headers),
        st.tuples(bodies(False, tool_calls), legacy_headers),
        st.tuples(bodies(True, tool_calls), st.just("modern")),
    )


def routing_headers(body: bytes) -> dict[str, str]:
    try:
        message = json.loads(body)
        headers = {"Mcp-Method": str(message["method"])}
        if message["method"] == "tools/call":
            headers["Mcp-Name"] = str(message["params"]["name"])
        return {k: v for k, v in headers.items() if v.isascii() and v.isprintable()}
    except (ValueError, KeyError, TypeError, RecursionError):
        return {}


SSE_LINE_BREAK = re.compile(r"\r\n|\r|\n")


def events(response: httpx.Response) -> list[Any]:
    """The JSON-RPC messages of a response, whether plain JSON or an SSE stream."""
    if response.headers.get("content-type", "").startswith("text/event-stream"):
        return [
            json.loads(line[5:])
            for line in SSE_LINE_BREAK.split(response.text)  # not splitlines(): U+2028, \x85... stay in the JSON
            if line.startswith("data:") and line[5:].strip()
        ]
    try:
        return [response.json()]
    except ValueError:
        return []


@pytest.fixture(scope="module")
def served_once(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServedHub]:
    hub = start_hub(tmp_path_factory.mktemp("raw"))
    try:
        yield hub
    finally:
        stop_hub(hub)


def test_raw_jsonrpc_bodies(served_once: ServedHub, capsys: pytest.CaptureFixture[str]) -> None:
    db = served_once.log.parent / "mainloop.db"
    with httpx.Client(base_url=served_once.base, timeout=30) as http:
        init = {
            "jsonrpc": "2.0",
            "id": 0,
            "method": "initialize",
            "params": {
                "protocolVersion": "2025-11-25",
                "capabilities": {},
                "clientInfo": {"name": "fuzz", "version": "1"},
            },
        }
        session = http.post("/mcp", json=init, headers=ACCEPT).headers["mcp-session-id"]
        legacy = {**ACCEPT, "mcp-session-id": session, "mcp-protocol-version": "2025-11-25"}
        http.post("/mcp", json={"jsonrpc": "2.0", "method": "notifications/initialized"}, headers=legacy)
        header_sets = {
            "session": legacy,
            "no session": ACCEPT,
            "modern": {**ACCEPT, "mcp-protocol-version": "2026-07-28"},
            "unknown version": {**legacy, "mcp-protocol-version": "1999-01-01"},
            "text/plain": {**legacy, "Content-Type": "text/plain"},
        }
        statuses: dict[int, int] = {}

        def rpc(method: str, params: dict[str, Any]) -> dict[str, Any]:
            body = {"jsonrpc": "2.0", "id": 1, "method": method, "params": params}
            message = events(http.post("/mcp", json=body, headers=legacy))[0]
            assert "result" in message, message
            return dict(message["result"])

        project = rpc("tools/call", {"name": "create_thread", "arguments": {"title": "raw", "thread_type": "project"}})
        # seed from the soak: characters str.splitlines() breaks on, which SSE does not (U+2028, NEL, FS)
        odd = "a\u2028b\x85c\x1cd"
        post = {"thread_id": project["structuredContent"]["id"], "content": odd}
        assert rpc("tools/call", {"name": "post_message", "arguments": post})["structuredContent"]["content"] == odd
        pools = {"ids": [project["structuredContent"]["id"], "thr_missing", ""], "cursors": ["e30", "not-a-cursor"]}
        tool_calls = st.one_of(
            *[
                st.fixed_dictionaries({"name": st.just(t["name"]), "arguments": arguments_for(t["inputSchema"], pools)})
                for t in rpc("tools/list", {})["tools"]
            ]
        )

        @settings(FUZZ, max_examples=RAW_EXAMPLES)
        @given(post=posts(tool_calls))
        def check(post: tuple[bytes, str]) -> None:
            body, headers = post
            before = snapshot(db)
            sent = header_sets[headers]
            if headers == "modern":  # the modern wire routes on headers that repeat the body's method and name
                sent = {**sent, **routing_headers(body)}
            response = http.post("/mcp", content=body, headers=sent)
            statuses[response.status_code] = statuses.get(response.status_code, 0) + 1
            assert response.status_code < 500, (response.status_code, response.text[:500])
            assert served_once.proc.poll() is None, "the server died"
            wrote = any(isinstance(m, dict) and m.get("result", {}).get("isError") is False for m in events(response))
            if not wrote:
                assert snapshot(db) == before, "a refused request wrote to the database"

        check()
        alive = http.post(
            "/mcp",
            json={"jsonrpc": "2.0", "id": 99, "method": "tools/call", "params": {"name": "get_thread"}},
            headers=legacy,
        )
        assert alive.status_code == 200 and '"isError":false' in alive.text

    log = served_once.log.read_text(errors="replace")
    assert "Traceback" not in log, log[log.find("Traceback") - 500 :][:3000]
    report(capsys, f"fuzz raw JSON-RPC bodies: {sum(statuses.values())} POSTs to /mcp, HTTP statuses {statuses}")
    assert sum(statuses.values()) >= RAW_EXAMPLES * 0.9
