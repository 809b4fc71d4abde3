"""The temporal pyramid, time-travelling with the FakeClock: bands, coverage, zoom, staleness, sync."""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from mainloop_mcp.errors import InvalidInput, MainloopError, NotFound
from mainloop_mcp.memory.assembly import ThreadContext, answer_tokens, assemble_context
from mainloop_mcp.memory.compact import compact
from mainloop_mcp.memory.periods import parse_period
from mainloop_mcp.memory.pyramid import Pyramid
from mainloop_mcp.memory.summariser import LlmSummariser, Source, SummariserFailed, SummaryRequest
from mainloop_mcp.memory.tokens import estimate_tokens
from mainloop_mcp.memory.zoom import zoom
from mainloop_mcp.model import Granularity, NewMessage, NewThread, Order, Role, ThreadType
from mainloop_mcp.store import Store
from mainloop_mcp.store.base import memory_store
from tests.conftest import FakeClock

pytestmark = pytest.mark.anyio

UTC_ZONE = ZoneInfo("UTC")
TOPICS = ["irrigation pump", "seed order", "compost heap", "tomato blight", "rain barrel", "fence repair"]


@pytest.fixture
async def pyr(store: Store, clock: FakeClock) -> AsyncIterator[Pyramid]:
    yield Pyramid(memory_store(store), UTC_ZONE, clock=clock)


async def new_thread(pyr: Pyramid, title: str, kind: ThreadType = ThreadType.PROJECT, parent: str | None = None) -> str:
    return (await pyr.store.create_thread(NewThread(thread_type=kind, title=title, parent_id=parent))).id


async def daily_messages(pyr: Pyramid, thread_id: str, days: int, hour: int = 10) -> int:
    """One message a day at `hour` UTC for the `days` days up to and including today."""
    today = pyr.now().replace(hour=hour, minute=0, second=0, microsecond=0)
    batch = [
        NewMessage(
            thread_id=thread_id,
            role=Role.USER if i % 2 else Role.ASSISTANT,
            content=f"Day {i}: we talked about the {TOPICS[i % len(TOPICS)]}. Decision {i} was taken.",
            created_at=today - timedelta(days=i),
        )
        for i in range(days)
    ]
    return await pyr.store.append_messages(batch)


def shape(context: ThreadContext) -> list[str]:
    return [f"{i.granularity.value}:{i.period}" for i in context.items]


def assert_tiles(context: ThreadContext) -> None:
    """Items are in time order and never overlap."""
    for a, b in zip(context.items, context.items[1:], strict=False):
        assert (a.end or a.start) <= b.start or (a.granularity is Granularity.MESSAGE and a.start <= b.start), (a, b)


async def test_ninety_days_give_exactly_the_expected_bands(pyr: Pyramid) -> None:
    thread = await new_thread(pyr, "Garden")
    assert await daily_messages(pyr, thread, 91) == 91  # 2026-08-26 .. 2026-11-24, now is Tue 11-24 12:00 UTC
    context = await assemble_context(pyr, thread, 100_000)
    expected = (
        ["month:2026-08", "month:2026-09"]
        + [f"day:2026-10-0{d}" for d in range(1, 5)]  # October 1-4: the ISO week straddles the month edge
        + [f"week:2026-W{w}" for w in range(41, 47)]
        + [f"day:2026-11-{d}" for d in range(16, 23)]  # 6 days before the full band, back to Monday
        + ["message:2026-11-23", "message:2026-11-24"]
    )
    assert shape(context) == expected
    assert context.complete
    assert_tiles(context)


async def test_each_message_is_represented_exactly_once(pyr: Pyramid, clock: FakeClock) -> None:
    thread = await new_thread(pyr, "Garden")
    await daily_messages(pyr, thread, 91)
    for _ in range(3):  # travel: 0, +17 and +34 days; the bands slide, coverage stays exact
        first = await pyr.store.message_span(thread)
        assert first is not None
        total = (await pyr.store.count_messages(thread, [(first[0], clock.now + timedelta(days=1))]))[0]
        context = await assemble_context(pyr, thread, 100_000)
        assert sum(i.source_message_count for i in context.items) == total
        assert_tiles(context)
        clock.advance(days=17)
        await daily_messages(pyr, thread, 17)


async def test_bands_slide_into_months_as_time_passes(pyr: Pyramid, clock: FakeClock) -> None:
    thread = await new_thread(pyr, "Garden")
    await daily_messages(pyr, thread, 91)
    clock.advance(days=60)  # 2027-01-23
    context = await assemble_context(pyr, thread, 100_000)
    kinds = Counter(i.granularity for i in context.items)
    assert shape(context)[:4] == ["month:2026-08", "month:2026-09", "month:2026-10", "month:2026-11"]
    assert kinds[Granularity.MESSAGE] == 0 and kinds[Granularity.WEEK] == 0  # nothing new since 11-24
    assert sum(i.source_message_count for i in context.items) == 91


async def test_budget_keeps_the_newest_history(pyr: Pyramid) -> None:
    thread = await new_thread(pyr, "Garden")
    await daily_messages(pyr, thread, 91)
    context = await assemble_context(pyr, thread, 300)
    assert not context.complete
    assert context.token_count <= 300
    assert shape(context)[-2:] == ["message:2026-11-23", "message:2026-11-24"]
    assert "month:2026-08" not in shape(context)


async def test_parent_gets_a_bounded_share(pyr: Pyramid) -> None:
    project = await new_thread(pyr, "Garden")
    task = await new_thread(pyr, "Order seeds", ThreadType.TASK, project)
    await daily_messages(pyr, project, 40)
    await daily_messages(pyr, task, 3)
    context = await assemble_context(pyr, task, 2000)
    assert context.parent is not None and context.parent.thread_id == project
    assert 0 < context.parent.token_count <= 400
    assert context.parent.parent is None
    assert context.token_count <= 2000
    # token_count is the whole answer as a client reads it (JSON or markdown), parent included
    assert answer_tokens(context) <= context.token_count <= 2000 and context.token_count > context.parent.token_count


async def test_standing_context_counts_against_the_budget(pyr: Pyramid) -> None:
    thread = await new_thread(pyr, "Garden")
    await daily_messages(pyr, thread, 10)
    await pyr.store.update_thread_context(thread, "Goal: a self-watering garden. " * 200)
    context = await assemble_context(pyr, thread, 1000)
    assert context.thread_context.endswith("…") and len(context.thread_context) <= 500 * 4
    assert context.token_count <= 1000
    assert answer_tokens(context) <= context.token_count <= 1000
    assert context.token_count > estimate_tokens(context.thread_context)


async def test_zoom_round_trips_to_the_original_messages(pyr: Pyramid) -> None:
    thread = await new_thread(pyr, "Garden")
    await daily_messages(pyr, thread, 91)
    original = (await pyr.store.read_messages(thread, limit=500, order=Order.OLDEST)).messages
    august = [m for m in original if m.created_at < datetime(2026, 9, 1, tzinfo=UTC)]
    weeks = await zoom(pyr, thread, "2026-08")
    assert [i.period for i in weeks.items] == ["2026-W35", "2026-08-31"]  # Aug 26-30 is in W35 with Aug 24-25
    assert sum(i.source_message_count for i in weeks.items) == len(august)
    days = await zoom(pyr, thread, "2026-W35")
    assert [i.period for i in days.items] == [f"2026-08-{d}" for d in range(26, 31)]
    seen: list[str | None] = []
    for d in days.items + [i for i in weeks.items if i.granularity is Granularity.DAY]:
        cursor = None
        while True:
            page = await zoom(pyr, thread, d.period, limit=1, cursor=cursor)
            seen += [i.message_id for i in page.items]
            if page.next_cursor is None:
                break
            cursor = page.next_cursor
    assert sorted(str(s) for s in seen) == sorted(m.id for m in august)
    everything = await zoom(pyr, thread, "2026-08", level=Granularity.MESSAGE, limit=500)
    assert [i.content for i in everything.items] == [m.content for m in august]


async def test_zoom_refuses_a_level_that_is_not_finer(pyr: Pyramid) -> None:
    thread = await new_thread(pyr, "Garden")
    with pytest.raises(InvalidInput, match="not finer than the day 2026-11-24"):
        await zoom(pyr, thread, "2026-11-24", level=Granularity.WEEK)
    with pytest.raises(InvalidInput, match="'2026-13' is not a calendar period"):
        await zoom(pyr, thread, "2026-13")
    with pytest.raises(NotFound):
        await zoom(pyr, "thr_missing", "2026-11")


async def test_late_message_marks_the_covering_summaries_stale_and_they_are_rebuilt(pyr: Pyramid) -> None:
    thread = await new_thread(pyr, "Garden")
    await daily_messages(pyr, thread, 91)
    await assemble_context(pyr, thread, 100_000)
    late = datetime(2026, 9, 10, 15, 0, tzinfo=UTC)
    await pyr.store.post_message(
        NewMessage(thread_id=thread, content="Late note: the pump was fixed.", created_at=late)
    )
    stale = {}
    for g in (Granularity.DAY, Granularity.WEEK, Granularity.MONTH):
        for s in await pyr.store.get_summaries(thread, g, datetime(2026, 8, 1, tzinfo=UTC), pyr.now()):
            if s.stale:
                stale[g] = s.period_start.date().isoformat()
    assert stale == {Granularity.DAY: "2026-09-10", Granularity.WEEK: "2026-09-07", Granularity.MONTH: "2026-09-01"}
    context = await assemble_context(pyr, thread, 100_000)
    september = next(i for i in context.items if i.period == "2026-09")
    assert september.source_message_count == 31
    assert "pump was fixed" in (await zoom(pyr, thread, "2026-09-10", level=Granularity.MESSAGE)).items[-1].content
    month = await pyr.store.get_summaries(
        thread, Granularity.MONTH, datetime(2026, 9, 1, tzinfo=UTC), datetime(2026, 9, 2, tzinfo=UTC)
    )
    assert not month[0].stale


async def test_failing_summariser_leaves_the_old_summary(pyr: Pyramid) -> None:
    thread = await new_thread(pyr, "Garden")
    await daily_messages(pyr, thread, 91)
    before = await zoom(pyr, thread, "2026-W37")
    await pyr.store.post_message(
        NewMessage(thread_id=thread, content="late", created_at=datetime(2026, 9, 9, 8, tzinfo=UTC))
    )

    async def broken(prompt: str) -> str:
        raise RuntimeError("model unavailable")

    failing = Pyramid(pyr.store, pyr.tz, LlmSummariser(broken), pyr.clock)
    with pytest.raises(SummariserFailed, match="model unavailable"):
        await zoom(failing, thread, "2026-W37")
    kept = await pyr.store.get_summaries(
        thread, Granularity.DAY, datetime(2026, 9, 9, tzinfo=UTC), datetime(2026, 9, 10, tzinfo=UTC)
    )
    assert kept[0].stale and kept[0].content == before.items[2].content


async def test_llm_summariser_uses_the_ask_callable_and_respects_the_limit() -> None:
    prompts: list[str] = []

    async def ask(prompt: str) -> str:
        prompts.append(prompt)
        return "word " * 5000

    summariser = LlmSummariser(ask, name="fake-llm")
    request = SummaryRequest(
        "Garden",
        "2026-11-24",
        Granularity.DAY,
        [Source("2026-11-24 09:00 user", "water the beds"), Source("2026-11-24 09:05 assistant", "done")],
    )
    summary = await summariser.summarise(request)
    assert len(summary) <= 500 * 4
    assert "[2026-11-24 09:00 user] water the beds" in prompts[0] and "At most 500 tokens" in prompts[0]

    async def silent(prompt: str) -> str:
        return "  "

    with pytest.raises(SummariserFailed, match="empty"):
        await LlmSummariser(silent).summarise(request)


async def test_summaries_stay_under_their_token_limits(pyr: Pyramid) -> None:
    thread = await new_thread(pyr, "Chatty")
    start = datetime(2026, 10, 5, 9, tzinfo=UTC)
    words = "alpha beta gamma delta epsilon zeta eta theta iota kappa lambda".split()
    await pyr.store.append_messages(
        [
            NewMessage(
                thread_id=thread,
                content=f"Point {i} about {words[i % 11]} and {words[(i * 7) % 11]}. " * 6,
                created_at=start + timedelta(hours=i),
            )
            for i in range(24 * 7 * 4)
        ]
    )
    for period, limit in (("2026-10-05", 500), ("2026-W41", 1000), ("2026-10", 2000)):
        s = await pyr.summary(await pyr.store.get_thread(thread), parse_period(period))
        assert s is not None and 0 < s.token_count <= limit, (period, s)


async def test_budget_below_the_minimum_is_refused(pyr: Pyramid) -> None:
    thread = await new_thread(pyr, "Garden")
    with pytest.raises(InvalidInput, match="token_budget 10 is out of range"):
        await assemble_context(pyr, thread, 10)


async def test_sync_posts_one_digest_per_parent_per_day(pyr: Pyramid, clock: FakeClock) -> None:
    main = (await pyr.store.main_thread()).id
    project = await new_thread(pyr, "Garden")
    task = await new_thread(pyr, "Order seeds", ThreadType.TASK, project)
    other = await new_thread(pyr, "Fix pump", ThreadType.TASK, project)
    await daily_messages(pyr, task, 4)  # 11-21 .. 11-24; today's is not finished yet
    await daily_messages(pyr, task, 2, hour=11)
    await daily_messages(pyr, other, 2)
    await daily_messages(pyr, project, 2)
    for _ in range(2):  # idempotent: the second run posts nothing
        await compact(pyr)
    synced = [m for m in (await pyr.store.read_messages(project, limit=500)).messages if m.role is Role.SUMMARY]
    assert sorted(m.metadata["period"] for m in synced) == ["2026-11-21", "2026-11-22", "2026-11-23"]
    assert {m.idempotency_key for m in synced} == {f"digest:{project}:2026-11-{d}" for d in (21, 22, 23)}
    both = next(m for m in synced if m.metadata["period"] == "2026-11-23")
    assert both.metadata["kind"] == "digest" and [c["title"] for c in both.metadata["children"]] == [
        "Fix pump",
        "Order seeds",
    ]
    assert both.content.startswith('Digest of 2026-11-23 from 2 child threads: "Fix pump", "Order seeds"')
    into_main = [m for m in (await pyr.store.read_messages(main, limit=500)).messages if m.role is Role.SUMMARY]
    # the project's days include the task's posted summaries, so those days reach main too
    assert sorted(m.metadata["period"] for m in into_main) == ["2026-11-21", "2026-11-22", "2026-11-23"]
    clock.advance(days=1)
    report = await compact(pyr)
    assert report.sync_messages_posted == 2  # task's and project's 11-24
    synced_again = [m for m in (await pyr.store.read_messages(project, limit=500)).messages if m.role is Role.SUMMARY]
    assert Counter(m.metadata["period"] for m in synced_again) == Counter(
        {"2026-11-21": 1, "2026-11-22": 1, "2026-11-23": 1, "2026-11-24": 1}
    )


async def test_unknown_thread_is_not_found(pyr: Pyramid) -> None:
    with pytest.raises(NotFound, match="thr_nope"):
        await assemble_context(pyr, "thr_nope", 1000)
    with pytest.raises(MainloopError):
        await compact(pyr, "thr_nope")


async def test_days_are_bucketed_in_the_configured_time_zone(store: Store, clock: FakeClock) -> None:
    berlin = Pyramid(memory_store(store), ZoneInfo("Europe/Berlin"), clock=clock)
    thread = await new_thread(berlin, "Garden")
    late = datetime(2026, 11, 10, 23, 30, tzinfo=UTC)  # 00:30 on 11-11 in Berlin
    await berlin.store.post_message(NewMessage(thread_id=thread, content="After midnight.", created_at=late))
    assert (await zoom(berlin, thread, "2026-11-10", level=Granularity.MESSAGE)).items == []
    day = await zoom(berlin, thread, "2026-11-11", level=Granularity.MESSAGE)
    assert [i.content for i in day.items] == ["After midnight."] and day.items[0].period == "2026-11-11"
    week = await zoom(berlin, thread, "2026-W46")
    assert [i.period for i in week.items] == ["2026-11-11"]
    assert "2026-11-11 00:30 user: After midnight." in week.items[0].content
