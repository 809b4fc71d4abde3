"""`mainloop migrate`: sqlite -> bigquery -> sqlite keeps every thread, message, summary and agent run, verifiably."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import anyio
import pytest

from mainloop_mcp.agents.reports import run_posts
from mainloop_mcp.cli import main
from mainloop_mcp.model import (
    Granularity,
    NewAgentRun,
    NewMessage,
    NewSummary,
    NewThread,
    Order,
    Role,
    RunStatus,
    ThreadFilter,
    ThreadType,
)
from mainloop_mcp.store import open_store
from mainloop_mcp.store.base import AgentRunStore, SummaryStore
from tests.bq_emulator import Emulator
from tests.conftest import FakeClock, sqlite_url


async def seed(url: str) -> dict[str, list[str]]:
    """A small history with every feature a copy could lose; returns contents per thread, oldest first."""
    clock = FakeClock()
    store = await open_store(url, clock=clock)
    try:
        main_id = (await store.main_thread()).id
        garden = await store.create_thread(
            NewThread(thread_type=ThreadType.PROJECT, title="Garden", thread_context="g")
        )
        task = await store.create_thread(NewThread(thread_type=ThreadType.TASK, title="Dig", parent_id=garden.id))
        old = await store.create_thread(NewThread(thread_type=ThreadType.PROJECT, title="Old"))
        await store.archive_thread(old.id)
        await store.post_message(
            NewMessage(thread_id=main_id, content="hello ✓ 你好", metadata={"a": [1, {"b": None}]})
        )
        for i in range(3):  # same instant: post order must survive
            await store.post_message(NewMessage(thread_id=garden.id, content=f"same-{i}", idempotency_key=f"k{i}"))
        clock.advance(days=40)
        await store.post_message(NewMessage(thread_id=task.id, role=Role.AGENT, content="done"))
        await store.append_messages(
            [
                NewMessage(thread_id=garden.id, content=f"old-{i}", created_at=clock.now - timedelta(days=400 - i))
                for i in range(3)
            ]
        )
        assert isinstance(store, AgentRunStore) and isinstance(store, SummaryStore)
        run = await store.create_run(
            NewAgentRun(
                parent_thread_id=garden.id, title="Agent", prompt="dig", work_folder="/w", runner="local", owner="o"
            )
        )
        await store.finish_run(run.id, RunStatus.SUCCEEDED, result="dug", posts=run_posts)
        await store.create_run(  # still queued: copied as it is
            NewAgentRun(
                parent_thread_id=garden.id, title="Later", prompt="rake", work_folder="/w", runner="k8s", owner="o"
            )
        )
        day = clock.now.replace(hour=0, minute=0, second=0, microsecond=0)
        await store.put_summaries(
            [
                NewSummary(
                    thread_id=garden.id,
                    granularity=Granularity.DAY,
                    period_start=day - timedelta(days=d),
                    period_end=day - timedelta(days=d - 1),
                    content=f"summary ✓ {d}",
                    source_message_count=1 if d == 0 else 5,  # the second is stored stale
                    token_count=3,
                    summariser="test",
                )
                for d in (0, 1)
            ]
        )
        result = {}
        for thread_id in (main_id, garden.id, task.id, old.id, run.thread_id):
            page = await store.read_messages(thread_id, order=Order.OLDEST, limit=100)
            result[thread_id] = [m.content for m in page.messages]
        return result
    finally:
        await store.close()


def migrate(source: str, target: str, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    code = main(["migrate", "--from", source, "--to", target])
    return code, capsys.readouterr().out


def sums(out: str) -> list[str]:
    return re.findall(r": (\d+ threads .*agent runs \(sha256 sum \w+\))", out)


def test_round_trip_sqlite_bigquery_sqlite(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    first = sqlite_url(tmp_path / "a")
    expected = anyio.run(seed, first)
    bq = Emulator.shared().url()
    back = sqlite_url(tmp_path / "b")

    code, out = migrate(first, bq, capsys)
    assert code == 0, out
    # main replaces the target's own empty main; two runs bring two task threads and four messages
    assert "copied 6 threads and 12 messages, 2 summaries and 2 agent runs" in out
    source_sum, target_sum = sums(out)
    assert source_sum == target_sum
    assert source_sum.startswith("6 threads") and ", 12 messages" in source_sum and ", 2 agent runs" in source_sum

    code, out = migrate(bq, back, capsys)
    assert code == 0, out
    assert sums(out) == [source_sum, source_sum]

    async def check() -> None:
        store = await open_store(back)
        try:
            for thread_id, contents in expected.items():
                page = await store.read_messages(thread_id, order=Order.OLDEST, limit=100)
                assert [m.content for m in page.messages] == contents
            archived = await store.list_threads(ThreadFilter(status=None))
            assert len(archived.threads) == 6
            assert isinstance(store, AgentRunStore) and isinstance(store, SummaryStore)
            runs = (await store.list_runs()).runs
            assert [(r.title, r.status, r.result) for r in runs] == [
                ("Later", RunStatus.QUEUED, None),
                ("Agent", RunStatus.SUCCEEDED, "dug"),
            ]
            garden = next(t for t in archived.threads if t.title == "Garden")
            replay = await store.post_message(NewMessage(thread_id=garden.id, content="same-1", idempotency_key="k1"))
            assert replay.content == "same-1"
            assert len((await store.read_messages(garden.id, limit=100)).messages) == 7  # 6 + the outcome line
        finally:
            await store.close()

    anyio.run(check)


def test_second_run_copies_nothing_and_still_verifies(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    source = sqlite_url(tmp_path / "a")
    anyio.run(seed, source)
    target = sqlite_url(tmp_path / "b")
    assert migrate(source, target, capsys)[0] == 0
    code, out = migrate(source, target, capsys)
    assert code == 0, out
    assert "copied 0 threads and 0 messages, 0 summaries and 0 agent runs" in out
    assert "verified" in out


def test_target_with_its_own_history_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    source, target = sqlite_url(tmp_path / "a"), sqlite_url(tmp_path / "b")
    anyio.run(seed, source)
    anyio.run(seed, target)
    code = main(["migrate", "--from", source, "--to", target])
    assert code == 2
    assert "already has its own main thread" in capsys.readouterr().err


def test_missing_sqlite_source_is_a_clear_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["migrate", "--from", sqlite_url(tmp_path / "nope"), "--to", sqlite_url(tmp_path / "b")])
    assert code == 2
    assert "does not exist" in capsys.readouterr().err
    assert not (tmp_path / "nope").exists()
