"""Imports into BigQuery (the emulator): the same fixtures as tests/test_import.py, re-import adding
nothing, and a crash at any step of a batch completed by the rerun without doubling anything."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from mainloop_mcp.cli import main
from mainloop_mcp.errors import MainloopError
from mainloop_mcp.importers import runner
from mainloop_mcp.importers.progress import Progress
from mainloop_mcp.importers.runner import ImportReport, source_items, write_threads
from mainloop_mcp.store import open_store
from mainloop_mcp.store.bigquery.store import BigQueryStore
from mainloop_mcp.store.sqlite.store import SqliteStore
from tests.conftest import bigquery_url
from tests.test_import import CLAUDE_CODE

pytestmark = pytest.mark.anyio


async def count(store: BigQueryStore, sql: str) -> int:
    return int((await store.bq.rows(sql))[0]["n"])


async def import_claude_code(store: BigQueryStore) -> ImportReport:
    report = ImportReport()
    await write_threads(
        store, source_items("claude-code", [CLAUDE_CODE], report.tally), Progress(enabled=False), report
    )
    return report


async def open_bigquery(tmp_path: Path) -> BigQueryStore:
    store = await open_store(bigquery_url(tmp_path))
    assert isinstance(store, BigQueryStore)
    return store


def test_the_import_command_fills_a_bigquery_store(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    url = bigquery_url(tmp_path)
    assert main(["import", "claude-code", str(CLAUDE_CODE), "--store", url, "--no-summaries"]) == 0
    out = capsys.readouterr().out
    assert "threads: 6 created" in out
    assert main(["import", "claude-code", str(CLAUDE_CODE), "--store", url, "--no-summaries"]) == 0
    again = capsys.readouterr().out
    assert "threads: 0 created" in again and "messages: 0 added" in again


async def test_same_threads_and_messages_as_sqlite(tmp_path: Path) -> None:
    sqlite = await SqliteStore.open(tmp_path / "m.db")
    report_sqlite = ImportReport()
    await write_threads(
        sqlite, source_items("claude-code", [CLAUDE_CODE], report_sqlite.tally), Progress(enabled=False), report_sqlite
    )
    await sqlite.close()
    store = await open_bigquery(tmp_path)
    try:
        report = await import_claude_code(store)
        assert report.counts.threads_created == report_sqlite.counts.threads_created == 6
        assert report.counts.messages_added == report_sqlite.counts.messages_added > 0
        project = report.counts.thread_ids[next(k for k in report.counts.thread_ids if "garden-planner" in k)]
        thread = await store.get_thread(project)
        assert thread.title == "garden-planner" and "/home/ana/src/garden-planner" in thread.thread_context
        tasks = await count(
            store, f"SELECT COUNT(*) AS n FROM {store.bq.target.table('threads')} WHERE thread_type = 'task'"
        )
        assert tasks == 4
    finally:
        await store.close()


# the statement after which the batch fails: the sources MERGE, the threads MERGE, the messages MERGE
@pytest.mark.parametrize("fail_at", [1, 2, 3])
async def test_a_crash_at_any_step_is_completed_by_the_rerun(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fail_at: int
) -> None:
    store = await open_bigquery(tmp_path)
    monkeypatch.setattr(runner, "BATCH_MESSAGES", 10**9)  # one batch: every thread in it
    real_dml = store.bq.dml
    calls = 0

    async def failing_dml(sql: str, params: list[Any] | None = None) -> int:
        nonlocal calls
        calls += 1
        if calls == fail_at + 1:
            raise MainloopError("the network went away")
        return await real_dml(sql, params)

    try:
        monkeypatch.setattr(store.bq, "dml", failing_dml)
        with pytest.raises(MainloopError):
            await import_claude_code(store)
        monkeypatch.setattr(store.bq, "dml", real_dml)
        report = await import_claude_code(store)
        threads = store.bq.target.table("threads")
        messages = store.bq.target.table("messages")
        assert await count(store, f"SELECT COUNT(*) AS n FROM {threads} WHERE thread_type = 'task'") == 4
        assert await count(store, f"SELECT COUNT(*) AS n FROM {threads} WHERE thread_type = 'project'") == 2
        total = await count(store, f"SELECT COUNT(*) AS n FROM {messages}")
        keys = await count(store, f"SELECT COUNT(DISTINCT idempotency_key) AS n FROM {messages}")
        assert total == keys == report.counts.messages_added + report.counts.duplicates
        again = await import_claude_code(store)
        assert again.counts.threads_created == again.counts.messages_added == 0
    finally:
        await store.close()
