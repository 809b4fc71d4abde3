"""Soak fuzz: many thousands of tool inputs and raw JSON-RPC bodies against a real `mainloop serve`, on
SQLite and on BigQuery (the local emulator), printing how each was answered.

Inputs come from the fuzz suite's strategies (tests/test_fuzz.py: arguments derived from each tool's
inputSchema, with the hardening seeds; raw bodies mostly well-formed, some cut short, binary, huge or
deeply nested). Outcomes:
  accepted / tool error (with a reason) / invalid params (-32602) / other JSON-RPC error /
  UNEXPLAINED (a tool error that gives no reason, or -32603) / HTTP 4xx / HTTP 5xx / server died;
plus the number of tracebacks in the server's log. Only loopback traffic.

    .venv/bin/python bench/soak_fuzz.py                       # 6,000 + 6,000 on SQLite, 500 + 500 on BigQuery
    .venv/bin/python bench/soak_fuzz.py --tools 1000 --raw 1000 --bq-tools 0 --bq-raw 0
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
from hypothesis import given, settings
from hypothesis import strategies as st

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.bq_emulator import Emulator
from tests.conftest import ServedHub, start_hub, stop_hub
from tests.test_fuzz import FUZZ, SEED_CURSORS, arguments_for, events, posts, routing_headers, snapshot

ACCEPT = {"Accept": "application/json, text/event-stream", "Content-Type": "application/json"}
BARE_TOOL_ERROR = re.compile(r"^Error executing tool \S+\s*$")


class Session:
    """One legacy-era MCP session over raw HTTP."""

    def __init__(self, served: ServedHub) -> None:
        self.http = httpx.Client(base_url=served.base, timeout=120)
        init = {
            "jsonrpc": "2.0",
            "id": 0,
            "method": "initialize",
            "params": {
                "protocolVersion": "2025-11-25",
                "capabilities": {},
                "clientInfo": {"name": "soak", "version": "1"},
            },
        }
        session = self.http.post("/mcp", json=init, headers=ACCEPT).headers["mcp-session-id"]
        self.headers = {**ACCEPT, "mcp-session-id": session, "mcp-protocol-version": "2025-11-25"}
        self.http.post("/mcp", json={"jsonrpc": "2.0", "method": "notifications/initialized"}, headers=self.headers)
        self.header_sets = {
            "session": self.headers,
            "no session": ACCEPT,
            "modern": {**ACCEPT, "mcp-protocol-version": "2026-07-28"},
            "unknown version": {**self.headers, "mcp-protocol-version": "1999-01-01"},
            "text/plain": {**self.headers, "Content-Type": "text/plain"},
        }

    def rpc(self, method: str, params: dict[str, Any]) -> httpx.Response:
        body = {"jsonrpc": "2.0", "id": 1, "method": method, "params": params}
        return self.http.post("/mcp", content=json.dumps(body).encode("utf-8", "surrogatepass"), headers=self.headers)

    def result(self, method: str, params: dict[str, Any]) -> dict[str, Any]:
        return dict(events(self.rpc(method, params))[0]["result"])


def classify(response: httpx.Response) -> str:
    if response.status_code >= 500:
        return "HTTP 5xx"
    try:
        answers = events(response)
    except ValueError:
        print(f"  unparseable answer: {response.text[:300]!r}", flush=True)
        return "UNPARSEABLE answer"
    messages = [m for m in answers if isinstance(m, dict) and ("result" in m or "error" in m)]
    if not messages:
        return f"HTTP {response.status_code}, no JSON-RPC answer"
    message = messages[0]
    if "error" in message:
        code = message["error"].get("code")
        if code == -32603:
            return "UNEXPLAINED (-32603)"
        return "invalid params (-32602)" if code == -32602 else f"JSON-RPC error {code}"
    result = message["result"]
    if not result.get("isError"):
        return "accepted"
    text = " ".join(c.get("text", "") for c in result.get("content", []))
    return "UNEXPLAINED (bare tool error)" if BARE_TOOL_ERROR.match(text) or not text.strip() else "tool error"


def seed_pools(session: Session) -> dict[str, list[str]]:
    def ok(tool: str, **args: Any) -> dict[str, Any]:
        return dict(session.result("tools/call", {"name": tool, "arguments": args})["structuredContent"])

    main = ok("get_thread")["id"]
    project = ok("create_thread", title="soak project", thread_type="project")["id"]
    task = ok("create_thread", title="soak task", thread_type="task", parent_id=project)["id"]
    for i in range(3):
        ok("post_message", thread_id=project, content=f"seed {i}", idempotency_key=f"seed-{i}")
    cursor = ok("read_messages", thread_id=project, limit=1).get("next_cursor", "")
    return {"ids": [main, project, task, "thr_missing", "", "main"], "cursors": [cursor, "e30", *SEED_CURSORS]}


def soak(
    served: ServedHub, tools: int, raw: int, db: Path | None
) -> tuple[Counter[str], Counter[str], dict[str, Counter[str]], float]:
    session = Session(served)
    pools = seed_pools(session)
    listed = session.result("tools/list", {})["tools"]
    calls = st.one_of(*[st.tuples(st.just(t["name"]), arguments_for(t["inputSchema"], pools)) for t in listed])
    tool_outcomes: Counter[str] = Counter()
    raw_outcomes: Counter[str] = Counter()
    per_tool: dict[str, Counter[str]] = {}
    started = time.monotonic()

    @settings(FUZZ, max_examples=max(tools, 1))
    @given(call=calls)
    def tool_inputs(call: tuple[str, dict[str, Any]]) -> None:
        name, args = call
        before = snapshot(db) if db else ""
        outcome = classify(session.rpc("tools/call", {"name": name, "arguments": args}))
        if db and outcome != "accepted" and snapshot(db) != before:
            print(f"  HALF-STORED: {name} {str(args)[:300]}", flush=True)
            outcome = "HALF-STORED (refused, yet the database changed)"
        tool_outcomes[outcome] += 1
        per_tool.setdefault(name, Counter())[outcome] += 1
        if sum(tool_outcomes.values()) % 1000 == 0:
            print(f"  ... {sum(tool_outcomes.values()):,} tool inputs, {time.monotonic() - started:.0f} s", flush=True)
        if served.proc.poll() is not None:
            tool_outcomes["server died"] += 1

    tool_calls = st.one_of(
        *[
            st.fixed_dictionaries({"name": st.just(t["name"]), "arguments": arguments_for(t["inputSchema"], pools)})
            for t in listed
        ]
    )

    @settings(FUZZ, max_examples=max(raw, 1))
    @given(post=posts(tool_calls))
    def raw_bodies(post: tuple[bytes, str]) -> None:
        body, header_set = post
        sent = session.header_sets[header_set]
        if header_set == "modern":
            sent = {**sent, **routing_headers(body)}
        response = session.http.post("/mcp", content=body, headers=sent)
        outcome = classify(response)
        raw_outcomes[outcome if outcome.startswith(("HTTP 5", "UNEXPLAINED")) else f"HTTP {response.status_code}"] += 1
        if sum(raw_outcomes.values()) % 1000 == 0:
            print(f"  ... {sum(raw_outcomes.values()):,} raw bodies, {time.monotonic() - started:.0f} s", flush=True)

    if tools:
        tool_inputs()
    if raw:
        raw_bodies()
    return tool_outcomes, raw_outcomes, per_tool, time.monotonic() - started


def run(name: str, tmp: Path, env: dict[str, str], tools: int, raw: int, check_writes: bool = False) -> None:
    tmp.mkdir(parents=True)
    served = start_hub(tmp, env=env)
    try:
        tool_outcomes, raw_outcomes, per_tool, seconds = soak(
            served, tools, raw, tmp / "mainloop.db" if check_writes else None
        )
        alive = served.proc.poll() is None
    finally:
        stop_hub(served)
    tracebacks = served.log.read_text(errors="replace").count("Traceback")
    total = sum(tool_outcomes.values()) + sum(raw_outcomes.values())
    print(
        f"\n== {name}: {total:,} inputs in {seconds:.0f} s ({total / max(seconds, 1e-9):.0f}/s); server alive: {alive}"
    )
    print(f"tool inputs ({sum(tool_outcomes.values()):,}): {dict(tool_outcomes.most_common())}")
    print(f"raw bodies  ({sum(raw_outcomes.values()):,}): {dict(raw_outcomes.most_common())}")
    for tool, outcomes in sorted(per_tool.items()):
        print(f"  {tool} ({sum(outcomes.values()):,}): {dict(outcomes.most_common())}")
    print(f"tracebacks in the server log: {tracebacks}")
    if tracebacks:
        kept = Path(tempfile.gettempdir()) / f"soak-{name.split()[0].lower()}-{int(time.time())}.log"
        kept.write_text(served.log.read_text(errors="replace"))
        print(f"server log kept: {kept}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tools", type=int, default=6000, help="tool inputs on SQLite")
    parser.add_argument("--raw", type=int, default=6000, help="raw bodies on SQLite")
    parser.add_argument(
        "--check-writes", action="store_true", help="SQLite: digest the database around each refused tool input"
    )
    parser.add_argument("--bq-tools", type=int, default=500, help="tool inputs on BigQuery (emulator; slower)")
    parser.add_argument("--bq-raw", type=int, default=500, help="raw bodies on BigQuery (emulator)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="soak-") as tmp:
        env = {"MAINLOOP_LOG_LEVEL": "WARNING", "MAINLOOP_AGENT_WORK_ROOTS": json.dumps([tmp])}
        if args.tools or args.raw:
            run("SQLite", Path(tmp) / "sqlite", env, args.tools, args.raw, args.check_writes)
        if args.bq_tools or args.bq_raw:
            emulator = Emulator()
            try:
                bq_env = {**env, "MAINLOOP_STORE": emulator.url()}
                run("BigQuery (emulator)", Path(tmp) / "bq", bq_env, args.bq_tools, args.bq_raw)
            finally:
                emulator.stop()


if __name__ == "__main__":
    main()
