"""Copy every thread, message, summary and agent run from one store to another, keeping ids and times,
and prove it.

Each backend gets a small adapter that reads rows in post order and writes them as they are
(no new ids, no clock). A checksum over canonical rows that does not depend on row order is
computed on both sides, so `mainloop migrate` can print matching figures or say what differs.
Copying is resumable: rows whose id is already in the target are skipped. Summaries are copied
after every message (a message landing in a summarised period would mark the summary stale) with
their stale flag as it was; summaries and runs are read whole, since there are far fewer of them.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

from mainloop_mcp.errors import Conflict
from mainloop_mcp.model import AgentRun, Message, Summary, Thread, ThreadType
from mainloop_mcp.store.base import Store
from mainloop_mcp.store.paging import pages_after
from mainloop_mcp.store.records import AGENT_RUNS, MESSAGES, SUMMARIES, THREADS, Record
from mainloop_mcp.store.sqlite.store import SqliteStore

PAGE = 2000
M = TypeVar("M", Thread, Message, Summary, AgentRun)
TYPE_ORDER = {ThreadType.MAIN: 0, ThreadType.PROJECT: 1, ThreadType.TASK: 2}


class Side(Protocol):
    """What `copy_store` needs from a backend."""

    async def threads(self) -> list[Thread]: ...

    def messages(self) -> AsyncIterator[list[Message]]:
        """Every message in post order (created_at, then insertion order), a page at a time."""
        ...

    async def message_ids(self, ids: list[str]) -> set[str]: ...

    async def put_threads(self, threads: list[Thread]) -> None: ...

    async def put_messages(self, messages: list[Message]) -> None: ...

    async def summaries(self) -> list[Summary]: ...

    async def runs(self) -> list[AgentRun]: ...

    async def put_summaries(self, summaries: list[Summary]) -> None:
        """Insert summaries as they are; ids the target already holds are skipped."""
        ...

    async def put_runs(self, runs: list[AgentRun]) -> None:
        """Insert agent runs as they are; ids the target already holds are skipped."""
        ...

    async def drop_empty_main(self, main_id: str) -> None:
        """Remove this store's main thread if it has no messages and no children (a fresh store's)."""
        ...


@dataclass
class Tally:
    """Counts and order-independent sha256 sums of canonical rows."""

    threads: int = 0
    messages: int = 0
    thread_sum: int = 0
    message_sum: int = 0
    summaries: int = 0
    runs: int = 0
    summary_sum: int = 0
    run_sum: int = 0

    def add_thread(self, t: Thread) -> None:
        self.threads += 1
        self.thread_sum = (self.thread_sum + _digest(THREADS.values(t))) % 2**256

    def add_message(self, m: Message) -> None:
        self.messages += 1
        self.message_sum = (self.message_sum + _digest(MESSAGES.values(m))) % 2**256

    def add_summary(self, s: Summary) -> None:
        self.summaries += 1
        self.summary_sum = (self.summary_sum + _digest(SUMMARIES.values(s))) % 2**256

    def add_run(self, r: AgentRun) -> None:
        self.runs += 1
        self.run_sum = (self.run_sum + _digest(AGENT_RUNS.values(r))) % 2**256

    def line(self) -> str:
        return (
            f"{self.threads} threads (sha256 sum {self.thread_sum:064x}), "
            f"{self.messages} messages (sha256 sum {self.message_sum:064x}), "
            f"{self.summaries} summaries (sha256 sum {self.summary_sum:064x}), "
            f"{self.runs} agent runs (sha256 sum {self.run_sum:064x})"
        )

    def same_as(self, other: Tally) -> bool:
        return self == other


def _digest(row: tuple[Any, ...]) -> int:
    """A row as stored (store/records.py), canonical JSON, sha256."""
    text = json.dumps(row, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return int.from_bytes(hashlib.sha256(text.encode()).digest(), "big")


async def tally(side: Side) -> Tally:
    result = Tally()
    for t in await side.threads():
        result.add_thread(t)
    async for page in side.messages():
        for m in page:
            result.add_message(m)
    for s in await side.summaries():
        result.add_summary(s)
    for r in await side.runs():
        result.add_run(r)
    return result


def side_of(store: Store) -> Side:
    if isinstance(store, SqliteStore):
        return SqliteSide(store)
    from mainloop_mcp.store.bigquery.store import BigQueryStore
    from mainloop_mcp.store.bigquery.transfer import BigQuerySide

    if isinstance(store, BigQueryStore):
        return BigQuerySide(store)
    raise TypeError(f"no transfer adapter for {type(store).__name__}")


@dataclass
class Copied:
    threads: int = 0
    messages: int = 0
    summaries: int = 0
    runs: int = 0

    def line(self) -> str:
        return (
            f"copied {self.threads} threads and {self.messages} messages, "
            f"{self.summaries} summaries and {self.runs} agent runs"
        )


async def copy_store(source: Store, target: Store) -> Copied:
    """Copy what the target lacks; returns how many rows of each kind were copied."""
    src, dst = side_of(source), side_of(target)
    source_main, target_main = await source.main_thread(), await target.main_thread()
    if source_main.id != target_main.id:
        await dst.drop_empty_main(target_main.id)
    have = {t.id for t in await dst.threads()}
    threads = sorted(await src.threads(), key=lambda t: (TYPE_ORDER[t.thread_type], t.created_at, t.id))
    new_threads = [t for t in threads if t.id not in have]
    await dst.put_threads(new_threads)
    copied = Copied(threads=len(new_threads))
    async for page in src.messages():
        present = await dst.message_ids([m.id for m in page])
        fresh = [m for m in page if m.id not in present]
        if fresh:
            await dst.put_messages(fresh)
            copied.messages += len(fresh)
    have_summaries = {s.id for s in await dst.summaries()}
    summaries = [s for s in await src.summaries() if s.id not in have_summaries]
    if summaries:
        await dst.put_summaries(summaries)
    have_runs = {r.id for r in await dst.runs()}
    runs = [r for r in await src.runs() if r.id not in have_runs]
    if runs:
        await dst.put_runs(runs)
    copied.summaries, copied.runs = len(summaries), len(runs)
    return copied


class SqliteSide:
    def __init__(self, store: SqliteStore) -> None:
        self.store = store

    async def _all(self, record: Record[M]) -> list[M]:
        rows = await self.store.run(lambda c: c.execute(f"SELECT * FROM {record.table}").fetchall())
        return [record.from_row(r) for r in rows]

    async def _put(self, record: Record[M], items: list[M]) -> None:
        sql, values = record.insert_sql(), [record.values(item) for item in items]
        await self.store.run(lambda c: c.executemany(sql, values))

    async def threads(self) -> list[Thread]:
        return await self._all(THREADS)

    async def messages(self) -> AsyncIterator[list[Message]]:
        async def page(after: tuple[int, int] | None) -> list[sqlite3.Row]:
            sql = "SELECT * FROM messages WHERE (created_at, seq) > (?, ?) ORDER BY created_at, seq LIMIT ?"
            return await self.store.run(lambda c: c.execute(sql, (*(after or (-(2**62), -1)), PAGE)).fetchall())

        async for rows in pages_after(page, lambda r: (r["created_at"], r["seq"])):
            yield [MESSAGES.from_row(r) for r in rows]

    async def message_ids(self, ids: list[str]) -> set[str]:
        marks = ",".join("?" * len(ids))
        rows = await self.store.run(
            lambda c: c.execute(f"SELECT id FROM messages WHERE id IN ({marks})", ids).fetchall()
        )
        return {r["id"] for r in rows}

    async def put_threads(self, threads: list[Thread]) -> None:
        await self._put(THREADS, threads)

    async def put_messages(self, messages: list[Message]) -> None:
        await self._put(MESSAGES, messages)

    async def summaries(self) -> list[Summary]:
        return await self._all(SUMMARIES)

    async def runs(self) -> list[AgentRun]:
        return await self._all(AGENT_RUNS)

    async def put_summaries(self, summaries: list[Summary]) -> None:
        await self._put(SUMMARIES, summaries)

    async def put_runs(self, runs: list[AgentRun]) -> None:
        await self._put(AGENT_RUNS, runs)

    async def drop_empty_main(self, main_id: str) -> None:
        def drop(c: sqlite3.Connection) -> None:
            used = c.execute(
                "SELECT (SELECT COUNT(*) FROM messages WHERE thread_id = ?) + (SELECT COUNT(*) FROM threads"
                " WHERE parent_id = ?)",
                (main_id, main_id),
            ).fetchone()[0]
            if used:
                raise Conflict(
                    f"the target already has its own main thread {main_id} with messages or children; "
                    "migrate into an empty store"
                )
            c.execute("DELETE FROM threads WHERE id = ?", (main_id,))

        await self.store.run(drop)
