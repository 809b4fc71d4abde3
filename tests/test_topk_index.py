"""The top-k index beside a SQLite store (store/sqlite/topk.py): it ranks as FTS5 does, never answers
with rows the file no longer holds as they were, and a redaction takes the old words off the disk.

`min_rows` is 0 here, so a store of a few messages is "big"; test_search_semantics.py runs the
search semantics through this index too.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest

from mainloop_mcp.model import NewMessage, NewThread, ThreadType
from mainloop_mcp.search.query import parse
from mainloop_mcp.store.sqlite import topk
from mainloop_mcp.store.sqlite.search import Filters
from mainloop_mcp.store.sqlite.store import SqliteStore
from tests.conftest import FakeClock

pytestmark = pytest.mark.anyio

LINES = [
    "The irrigation pump seal leaks again.",
    "We ordered a new seal from GreenCo.",
    "The shed door squeaks in the wind.",
    "Compost heap turned on Saturday.",
    "The pump hums when the valve is half open.",
    "Tomatoes need staking before the storm.",
    "The gate code is xylophonist4711.",
]


@pytest.fixture
async def store(tmp_path: Path, clock: FakeClock) -> AsyncIterator[SqliteStore]:
    s = await SqliteStore.open(tmp_path / "hub.db", clock=clock)
    assert s.topk
    s.topk.min_rows = 0
    try:
        yield s
    finally:
        await s.close()


async def fill(store: SqliteStore, lines: list[str]) -> str:
    thread = await store.create_thread(NewThread(thread_type=ThreadType.PROJECT, title="Garden"))
    await store.append_messages([NewMessage(thread_id=thread.id, content=line) for line in lines])
    return thread.id


def answers(store: SqliteStore, text: str) -> bool:
    """Whether the top-k index ranks this query now (rather than FTS5)."""
    assert store.topk
    return store.topk.ranker(store.connection, parse(text), Filters(None, None, None)) is not None


def words_on_disk(store: SqliteStore, prefix: str) -> list[str]:
    """The words starting with `prefix` in the dictionaries of every index folder on disk (deleted
    documents' words stay in a dictionary until their segment merges, so this sees those too)."""
    assert store.topk
    folders = [p.parent for p in store.topk.root.glob("*/meta.json")] if store.topk.root.exists() else []
    return [w for f in folders for w, _ in topk._open(f).searcher().terms_with_prefix("content", prefix)]


async def texts(store: SqliteStore, query: str, **kw: object) -> list[str | None]:
    return [h.text for h in await store.search_text(parse(query), **kw)]  # type: ignore[arg-type]


async def test_it_ranks_what_fts5_ranks(store: SqliteStore) -> None:
    thread = await fill(store, LINES * 3)
    queries = ["where does the pump leak?", "seal", "shed door", '"half open" valve', "pump -seal", "+compost heap"]
    ranked = {q: await texts(store, q, limit=3) for q in queries}
    assert answers(store, "pump")
    assert store.topk
    store.topk.min_rows = 10**9  # FTS5 from here on
    assert not answers(store, "pump")
    for q in queries:
        assert set(ranked[q]) == set(await texts(store, q, limit=3)), q
    assert set(await texts(store, "pump -seal", limit=3)) == {"The pump hums when the valve is half open."}
    store.topk.min_rows = 0
    assert set(await texts(store, "hums", thread_ids=[thread])) == {"The pump hums when the valve is half open."}
    assert await texts(store, "hums", thread_ids=["thr_elsewhere"]) == []


async def test_time_filters_are_applied_inside_the_index(store: SqliteStore, clock: FakeClock) -> None:
    await fill(store, LINES)
    hour = timedelta(hours=1)
    assert answers(store, "hums")
    assert await texts(store, "hums", since=clock.now - hour, until=clock.now + hour) == [LINES[4]]
    assert await texts(store, "hums", since=clock.now + hour) == []
    assert await texts(store, "hums", until=clock.now) == []  # until is exclusive, as in FTS5
    assert await texts(store, "hums", since=clock.now) == [LINES[4]]  # since is inclusive
    assert store.topk
    for since, until, found in ((clock.now + hour, None, 0), (None, clock.now, 0), (clock.now, None, 1)):
        ranker = store.topk.ranker(store.connection, parse("hums"), Filters(None, since, until))
        assert ranker and len(ranker(10)) == found  # the index itself filters, not only the SQL after it


async def test_prefix_queries_are_left_to_fts5(store: SqliteStore) -> None:
    await fill(store, LINES)
    assert answers(store, "irrigation")
    assert not answers(store, "irrig*")
    assert await texts(store, "irrig*") == ["The irrigation pump seal leaks again."]


async def test_new_messages_are_found_by_the_next_search(store: SqliteStore) -> None:
    thread = await fill(store, LINES)
    assert await texts(store, "tomatoes") == ["Tomatoes need staking before the storm."]
    await store.post_message(NewMessage(thread_id=thread, content="Tomatoes ripened early this year."))
    assert len(await texts(store, "tomatoes")) == 2


async def test_a_redaction_takes_the_words_off_the_disk(store: SqliteStore) -> None:
    await fill(store, LINES)
    (hit,) = await store.search_text(parse("xylophonist4711"))
    assert words_on_disk(store, "xylophon") == ["xylophonist4711"]
    await store.redact_message(hit.id, by="test")
    assert store.topk and not store.topk.root.exists()
    assert await texts(store, "xylophonist4711") == []
    assert answers(store, "pump")  # rebuilt from the file as it is now
    assert words_on_disk(store, "pump") and not words_on_disk(store, "xylophon")


async def test_edits_made_elsewhere_are_never_served_stale(store: SqliteStore, tmp_path: Path) -> None:
    await fill(store, LINES)
    assert await texts(store, "compost") == ["Compost heap turned on Saturday."]
    other = sqlite3.connect(tmp_path / "hub.db")  # another process, bypassing this store's redaction
    with other:
        other.execute("UPDATE messages SET content = 'Leaves raked.' WHERE content LIKE 'Compost%'")
    other.close()
    assert await texts(store, "compost") == []
    assert await texts(store, "leaves raked") == ["Leaves raked."]


async def test_a_crash_before_the_mark_is_written_indexes_nothing_twice(store: SqliteStore) -> None:
    thread = await fill(store, LINES)
    await texts(store, "pump")
    assert store.topk
    name = (store.topk.root / "current").read_text()
    mark_file = store.topk.root / name / "mark.json"
    before = json.loads(mark_file.read_text())
    await store.post_message(NewMessage(thread_id=thread, content="Pump replaced."))
    await texts(store, "pump")  # indexed, then "crash": the mark goes back to before that commit
    mark_file.write_text(json.dumps(before))
    await store.post_message(NewMessage(thread_id=thread, content="Pump tested."))
    expected = [*(t for t in LINES if "pump" in t.lower()), "Pump replaced.", "Pump tested."]
    assert sorted(map(str, await texts(store, "pump"))) == sorted(expected)
    store.topk.close()
    index = topk._open(store.topk.root / name)
    assert index.searcher().num_docs == len(LINES) + 2


async def test_a_big_gap_is_built_in_the_background(store: SqliteStore, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(topk, "INLINE_ROWS", 3)
    await fill(store, LINES)
    assert store.topk
    assert not answers(store, "pump")  # FTS5 answers while the index is built
    assert store.topk._builder
    store.topk._builder.join()
    assert answers(store, "pump")
    assert len(await texts(store, "pump")) == 2


async def test_many_small_additions_keep_the_segments_few(store: SqliteStore) -> None:
    thread = await fill(store, LINES)
    for i in range(40):
        await store.post_message(NewMessage(thread_id=thread, content=f"Pump check {i}."))
        await texts(store, "pump", limit=1)
    assert store.topk and store.topk._index
    searcher = store.topk._index[1].searcher()
    assert searcher.num_docs == len(LINES) + 40
    assert searcher.num_segments <= 10


async def test_a_writer_held_elsewhere_leaves_the_answer_to_fts5(
    store: SqliteStore, tmp_path: Path, clock: FakeClock
) -> None:
    thread = await fill(store, LINES)
    assert await texts(store, "tomatoes") == ["Tomatoes need staking before the storm."]
    other = await SqliteStore.open(tmp_path / "hub.db", clock=clock)  # a second hub process on the file
    try:
        assert other.topk and store.topk
        other.topk.min_rows = 0
        name = (store.topk.root / "current").read_text()
        held = topk._open(store.topk.root / name).writer(topk.HEAP, 1)  # the other process is indexing
        await store.post_message(NewMessage(thread_id=thread, content="Tomatoes ripened early this year."))
        assert not answers(other, "tomatoes")  # it can't catch up, so FTS5 answers, new message included
        assert len(await texts(other, "tomatoes")) == 2
        held.rollback()
        del held
        assert len(await texts(other, "tomatoes")) == 2
        assert answers(other, "tomatoes")
    finally:
        await other.close()


async def test_a_build_that_fails_leaves_search_to_fts5_and_waits_to_retry(store: SqliteStore) -> None:
    assert store.topk
    store.topk.root.write_text("not a folder")  # the build can't make its folder (as on a read-only disk)
    await fill(store, LINES)
    assert await texts(store, "compost") == ["Compost heap turned on Saturday."]
    assert store.topk._retry_at > 0
    store.topk.root.unlink()
    assert not answers(store, "compost")  # no new attempt on every search
    store.topk._retry_at = 0
    assert answers(store, "compost")


async def test_a_new_file_at_the_same_path_never_uses_the_old_index(tmp_path: Path, clock: FakeClock) -> None:
    path = tmp_path / "hub.db"
    for lines in (LINES, [line.replace("pump", "boiler") for line in LINES]):  # the same counts, other words
        for stale in (path, path.with_name("hub.db-wal"), path.with_name("hub.db-shm")):
            stale.unlink(missing_ok=True)  # "starting over": the database goes, its .topk folder stays
        store = await SqliteStore.open(path, clock=clock)
        try:
            assert store.topk
            store.topk.min_rows = 0
            await fill(store, lines)
            found = await texts(store, "pump")
            assert answers(store, "pump")
        finally:
            await store.close()
    assert found == []
