"""What only the SQLite backend promises: its file format, migrations and full-text index."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from mainloop_mcp.model import NewMessage, NewThread, ThreadType
from mainloop_mcp.store.sqlite.store import MIGRATIONS, SqliteStore

pytestmark = pytest.mark.anyio


async def test_file_is_wal_with_foreign_keys_and_newest_schema(tmp_path: Path) -> None:
    store = await SqliteStore.open(tmp_path / "m.db")
    try:
        conn = store.connection
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert conn.execute("PRAGMA foreign_keys").fetchone()[0] == 1
        assert conn.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS)
    finally:
        await store.close()


async def test_a_newer_schema_is_refused_with_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "future.db"
    with sqlite3.connect(path) as conn:
        conn.execute(f"PRAGMA user_version = {len(MIGRATIONS) + 1}")
    with pytest.raises(RuntimeError, match="newer than this mainloop knows"):
        await SqliteStore.open(path)


async def test_full_text_index_covers_single_and_batch_appends(tmp_path: Path) -> None:
    store = await SqliteStore.open(tmp_path / "m.db")
    try:
        t = await store.create_thread(NewThread(thread_type=ThreadType.PROJECT, title="fts"))
        await store.post_message(NewMessage(thread_id=t.id, content="the kubernetes cluster is up"))
        await store.append_messages([NewMessage(thread_id=t.id, content=f"tomato batch {i}") for i in range(3)])

        def match(term: str) -> list[str]:
            sql = "SELECT m.content FROM messages_fts JOIN messages m ON m.seq = messages_fts.rowid"
            return [r[0] for r in store.connection.execute(f"{sql} WHERE messages_fts MATCH ?", (term,))]

        assert match("kubernetes") == ["the kubernetes cluster is up"]
        assert sorted(match("tomato")) == ["tomato batch 0", "tomato batch 1", "tomato batch 2"]
        # FTS5 raises here if the index and the messages table disagree.
        store.connection.execute("INSERT INTO messages_fts(messages_fts) VALUES ('integrity-check')")
    finally:
        await store.close()
