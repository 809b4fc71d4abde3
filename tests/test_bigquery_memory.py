"""BigQuery-only behaviour of summaries and agent runs: what SQLite gets from triggers and transactions.
The shared rules run in test_memory_store_contract.py and test_agent_runs_store.py on the same emulator."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from google.api_core.client_options import ClientOptions
from google.auth.credentials import AnonymousCredentials
from google.cloud import bigquery

from mainloop_mcp.model import Granularity, NewAgentRun, NewMessage, NewSummary, NewThread, ThreadType
from mainloop_mcp.store import open_store
from mainloop_mcp.store.bigquery.schema import table_specs
from mainloop_mcp.store.bigquery.store import BigQueryStore
from tests.bq_emulator import PROJECT, Emulator
from tests.conftest import FakeClock

pytestmark = pytest.mark.anyio

DAY = datetime(2026, 11, 20, tzinfo=UTC)


@pytest.fixture
async def bq_store(clock: FakeClock) -> AsyncIterator[BigQueryStore]:
    store = await open_store(Emulator.shared().url(), clock=clock)
    assert isinstance(store, BigQueryStore)
    try:
        yield store
    finally:
        await store.close()


async def test_a_summary_stored_while_a_message_raced_it_comes_out_stale(
    bq_store: BigQueryStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The message commits after the summary MERGE read the period and its own stale UPDATE ran before
    the summary existed, so neither statement saw the other: the read after the MERGE must catch it."""
    t = (await bq_store.create_thread(NewThread(thread_type=ThreadType.PROJECT, title="p"))).id
    await bq_store.post_message(NewMessage(thread_id=t, content="one", created_at=DAY + timedelta(hours=1)))
    summaries = bq_store.bq.target.table("summaries")
    real_dml = bq_store.bq.dml

    async def dml(sql: str, params: list[Any] | None = None) -> int:
        changed = await real_dml(sql, params)
        if sql.startswith(f"MERGE {summaries}"):
            raced = bq_store._fill(NewMessage(thread_id=t, content="raced", created_at=DAY + timedelta(hours=2)))
            await bq_store.insert_messages([raced])
        return changed

    monkeypatch.setattr(bq_store.bq, "dml", dml)
    new = NewSummary(
        thread_id=t,
        granularity=Granularity.DAY,
        period_start=DAY,
        period_end=DAY + timedelta(days=1),
        content="one message",
        source_message_count=1,
        token_count=2,
        summariser="test",
    )
    (stored,) = await bq_store.put_summaries([new])
    assert stored.stale
    assert [s.stale for s in await bq_store.get_summaries(t, Granularity.DAY, DAY, DAY + timedelta(days=1))] == [True]


async def test_a_dataset_from_an_older_mainloop_gets_the_new_columns_at_start(clock: FakeClock) -> None:
    emulator = Emulator.shared()
    url = emulator.url()
    dataset = url.split("/")[3].split("?")[0]
    client = bigquery.Client(
        project=PROJECT,
        credentials=AnonymousCredentials(),  # type: ignore[no-untyped-call]
        client_options=ClientOptions(api_endpoint=emulator.endpoint),
    )
    try:
        client.create_dataset(f"{PROJECT}.{dataset}", timeout=10)
        schema, _, _ = table_specs()["agent_runs"]
        old = [f for f in schema if f.name not in ("owner", "finish_token")]
        client.create_table(bigquery.Table(f"{PROJECT}.{dataset}.agent_runs", schema=old), timeout=10)
        store = await open_store(url, clock=clock)
        try:
            assert isinstance(store, BigQueryStore)
            # The emulator's table metadata doesn't show columns added by ALTER TABLE (real BigQuery's
            # does), so the proof is that the store can write and read them.
            parent = (await store.create_thread(NewThread(thread_type=ThreadType.PROJECT, title="p"))).id
            run = await store.create_run(
                NewAgentRun(parent_thread_id=parent, title="t", prompt="p", work_folder="/w", runner="local", owner="o")
            )
            assert (await store.get_run(run.id)).owner == "o"
        finally:
            await store.close()
        reopened = await open_store(url, clock=clock)  # ADD COLUMN IF NOT EXISTS: starting again is harmless
        await reopened.close()
    finally:
        client.close()  # type: ignore[no-untyped-call]
