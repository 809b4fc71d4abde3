"""`mainloop import` over the hand-made fixtures in tests/fixtures/import (real SQLite files)."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from mainloop_mcp.cli import main
from mainloop_mcp.errors import MainloopError
from mainloop_mcp.importers import runner
from mainloop_mcp.importers.progress import Progress
from mainloop_mcp.importers.runner import ImportReport, source_items, write_threads
from mainloop_mcp.model import Granularity, NewMessage, NewSummary, NewThread, ThreadType
from mainloop_mcp.search.query import parse
from mainloop_mcp.store.imports import ImportCounts, ImportedThread
from mainloop_mcp.store.sqlite.store import SqliteStore

pytestmark = pytest.mark.anyio
FIXTURES = Path(__file__).parent / "fixtures" / "import"
CLAUDE_CODE = FIXTURES / "claude_code"


def run_import(db: Path, capsys: pytest.CaptureFixture[str], *args: str) -> str:
    assert main(["import", *args, "--store", f"sqlite:///{db}"]) == 0
    return capsys.readouterr().out


def rows(db: Path, sql: str, *params: Any) -> list[tuple[Any, ...]]:
    with sqlite3.connect(db) as conn:
        return conn.execute(sql, params).fetchall()


def test_claude_code_sessions_become_project_and_task_threads(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "m.db"
    out = run_import(db, capsys, "claude-code", str(CLAUDE_CODE))
    assert "threads: 6 created" in out
    threads = dict(rows(db, "SELECT title, thread_type FROM threads"))
    assert threads["garden-planner"] == threads["notes"] == "project"
    assert threads["Frost dates for the planting calendar"] == "task"  # the session's summary line names it
    assert "Rename every note titled 'todo' to include its date" in threads  # interleaved session B stands apart
    contexts = [c for (c,) in rows(db, "SELECT thread_context FROM threads")]
    assert "Claude Code project in /home/ana/src/garden-planner" in contexts
    # original times, tool noise folded into one line, no raw tool output anywhere
    first = rows(db, "SELECT created_at FROM messages WHERE content LIKE 'The planting calendar puts tomatoes%'")
    assert first == [(int(datetime(2025, 3, 14, 9, 2, 11, 204000, tzinfo=UTC).timestamp() * 1_000_000),)]
    assert rows(db, "SELECT count(*) FROM messages WHERE content LIKE '%import seed row%'") == [(0,)]
    tools = [c for (c,) in rows(db, "SELECT content FROM messages WHERE content LIKE 'Tools:%'")]
    assert "Tools: Edit ×2, Bash ×2 (1 failed); edited planner/frost.py" in tools
    assert all(len(t) < 200 for t in tools)
    skipped = rows(db, "SELECT count(*) FROM messages WHERE content LIKE '%Total cost%' OR content LIKE '%hooks.%'")
    assert skipped == [(0,)]  # slash-command echoes and the sidechain's question stay out
    assert rows(db, "SELECT count(*) FROM messages WHERE content LIKE '%templates/print/month.html render%'") == [(0,)]
    assert rows(
        db,
        "SELECT count(*) FROM messages WHERE content = 'From the old file: f\ufffdves et pois, sem\ufffds le 3 mars'",
    ) == [(1,)]
    # bad records are reported with file:line, and the good ones around them imported
    assert "4a4a4a4a-aaaa-4aaa-8aaa-aaaaaaaaaaaa.jsonl:7: not JSON" in out
    assert "b2d4f6a8-1c3e-4a5b-8d7f-9e0a1b2c3d4e.jsonl:7: a line cut short" in out
    assert "sessions without text skipped" not in out or "1 sessions without text skipped" in out
    # summaries of the imported periods were built
    assert rows(db, "SELECT count(*) FROM summaries")[0][0] > 0


def test_reimport_adds_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "m.db"
    run_import(db, capsys, "claude-code", str(CLAUDE_CODE), "--no-summaries")
    before = rows(db, "SELECT count(*) FROM messages")[0][0]
    out = run_import(db, capsys, "claude-code", str(CLAUDE_CODE), "--no-summaries")
    assert "threads: 0 created" in out
    assert f"messages: 0 added, {before} skipped as duplicates" in out
    assert rows(db, "SELECT count(*) FROM messages")[0][0] == before


def test_chat_exports_land_under_the_imported_project(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "m.db"
    out = run_import(db, capsys, "claude-ai", str(FIXTURES / "claude_ai/conversations.json"), "--no-summaries")
    assert "conversations.json[3]: a conversation without uuid" in out
    assert "conversations.json[2].chat_messages[3]: no usable created_at: missing" in out
    out = run_import(db, capsys, "chatgpt", str(FIXTURES / "chatgpt/conversations.json"), "--no-summaries")
    assert "conversations.json[3]: a conversation without id or without a mapping object" in out
    projects = rows(db, "SELECT id FROM threads WHERE title = 'Imported' AND thread_type = 'project'")
    assert len(projects) == 1
    under = {t for (t,) in rows(db, "SELECT title FROM threads WHERE parent_id = ?", projects[0][0])}
    assert under == {
        "Sourdough starter rescue",
        "Trip to Porto: budget",
        "Bike chain keeps slipping",
        "Python dedupe by key",
    }
    texts = [c for (c,) in rows(db, "SELECT content FROM messages ORDER BY created_at")]
    assert not any("first draft, regenerated" in t for t in texts)  # only the branch ChatGPT showed
    assert "[image]\nThis is the small cog, worn?" in texts
    assert "```\nlist({d['id']: d for d in rows}.values())\n```" in texts
    assert any(t.endswith("[attachment: starter.txt]") for t in texts)
    assert not any("search_results" in t for t in texts)


def test_generic_jsonl_reports_bad_lines_and_builds_the_hierarchy(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "m.db"
    out = run_import(db, capsys, "jsonl", str(FIXTURES / "generic/history.jsonl"), "--no-summaries")
    for line, reason in [
        (5, "content must be non-empty text"),
        (6, "created_at: missing"),
        (7, "role 'gardener' is not one of agent, assistant, system, user"),
        (8, "not JSON"),
        (9, "created_at: time '2024-05-03T18:06:00' has no time zone"),
    ]:
        assert f"history.jsonl:{line}: {reason}" in out
    (garden,) = rows(db, "SELECT id FROM threads WHERE title = 'Garden' AND thread_type = 'project'")
    assert rows(db, "SELECT thread_type FROM threads WHERE title = 'Drip irrigation' AND parent_id = ?", garden[0]) == [
        ("task",)
    ]
    assert rows(db, "SELECT metadata FROM messages WHERE content LIKE 'The timer valve%'") == [('{"author": "Luc"}',)]


async def test_a_crash_leaves_whole_threads_and_a_rerun_resumes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = await SqliteStore.open(tmp_path / "m.db")
    monkeypatch.setattr(runner, "BATCH_MESSAGES", 1)  # one thread a transaction

    class CrashOnThird:
        calls = 0

        async def import_threads(self, batch: list[ImportedThread]) -> ImportCounts:
            self.calls += 1
            if self.calls == 3:
                raise MainloopError("disk went away")
            return await store.import_threads(batch)

        async def import_source(self, source_key: str) -> tuple[str, int] | None:
            return await store.import_source(source_key)

    with pytest.raises(MainloopError):
        await write_threads(
            CrashOnThird(),
            source_items("claude-code", [CLAUDE_CODE], ImportReport().tally),
            Progress(enabled=False),
            ImportReport(),
        )
    tasks = rows(tmp_path / "m.db", "SELECT id FROM threads WHERE thread_type = 'task'")
    for (task,) in tasks:  # every task thread that exists holds its whole session
        assert rows(tmp_path / "m.db", "SELECT count(*) FROM messages WHERE thread_id = ?", task)[0][0] >= 2
    report = ImportReport()
    await write_threads(
        store, source_items("claude-code", [CLAUDE_CODE], report.tally), Progress(enabled=False), report
    )
    assert report.counts.duplicates > 0 and report.counts.messages_added > 0
    assert rows(tmp_path / "m.db", "SELECT count(*) FROM threads WHERE thread_type = 'task'") == [(4,)]
    await store.close()


async def test_bulk_import_marks_summaries_stale_and_indexes_for_search(tmp_path: Path) -> None:
    store = await SqliteStore.open(tmp_path / "m.db")
    project = await store.create_thread(NewThread(thread_type=ThreadType.PROJECT, title="Garden"))
    day = datetime(2024, 4, 2, tzinfo=UTC)
    await store.append_messages([NewMessage(thread_id=project.id, content="seed order", created_at=day)])
    (summary,) = await store.put_summaries(
        [
            NewSummary(
                thread_id=project.id,
                granularity=Granularity.DAY,
                period_start=day,
                period_end=datetime(2024, 4, 3, tzinfo=UTC),
                content="seed order placed",
                source_message_count=1,
                token_count=3,
                summariser="test",
            )
        ]
    )
    assert not summary.stale
    report = ImportReport()
    items = source_items("jsonl", [FIXTURES / "generic/history.jsonl"], report.tally)
    await write_threads(store, items, Progress(enabled=False), report)
    (after,) = await store.get_summaries(project.id, Granularity.DAY, day, datetime(2024, 4, 3, tzinfo=UTC))
    assert not after.stale  # the import made its own "Garden" project: this one got nothing
    imported = report.counts.thread_ids["jsonl:project:Garden"]
    await store.put_summaries(
        [
            NewSummary(
                thread_id=imported,
                granularity=Granularity.DAY,
                period_start=day,
                period_end=datetime(2024, 4, 3, tzinfo=UTC),
                content="drip line",
                source_message_count=2,
                token_count=2,
                summariser="test",
            )
        ]
    )
    late = tmp_path / "late.jsonl"
    late.write_text(
        '{"id": "late-1", "thread": "Garden", "content": "also buy PTFE tape", "created_at": "2024-04-02T12:00:00Z"}\n'
    )
    await write_threads(store, source_items("jsonl", [late], report.tally), Progress(enabled=False), ImportReport())
    (stale,) = await store.get_summaries(imported, Granularity.DAY, day, datetime(2024, 4, 3, tzinfo=UTC))
    assert stale.stale
    hits = await store.search_text(parse("PTFE"))
    assert len(hits) == 2 and imported in {h.thread_id for h in hits}  # the drip-irrigation task says PTFE too
    await store.close()
