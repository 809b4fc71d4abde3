"""Full-text search on BigQuery: the `like` path runs on the emulator; the SEARCH() path's real SQL
is sent to the emulator too, which refuses it (documented in the README) — if a later emulator
accepts it, these tests fail and the SEARCH() path can be tested for real. The rules both
backends share are in test_memory_store_contract.py; these pin the BigQuery score and matching."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest

from mainloop_mcp.errors import InvalidInput, MainloopError
from mainloop_mcp.model import NewMessage, NewThread, SearchHit, ThreadType
from mainloop_mcp.store import open_store
from mainloop_mcp.store.bigquery.search import search_index_ddl, search_sql, search_text, snippet
from mainloop_mcp.store.bigquery.store import BigQueryStore
from tests.bq_emulator import Emulator
from tests.conftest import FakeClock

pytestmark = pytest.mark.anyio


@pytest.fixture
async def bq_store(clock: FakeClock) -> AsyncIterator[BigQueryStore]:
    store = await open_store(Emulator.shared().url(), clock=clock)
    assert isinstance(store, BigQueryStore)
    try:
        yield store
    finally:
        await store.close()


async def find(store: BigQueryStore, terms: list[str], **filters: Any) -> list[SearchHit]:
    """The term-list search under the store's TextQuery adapter (query.py)."""
    return await search_text(store.bq, terms, **filters)


async def fill(store: BigQueryStore, clock: FakeClock) -> tuple[str, str]:
    a = (await store.create_thread(NewThread(thread_type=ThreadType.PROJECT, title="a"))).id
    b = (await store.create_thread(NewThread(thread_type=ThreadType.PROJECT, title="b"))).id
    texts = [
        (a, "Deploy mainloop on Kubernetes with kustomize"),
        (a, "kubernetes jobs run the agents"),
        (b, "BigQuery partitions by day; Kubernetes is elsewhere"),
        (b, "nothing to see (kube is not kubernetes)"),
        (b, "a.b literal dots and 100% signs"),
    ]
    for thread_id, text in texts:
        clock.advance(hours=1)
        await store.post_message(NewMessage(thread_id=thread_id, content=text))
    return a, b


async def test_all_terms_must_match_and_case_is_ignored(bq_store: BigQueryStore, clock: FakeClock) -> None:
    await fill(bq_store, clock)
    hits = await find(bq_store, ["KUBERNETES", "deploy"])
    assert [h.snippet for h in hits] == ["[Deploy] mainloop on [Kubernetes] with kustomize"]


async def test_score_counts_terms_held_then_repeats_then_newest(bq_store: BigQueryStore, clock: FakeClock) -> None:
    await fill(bq_store, clock)
    hits = await find(bq_store, ["kubernetes", "agents"], match_any=True)
    assert [(h.snippet, h.score) for h in hits] == [
        ("[kubernetes] jobs run the [agents]", 1.0),  # 1/2 + 1/2
        ("nothing to see (kube is not [kubernetes])", 0.5),
        ("BigQuery partitions by day; [Kubernetes] is elsewhere", 0.5),
        ("Deploy mainloop on [Kubernetes] with kustomize", 0.5),
    ]
    thread = (await bq_store.create_thread(NewThread(thread_type=ThreadType.PROJECT, title="c"))).id
    await bq_store.post_message(NewMessage(thread_id=thread, content="agents agents agents", created_at=clock.now))
    repeated = await find(bq_store, ["agents"])
    assert [h.score for h in repeated] == [0.75, 0.5]  # 3/4 beats the newer single mention


async def test_whole_words_only_and_punctuation_separates_words_as_in_fts5(
    bq_store: BigQueryStore, clock: FakeClock
) -> None:
    await fill(bq_store, clock)
    assert [h.snippet for h in await find(bq_store, ["kube"])] == ["nothing to see ([kube] is not kubernetes)"]
    assert [h.snippet for h in await find(bq_store, ["a.b"])] == ["[a.b] literal dots and 100% signs"]
    assert [h.snippet for h in await find(bq_store, ["A*B"])] == ["[a.b] literal dots and 100% signs"]
    assert await find(bq_store, ["b.a"]) == [] and await find(bq_store, ["*", "%"]) == []


async def test_words_outside_ascii_match_whole(bq_store: BigQueryStore, clock: FakeClock) -> None:
    t = (await bq_store.create_thread(NewThread(thread_type=ThreadType.PROJECT, title="u"))).id
    for text in ("Café au lait, CAFÉ noir", "Die Straße ist nass", "東京 is far"):
        await bq_store.post_message(NewMessage(thread_id=t, content=text))
    assert [(h.snippet, h.score) for h in await find(bq_store, ["café"])] == [("[Café] au lait, [CAFÉ] noir", 2 / 3)]
    assert await find(bq_store, ["stra"]) == []  # RE2's ASCII-only \b would have matched inside Straße
    assert [h.snippet for h in await find(bq_store, ["straße"])] == ["Die [Straße] ist nass"]
    assert [h.snippet for h in await find(bq_store, ["東京"])] == ["[東京] is far"]


async def test_thread_and_time_filters(bq_store: BigQueryStore, clock: FakeClock) -> None:
    a, b = await fill(bq_store, clock)
    only_b = await find(bq_store, ["kubernetes"], thread_ids=[b])
    assert {h.thread_id for h in only_b} == {b} and len(only_b) == 2
    start = clock.now - timedelta(hours=5)
    first_two_hours = await find(bq_store, ["kubernetes"], since=start, until=start + timedelta(hours=2, minutes=30))
    assert {h.thread_id for h in first_two_hours} == {a} and len(first_two_hours) == 2


def test_snippet_keeps_sixteen_words_around_the_first_match() -> None:
    text = " ".join(f"w{i}" for i in range(40)) + " pump " + " ".join(f"v{i}" for i in range(40))
    assert snippet(text, ["pump"]) == "…w37 w38 w39 [pump] v0 v1 v2 v3 v4 v5 v6 v7 v8 v9 v10 v11…"
    assert snippet("no match here", ["pump"]) == "no match here"


async def test_empty_terms_are_refused(bq_store: BigQueryStore) -> None:
    with pytest.raises(InvalidInput, match="at least one search term"):
        await find(bq_store, [" "])


async def test_search_function_sql_is_refused_by_the_emulator(bq_store: BigQueryStore) -> None:
    sql, params = search_sql(
        bq_store.bq.target,
        ["kubernetes"],
        match_any=False,
        thread_ids=None,
        since=None,
        until=None,
        limit=5,
        mode="function",
    )
    assert "SEARCH(content, @t0)" in sql and "summaries" in sql
    with pytest.raises(MainloopError, match="Function not found: search"):
        await bq_store.bq.rows(sql, params)


@pytest.mark.parametrize("table", ["messages", "summaries"])
async def test_search_index_ddl_is_refused_by_the_emulator(bq_store: BigQueryStore, table: str) -> None:
    with pytest.raises(MainloopError, match='syntax error at or near "SEARCH"'):
        await bq_store.bq.dml(search_index_ddl(bq_store.bq.target, table))
