"""When the SQLite file can't do its job, every answer says why: the CLI names the file and the problem
(exit 2), a tool call that can't write says why in one line and writes nothing, /healthz reports failing
writes. Real files: a folder, junk, a truncated database, a corrupted page, a full and a read-only one."""

from __future__ import annotations

import sqlite3
import subprocess
from pathlib import Path

import httpx
import pytest
from mcp import Client

from mainloop_mcp.config import Settings
from mainloop_mcp.hub import open_hub
from mainloop_mcp.server import create_server
from tests.conftest import VENV_BIN, sqlite_url, start_hub, stop_hub

pytestmark = pytest.mark.anyio


def real_database(tmp_path: Path, messages: int = 0) -> tuple[Path, str]:
    """A mainloop database made by the CLI, with `messages` rows of 2 KB in the main thread."""
    subprocess.run([str(VENV_BIN / "mainloop"), "compact", "--store", sqlite_url(tmp_path)], check=True, text=True)
    db = tmp_path / "mainloop.db"
    with sqlite3.connect(db) as conn:
        (main,) = conn.execute("SELECT id FROM threads WHERE thread_type = 'main'").fetchone()
        rows = [(f"msg_{i:08d}", main, "user", "y" * 2000, 1_767_225_600_000_000 + i) for i in range(messages)]
        conn.executemany("INSERT INTO messages (id, thread_id, role, content, created_at) VALUES (?,?,?,?,?)", rows)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    return db, main


@pytest.mark.parametrize("case", ["folder", "junk", "truncated"])
def test_a_store_file_that_is_no_database_is_named_with_what_is_wrong(tmp_path: Path, case: str) -> None:
    if case == "folder":
        store, expected = tmp_path / "mainloop.db", "is a folder"
        store.mkdir()
    elif case == "junk":
        store, expected = tmp_path / "mainloop.db", "not a SQLite database"
        store.write_bytes(b"hello, not a database\n" * 300)
    else:
        store, _ = real_database(tmp_path, messages=50)
        store.write_bytes(store.read_bytes()[: 4096 * 3])
        expected = "corrupt"
    done = subprocess.run(
        [str(VENV_BIN / "mainloop"), "compact", "--store", f"sqlite:///{store}"], capture_output=True, text=True
    )
    assert done.returncode == 2, done.stderr
    (line,) = done.stderr.strip().splitlines()  # one line, no traceback
    assert str(store) in line and expected in line


async def test_a_full_disk_and_a_read_only_database_are_one_line_errors_with_nothing_written(tmp_path: Path) -> None:
    async with open_hub(Settings(store=sqlite_url(tmp_path))) as hub, Client(create_server(hub)) as client:
        main = (await hub.store.main_thread()).id
        conn = hub.store.connection  # type: ignore[attr-defined]
        (pages,) = conn.execute("PRAGMA page_count").fetchone()
        conn.execute(f"PRAGMA max_page_count = {pages + 2}")  # what a full disk looks like to SQLite
        full = await client.call_tool("post_message", {"thread_id": main, "content": "z" * 200_000})
        text = " ".join(getattr(c, "text", "") for c in full.content)
        assert full.is_error and "disk holding the database is full" in text and "Traceback" not in text
        conn.execute("PRAGMA max_page_count = 1000000")
        conn.execute("PRAGMA query_only = 1")  # SQLite's read-only refusal, as for a read-only file
        refused = await client.call_tool("post_message", {"thread_id": main, "content": "hello"})
        text = " ".join(getattr(c, "text", "") for c in refused.content)
        assert refused.is_error and "read-only" in text
        conn.execute("PRAGMA query_only = 0")
        assert (await hub.store.read_messages(main)).messages == []


def test_healthz_reports_failing_writes_on_a_corrupted_page(tmp_path: Path) -> None:
    db, main_id = real_database(tmp_path, messages=400)
    data = bytearray(db.read_bytes())
    page = 4096
    for start in range(len(data) // 2 // page * page, len(data) - page, page):  # the upper half: message pages
        data[start + 8 : start + page] = b"\xa5" * (page - 8)
    db.write_bytes(bytes(data))
    served = start_hub(tmp_path)
    try:
        with httpx.Client(base_url=served.base, timeout=10) as http:
            assert http.get("/healthz").status_code == 200  # reads of the main thread still work
            from tests.test_fuzz import ACCEPT

            init = {
                "jsonrpc": "2.0",
                "id": 0,
                "method": "initialize",
                "params": {
                    "protocolVersion": "2025-11-25",
                    "capabilities": {},
                    "clientInfo": {"name": "t", "version": "1"},
                },
            }
            session = http.post("/mcp", json=init, headers=ACCEPT).headers["mcp-session-id"]
            headers = {**ACCEPT, "mcp-session-id": session, "mcp-protocol-version": "2025-11-25"}
            http.post("/mcp", json={"jsonrpc": "2.0", "method": "notifications/initialized"}, headers=headers)
            main = http.get("/healthz")
            answers = []
            for i in range(20):
                call = {
                    "jsonrpc": "2.0",
                    "id": i + 1,
                    "method": "tools/call",
                    "params": {"name": "post_message", "arguments": {"thread_id": main_id, "content": f"m{i}"}},
                }
                answers.append(http.post("/mcp", json=call, headers=headers).text)
            health = http.get("/healthz")
    finally:
        stop_hub(served)
    assert main.status_code == 200
    assert any("corrupt" in a for a in answers), answers[0][:500]
    assert health.status_code == 503 and "corrupt" in health.json()["error"], health.text
