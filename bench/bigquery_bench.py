"""BigQuery store against the local emulator: latency per operation and BigQuery jobs per operation.

    .venv/bin/python bench/bigquery_bench.py [--messages 2000]

What this measures: the store's code path end to end (client library, HTTP to 127.0.0.1, the
emulator's SQL translation and DuckDB) and how many BigQuery jobs each operation starts. What it
does not: real BigQuery latency (job scheduling alone is ~0.3-1 s per statement there, DML more)
or cost (the emulator bills nothing and does not prune partitions or clustered blocks). The job
counts are the transferable figure: on real BigQuery, latency is roughly jobs x per-job latency.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import anyio

from mainloop_mcp.agents.reports import run_posts

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the emulator launcher lives in tests/

from mainloop_mcp.model import (
    AgentRun,
    Granularity,
    NewAgentRun,
    NewMessage,
    NewSummary,
    NewThread,
    RunStatus,
    ThreadFilter,
    ThreadType,
)
from mainloop_mcp.search.query import parse
from mainloop_mcp.store import open_store
from mainloop_mcp.store.bigquery.store import BigQueryStore
from mainloop_mcp.store.imports import ImportedMessage, ImportedThread
from mainloop_mcp.store.timestamps import to_micros
from mainloop_mcp.store.transfer import copy_store, side_of, tally
from tests.bq_emulator import Emulator


class JobCounter:
    """Counts the BigQuery calls a store makes (wraps the store's client, not the library)."""

    def __init__(self, store: BigQueryStore) -> None:
        self.jobs = 0
        original = store.bq.call

        async def counted(fn: Callable[[Any], Any]) -> Any:
            self.jobs += 1
            return await original(fn)

        store.bq.call = counted  # type: ignore[method-assign]


async def timed(label: str, counter: JobCounter, repeat: int, fn: Callable[[int], Awaitable[object]]) -> None:
    samples, jobs_before = [], counter.jobs
    for i in range(repeat):
        start = time.perf_counter()
        await fn(i)
        samples.append((time.perf_counter() - start) * 1000)
    samples.sort()
    p95 = samples[min(len(samples) - 1, int(len(samples) * 0.95))]
    jobs = (counter.jobs - jobs_before) / repeat
    print(f"{label:<38} p50 {statistics.median(samples):7.1f} ms  p95 {p95:7.1f} ms  jobs/op {jobs:4.1f}  n={repeat}")


async def main(messages: int) -> None:
    emulator = Emulator.shared()
    try:
        start = time.perf_counter()
        store = await open_store(emulator.url())
        assert isinstance(store, BigQueryStore)
        print(f"open (dataset + 4 tables + main thread)  {(time.perf_counter() - start) * 1000:7.1f} ms")
        counter = JobCounter(store)
        project = (await store.create_thread(NewThread(thread_type=ThreadType.PROJECT, title="bench"))).id
        await timed(
            "create_thread",
            counter,
            10,
            lambda i: store.create_thread(NewThread(thread_type=ThreadType.TASK, title=f"t{i}", parent_id=project)),
        )
        await timed(
            "post_message",
            counter,
            30,
            lambda i: store.post_message(NewMessage(thread_id=project, content=f"message {i} about kubernetes")),
        )
        await timed(
            "post_message replay (same key)",
            counter,
            10,
            lambda i: store.post_message(NewMessage(thread_id=project, content="once", idempotency_key="same")),
        )
        base = datetime.now(UTC) - timedelta(days=365)
        batch_size = 500
        start = time.perf_counter()
        for b in range(messages // batch_size):
            await store.append_messages(
                [
                    NewMessage(
                        thread_id=project,
                        content=f"history {b}-{i} lorem ipsum kubernetes",
                        created_at=base + timedelta(minutes=b * batch_size + i),
                    )
                    for i in range(batch_size)
                ]
            )
        elapsed = time.perf_counter() - start
        print(f"append_messages x{batch_size} batches         {messages / elapsed:7.0f} msg/s  ({messages} messages)")
        await timed("read_messages newest 50", counter, 20, lambda i: store.read_messages(project, limit=50))
        await timed(
            "read_messages last 24 h",
            counter,
            20,
            lambda i: store.read_messages(project, since=datetime.now(UTC) - timedelta(days=1)),
        )
        await timed("list_threads", counter, 20, lambda i: store.list_threads(ThreadFilter()))
        await timed(
            "search_text (like path), 2 terms",
            counter,
            10,
            lambda i: store.search_text(parse("kubernetes lorem"), limit=20),
        )
        await bench_memory(store, counter, project, base)
        await bench_runs(store, counter, project)
        await store.close()
        await bench_migrate(emulator, messages)
        await bench_import(emulator, messages)
        await bench_vectors(emulator, min(messages, 2000))
    finally:
        Emulator.stop_shared()


async def bench_memory(store: BigQueryStore, counter: JobCounter, project: str, base: datetime) -> None:
    """The SummaryStore side: what the pyramid calls while assembling a context."""
    day = base.replace(hour=0, minute=0, second=0, microsecond=0)

    def week(i: int) -> list[NewSummary]:
        return [
            NewSummary(
                thread_id=project,
                granularity=Granularity.DAY,
                period_start=day + timedelta(days=7 * i + d),
                period_end=day + timedelta(days=7 * i + d + 1),
                content=f"day {d} of week {i}: lorem ipsum kubernetes",
                source_message_count=0,
                token_count=10,
                summariser="bench",
            )
            for d in range(7)
        ]

    await timed("put_summaries (7 days)", counter, 10, lambda i: store.put_summaries(week(i)))
    await timed(
        "get_summaries (a month of days)",
        counter,
        20,
        lambda i: store.get_summaries(project, Granularity.DAY, day, day + timedelta(days=31)),
    )
    ranges = [(day + timedelta(days=d), day + timedelta(days=d + 1)) for d in range(30)]
    await timed("count_messages (30 ranges)", counter, 20, lambda i: store.count_messages(project, ranges))
    await timed("message_span", counter, 20, lambda i: store.message_span(project))


async def bench_runs(store: BigQueryStore, counter: JobCounter, project: str) -> None:
    """The AgentRunStore side: one run's life, then a restart's interrupt pass."""
    made: list[AgentRun] = []

    async def create(i: int) -> None:
        made.append(
            await store.create_run(
                NewAgentRun(
                    parent_thread_id=project, title=f"r{i}", prompt="work", work_folder="/w", runner="local", owner="x"
                )
            )
        )

    await timed("create_run", counter, 10, create)
    await timed("start_run", counter, 5, lambda i: store.start_run(made[i].id, external_id=f"job-{i}"))
    await timed(
        "finish_run",
        counter,
        5,
        lambda i: store.finish_run(made[i].id, RunStatus.SUCCEEDED, result="ok", posts=run_posts),
    )
    await timed(
        "finish_run again (already finished)",
        counter,
        5,
        lambda i: store.finish_run(made[i].id, RunStatus.FAILED, posts=run_posts),
    )
    await timed("get_run", counter, 10, lambda i: store.get_run(made[i].id))
    await timed("list_runs", counter, 10, lambda i: store.list_runs(limit=20))
    await timed(
        "interrupt_unfinished (5 runs)",
        counter,
        1,
        lambda i: store.interrupt_unfinished("bench", lambda o: True, posts=run_posts),
    )


async def bench_migrate(emulator: Emulator, messages: int) -> None:
    """sqlite -> bigquery with `copy_store` (what `mainloop migrate` runs), then the checksum pass."""
    with tempfile.TemporaryDirectory() as tmp:
        source = await open_store(f"sqlite:///{tmp}/bench.db")
        project = (await source.create_thread(NewThread(thread_type=ThreadType.PROJECT, title="p"))).id
        base = datetime.now(UTC) - timedelta(days=365)
        await source.append_messages(
            [
                NewMessage(thread_id=project, content=f"m{i}", created_at=base + timedelta(hours=i))
                for i in range(messages)
            ]
        )
        target = await open_store(emulator.url())
        start = time.perf_counter()
        await copy_store(source, target)
        copied = time.perf_counter() - start
        start = time.perf_counter()
        same = (await tally(side_of(source))).same_as(await tally(side_of(target)))
        verified = time.perf_counter() - start
        print(f"{'migrate sqlite->bigquery':<39} {messages / copied:7.0f} msg/s  verify {verified:.2f} s  same={same}")
        await source.close()
        await target.close()


async def bench_import(emulator: Emulator, messages: int) -> None:
    """`mainloop import` into BigQuery (store/bigquery/bulk_import.py): jobs per 1,000 messages, beside
    migrating the same messages from SQLite (the path imports took before)."""
    store = await open_store(emulator.url())
    assert isinstance(store, BigQueryStore)
    counter = JobCounter(store)
    base = to_micros(datetime.now(UTC) - timedelta(days=365))
    sources = [
        ImportedThread(
            source_key=f"bench:{t}",
            title=f"session {t}",
            thread_type=ThreadType.PROJECT,
            messages=[
                ImportedMessage(f"bench:{t}:{i}", "user", f"short message {i} about tomatoes", base + i * 1_000_000)
                for i in range(messages // 10)
            ],
        )
        for t in range(10)
    ]
    start = time.perf_counter()
    counts = await store.import_threads(sources)
    took = time.perf_counter() - start
    print(
        f"{'import (one batch, 10 threads)':<39} {counts.messages_added / took:7.0f} msg/s  "
        f"jobs {counter.jobs}  = {1000 * counter.jobs / messages:.2f} per 1,000 messages"
    )
    await store.close()


async def bench_vectors(emulator: Emulator, messages: int) -> None:
    """Semantic search on BigQuery (store/bigquery/vectors.py, the exact-cosine SQL the emulator runs):
    storing vectors and one nearest query, latency and jobs. Random unit vectors: this times the SQL,
    it says nothing about recall (bench/semantic_recall.py does, on real turns)."""
    import numpy as np

    store = await open_store(emulator.url())
    assert isinstance(store, BigQueryStore)
    counter = JobCounter(store)
    project = (await store.create_thread(NewThread(thread_type=ThreadType.PROJECT, title="v"))).id
    await store.append_messages([NewMessage(thread_id=project, content=f"m{i}") for i in range(messages)])
    vectors = store.vectors("bench", 384)
    rng = np.random.default_rng(1)
    start, jobs = time.perf_counter(), counter.jobs
    while batch := await vectors.pending(256):
        unit = rng.standard_normal((len(batch), 384)).astype(np.float32)
        await vectors.put([key for key, _ in batch], unit / np.linalg.norm(unit, axis=1, keepdims=True))
    stored = time.perf_counter() - start
    print(f"{'vectors stored (256 a batch)':<39} {messages / stored:7.0f} msg/s  jobs {counter.jobs - jobs}")
    query = rng.standard_normal(384).astype(np.float32)
    await timed(f"nearest 10 of {messages} (exact cosine SQL)", counter, 5, lambda i: vectors.nearest(query, limit=10))
    await store.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=2000)
    anyio.run(main, parser.parse_args().messages)
