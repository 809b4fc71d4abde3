"""BigQuery's change poll against the emulator: other clients' writes become changes, each reported once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from mainloop_mcp.agents.reports import run_posts
from mainloop_mcp.model import Granularity, NewAgentRun, NewMessage, NewSummary, NewThread, Role, RunStatus, ThreadType
from mainloop_mcp.store.base import memory_store
from mainloop_mcp.store.bigquery.changes import BigQueryChangeLog
from mainloop_mcp.store.bigquery.store import BigQueryStore
from tests.bq_emulator import Emulator

pytestmark = pytest.mark.anyio


async def test_poll_reports_posts_new_threads_and_agent_runs_once() -> None:
    store = await BigQueryStore.open(Emulator.shared().url())
    try:
        log = BigQueryChangeLog(store.bq, every=0)
        assert await log.latest(100) == []  # what existed before is not news
        main = await store.main_thread()
        project = await store.create_thread(NewThread(thread_type=ThreadType.PROJECT, title="polled"))
        await store.post_message(NewMessage(thread_id=main.id, role=Role.USER, content="seen by the poll"))
        changes = await log.changes_after(0, 1000)
        assert changes is not None
        uris = [c.uri for c in changes]
        assert f"thread://{main.id}" in uris and f"thread://{project.id}" in uris
        assert "threads://active" in uris
        assert await log.changes_after(changes[-1].seq, 1000) == []  # nothing twice
        run = await store.create_run(
            NewAgentRun(title="t", prompt="p", parent_thread_id=main.id, work_folder="/tmp", runner="local", owner="o")
        )
        await store.finish_run(run.id, RunStatus.SUCCEEDED, result="done", posts=run_posts)
        later = await log.changes_after(changes[-1].seq, 1000)
        assert later is not None
        assert f"agent://{run.id}" in [c.uri for c in later] and "agents://recent" in [c.uri for c in later]
        assert [c.seq for c in later] == list(range(changes[-1].seq + 1, changes[-1].seq + 1 + len(later)))
        day = datetime(2026, 1, 5, tzinfo=UTC)
        summary = NewSummary(
            thread_id=project.id,
            granularity=Granularity.DAY,
            period_start=day,
            period_end=day + timedelta(days=1),
            content="a built summary",
            source_message_count=1,
            token_count=3,
            summariser="test",
        )
        await memory_store(store).put_summaries([summary])
        built = await log.changes_after(later[-1].seq, 1000)
        assert built is not None and [c.uri for c in built] == [f"memory://{project.id}"]
    finally:
        await store.close()
