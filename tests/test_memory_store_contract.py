"""The SummaryStore and SearchIndex contract: written once, run against every backend in STORE_URLS."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from mainloop_mcp.errors import InvalidInput, NotFound
from mainloop_mcp.model import Granularity, NewMessage, NewSummary, NewThread, Role, ThreadType
from mainloop_mcp.search.query import parse
from mainloop_mcp.store import Store
from mainloop_mcp.store.base import MemoryStore, memory_store

pytestmark = pytest.mark.anyio


DAY = datetime(2026, 11, 20, tzinfo=UTC)


@pytest.fixture
def mem(store: Store) -> MemoryStore:
    return memory_store(store)


async def thread(mem: MemoryStore, title: str = "Garden") -> str:
    return (await mem.create_thread(NewThread(thread_type=ThreadType.PROJECT, title=title))).id


def summary(thread_id: str, content: str = "pump fixed", count: int = 0, start: datetime = DAY) -> NewSummary:
    return NewSummary(
        thread_id=thread_id,
        granularity=Granularity.DAY,
        period_start=start,
        period_end=start + timedelta(days=1),
        content=content,
        source_message_count=count,
        token_count=3,
        summariser="test",
    )


async def post(mem: MemoryStore, thread_id: str, content: str, at: datetime) -> None:
    await mem.post_message(NewMessage(thread_id=thread_id, content=content, created_at=at))


async def test_put_then_get_returns_the_summary(mem: MemoryStore) -> None:
    t = await thread(mem)
    stored = (await mem.put_summaries([summary(t)]))[0]
    got = await mem.get_summaries(t, Granularity.DAY, DAY, DAY + timedelta(days=1))
    assert got == [stored]
    assert stored.content == "pump fixed" and not stored.stale and stored.summariser == "test"
    assert await mem.get_summaries(t, Granularity.WEEK, DAY, DAY + timedelta(days=1)) == []


async def test_put_is_all_or_nothing(mem: MemoryStore) -> None:
    t = await thread(mem)
    with pytest.raises(NotFound):
        await mem.put_summaries([summary(t), summary("thr_nope")])
    assert await mem.get_summaries(t, Granularity.DAY, DAY, DAY + timedelta(days=1)) == []
    both = await mem.put_summaries([summary(t, "a"), summary(t, "b", start=DAY + timedelta(days=1))])
    assert [s.content for s in both] == ["a", "b"]


async def test_put_replaces_the_summary_of_the_same_period(mem: MemoryStore) -> None:
    t = await thread(mem)
    first = (await mem.put_summaries([summary(t, "old")]))[0]
    second = (await mem.put_summaries([summary(t, "new")]))[0]
    got = await mem.get_summaries(t, Granularity.DAY, DAY, DAY + timedelta(days=1))
    assert [s.content for s in got] == ["new"] and second.id == first.id


async def test_message_inside_a_summarised_period_marks_it_stale(mem: MemoryStore) -> None:
    t, other = await thread(mem), await thread(mem, "Other")
    await mem.put_summaries([summary(t)])
    await mem.put_summaries([summary(t, start=DAY + timedelta(days=1))])
    await post(mem, other, "elsewhere", DAY + timedelta(hours=3))
    await post(mem, t, "just after", DAY + timedelta(days=2))
    assert [s.stale for s in await mem.get_summaries(t, Granularity.DAY, DAY, DAY + timedelta(days=3))] == [
        False,
        False,
    ]
    await post(mem, t, "late", DAY + timedelta(hours=23, minutes=59))
    assert [s.stale for s in await mem.get_summaries(t, Granularity.DAY, DAY, DAY + timedelta(days=3))] == [
        True,
        False,
    ]


async def test_put_with_a_count_that_no_longer_matches_is_stored_stale(mem: MemoryStore) -> None:
    t = await thread(mem)
    await post(mem, t, "one", DAY + timedelta(hours=1))
    await post(mem, t, "two", DAY + timedelta(hours=2))
    assert not (await mem.put_summaries([summary(t, count=2)]))[0].stale
    assert (await mem.put_summaries([summary(t, count=1)]))[0].stale


async def test_count_messages_per_range_and_span(mem: MemoryStore) -> None:
    t = await thread(mem)
    assert await mem.message_span(t) is None
    for h in (1, 2, 25, 73):
        await post(mem, t, f"at {h}", DAY + timedelta(hours=h))
    edges = [DAY + timedelta(days=d) for d in range(5)]
    assert await mem.count_messages(t, list(zip(edges, edges[1:], strict=False))) == [2, 1, 0, 1]
    assert await mem.message_span(t) == (DAY + timedelta(hours=1), DAY + timedelta(hours=73))
    with pytest.raises(NotFound):
        await mem.count_messages("thr_nope", [(DAY, DAY + timedelta(days=1))])
    with pytest.raises(NotFound):
        await mem.message_span("thr_nope")
    with pytest.raises(NotFound):
        await mem.get_summaries("thr_nope", Granularity.DAY, DAY, DAY + timedelta(days=1))


async def test_an_appended_batch_marks_only_the_summaries_it_lands_in_stale(mem: MemoryStore) -> None:
    t, other = await thread(mem), await thread(mem, "Other")
    days = [DAY + timedelta(days=d) for d in range(3)]
    await mem.put_summaries([summary(t, start=d) for d in days] + [summary(other)])
    batch = [
        NewMessage(thread_id=t, content="first day", created_at=DAY),  # period_start is inclusive
        NewMessage(thread_id=t, content="third day", created_at=days[2] + timedelta(hours=5)),
        NewMessage(thread_id=other, content="next to it", created_at=DAY + timedelta(days=1)),  # end is exclusive
    ]
    assert await mem.append_messages(batch) == 3
    stale = [s.stale for s in await mem.get_summaries(t, Granularity.DAY, DAY, DAY + timedelta(days=3))]
    assert stale == [True, False, True]
    assert not (await mem.get_summaries(other, Granularity.DAY, DAY, DAY + timedelta(days=1)))[0].stale


async def test_search_finds_messages_and_summaries_best_first(mem: MemoryStore) -> None:
    t = await thread(mem)
    await post(mem, t, "The irrigation pump needs a new seal. Pump pump.", DAY + timedelta(hours=1))
    await post(mem, t, "Bought seeds for the pump house garden.", DAY + timedelta(hours=2))
    await post(mem, t, "Nothing relevant here.", DAY + timedelta(hours=3))
    await mem.put_summaries([summary(t, "The irrigation pump was repaired.", count=3)])
    hits = await mem.search_text(parse("pump"))
    assert {h.kind for h in hits} == {"message", "summary"}
    assert len(hits) == 3
    assert hits == sorted(hits, key=lambda h: -h.score)
    assert {h.thread_title for h in hits} == {"Garden"}
    messages = [h for h in hits if h.kind == "message"]
    assert "Pump pump" in messages[0].text
    both = await mem.search_text(parse("+irrigation +seal"))
    assert [h.kind for h in both] == ["message"]
    either = await mem.search_text(parse("seal repaired"))  # any word ranks
    assert {h.kind for h in either} == {"message", "summary"}
    assert [h.kind for h in await mem.search_text(parse("pump -seal -repaired"))] == ["message"]
    phrase = await mem.search_text(parse('"pump house"'))
    assert [h.text for h in phrase] == ["Bought seeds for the pump house garden."]


async def test_search_leaves_synced_summary_copies_to_the_summary(mem: MemoryStore) -> None:
    t = await thread(mem)
    copy = NewMessage(
        thread_id=t, role=Role.SUMMARY, content="Daily summary: the greenhouse heater failed", created_at=DAY
    )
    await mem.append_messages([copy])
    assert await mem.search_text(parse("greenhouse heater")) == []


async def test_search_threads_by_title_and_standing_context(mem: MemoryStore) -> None:
    kitchen = await thread(mem, "Kitchen renovation")
    await thread(mem, "Garden")
    await mem.update_thread_context(kitchen, "Budget 12k; tiles from Porto")
    hits = await mem.search_threads(parse("+kitchen +renovation"))
    assert [(h.kind, h.id, h.thread_title) for h in hits] == [("thread", kitchen, "Kitchen renovation")]
    assert "[" in hits[0].snippet
    assert [h.id for h in await mem.search_threads(parse("porto tiles"))] == [kitchen]
    assert await mem.search_threads(parse("+kitchen +garden")) == []


async def test_search_filters_by_thread_and_time(mem: MemoryStore) -> None:
    a, b = await thread(mem, "A"), await thread(mem, "B")
    await post(mem, a, "compost turned", DAY + timedelta(hours=1))
    await post(mem, b, "compost bought", DAY + timedelta(days=3))
    assert {h.thread_id for h in await mem.search_text(parse("compost"), thread_ids=[b])} == {b}
    late = await mem.search_text(parse("compost"), since=DAY + timedelta(days=1))
    assert [h.thread_id for h in late] == [b]
    early = await mem.search_text(parse("compost"), until=DAY + timedelta(days=1))
    assert [h.thread_id for h in early] == [a]


async def test_search_terms_are_words_not_query_syntax(mem: MemoryStore) -> None:
    t = await thread(mem)
    await post(mem, t, 'He said "NEAR" AND left * OR not', DAY)
    for text in ['"x', "NEAR(", "AND x", "x*", "x OR", "col:umn", "^x", 'un"balanced', "a\x00b"]:
        await mem.search_text(parse(text))  # never a syntax error
    assert len(await mem.search_text(parse("near"))) == 1


async def test_search_refuses_bad_limits_and_ranges(mem: MemoryStore) -> None:
    with pytest.raises(InvalidInput, match="limit"):
        await mem.search_text(parse("x"), limit=0)
    with pytest.raises(InvalidInput, match="must be before"):
        await mem.search_text(parse("x"), since=DAY, until=DAY)
