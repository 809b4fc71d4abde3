"""What `search` and `ask_status` find for text asked in plain words, on the SQLite store (stemming,
tokens, ranking, titles, summaries) — and that no input is ever an engine error."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest

from mainloop_mcp.config import Settings
from mainloop_mcp.errors import InvalidInput
from mainloop_mcp.hub import Hub, open_hub
from mainloop_mcp.memory.pyramid import Pyramid
from mainloop_mcp.model import Granularity, NewMessage, NewSummary, NewThread, Role, ThreadType
from mainloop_mcp.search.fulltext import search
from mainloop_mcp.search.query import parse
from mainloop_mcp.search.status import ask_status
from mainloop_mcp.store.sqlite.search import TermStats
from mainloop_mcp.store.sqlite.store import MIGRATIONS, SqliteStore
from mainloop_mcp.store.sqlite.topk import MIN_ROWS as TOPK_MIN_ROWS
from tests.conftest import FakeClock

pytestmark = pytest.mark.anyio

NOISE = [
    "Let me check the calendar and get back to you.",
    "The weather was rainy, so we stayed in and cooked.",
    "Thanks, that helps a lot with the plan.",
]


@pytest.fixture(params=["fts5", "topk"])
async def hub(
    request: pytest.FixtureRequest, settings: Settings, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> AsyncIterator[Hub]:
    """A hub whose messages FTS5 ranks (a small store), or the top-k index (as in a big store; it
    must never have failed over to FTS5 unseen)."""
    async with open_hub(settings, clock=clock) as h:
        assert isinstance(h.store, SqliteStore) and h.store.topk
        h.store.topk.min_rows = 0 if request.param == "topk" else TOPK_MIN_ROWS
        yield h
    assert not [r.getMessage() for r in caplog.get_records("call") if r.name == "mainloop_mcp.store.sqlite.topk"]


@pytest.fixture
async def fts5_hub(settings: Settings, clock: FakeClock) -> AsyncIterator[Hub]:
    async with open_hub(settings, clock=clock) as h:
        yield h


async def project(hub: Hub, title: str, lines: list[str], context: str = "", parent: str | None = None) -> str:
    kind = ThreadType.TASK if parent else ThreadType.PROJECT
    thread = await hub.store.create_thread(
        NewThread(thread_type=kind, title=title, parent_id=parent, thread_context=context)
    )
    await hub.store.append_messages([NewMessage(thread_id=thread.id, content=line) for line in lines + NOISE])
    return thread.id


async def snippets(pyr: Pyramid, query: str, **kw: object) -> list[str]:
    return [m.snippet for m in (await search(pyr, query, **kw)).matches]  # type: ignore[arg-type]


async def test_questions_in_plain_words_find_their_evidence_first(hub: Hub) -> None:
    await project(
        hub,
        "Errands",
        [
            "I actually redeemed a $5 coupon on coffee creamer at Target last Sunday.",
            "She graduated with a degree in Business Administration.",
            "The coffee machine needs descaling.",
        ],
    )
    pyr = hub.pyramid()
    first = await snippets(pyr, "Where did I redeem a $5 coupon on coffee creamer?")
    assert "[redeemed]" in first[0] and "[coupon]" in first[0]
    assert "[graduated]" in (await snippets(pyr, "What degree did I graduate with?"))[0]


async def test_exact_words_and_phrases_rank_above_stem_only_matches(hub: Hub) -> None:
    await project(hub, "Ops", ["We are migrating databases next month.", "We migrated the database yesterday."])
    pyr = hub.pyramid()
    assert (await snippets(pyr, "migrated database"))[0].startswith("We [migrated] the [database]")
    assert "[migrating] [databases]" in (await snippets(pyr, "migrating databases"))[0]


async def test_explicit_syntax_phrase_required_excluded_prefix(hub: Hub) -> None:
    await project(hub, "Home", ["The pump house is cold.", "The house pump is loud.", "Deployment of the heater."])
    pyr = hub.pyramid()
    assert await snippets(pyr, '"pump house"') == ["The [pump] [house] is cold."]
    assert await snippets(pyr, "pump -cold") == ["The house [pump] is loud."]
    assert await snippets(pyr, "+loud pump") == ["The house [pump] is [loud]."]
    assert await snippets(pyr, "pump AND cold") == ["The [pump] house is [cold]."]
    assert await snippets(pyr, "deploy*") == ["[Deployment] of the heater."]


async def test_sensible_tokens_are_findable(hub: Hub) -> None:
    await project(
        hub,
        "Dev",
        [
            "Mail billing@acme-example.org about it.",
            "The flaky one is test_refresh_token in tests/auth/test_tokens.py.",
            "HttpClientFactory crashes when config.search.max_terms is zero.",
            "Le rendez-vous à la préfecture est confirmé.",
            "東京の会議は来週の水曜日です。",
            "It cost $5 in the end.",
        ],
    )
    pyr = hub.pyramid()
    for query, expected in [
        ("billing@acme-example.org", "billing"),
        ("test_refresh_token", "test_refresh_token"),
        ("tests/auth/test_tokens.py", "test_tokens"),
        ("HttpClientFactory", "HttpClientFactory"),
        ("config.search.max_terms", "max_terms"),
        ("prefecture rendez-vous", "préfecture"),
        ("東京の会議", "東京"),
        ("$5", "$[5]"),
    ]:
        found = await snippets(pyr, query)
        assert found and expected in found[0], (query, found)


@pytest.mark.parametrize(
    "text",
    [
        "x" * 9_000,
        "the of and",
        'unbalanced "quote',
        "NEAR(pump house",
        "^pump",
        "col:pump",
        "pump\x00house",
        "-pump +",
    ],
)
async def test_odd_input_ranks_or_says_why_never_an_engine_error(hub: Hub, text: str) -> None:
    await project(hub, "Home", ["The pump house and the garden."])
    try:
        result = await search(hub.pyramid(), text)
    except InvalidInput as exc:
        assert "search for" in str(exc) and "\n" not in str(exc)
    else:
        assert result.searched


@pytest.mark.parametrize("text", ["?!.,;", "", "x" * 10_001, "-only -excluded"])
async def test_nothing_to_search_for_is_one_clear_line(hub: Hub, text: str) -> None:
    with pytest.raises(InvalidInput) as raised:
        await search(hub.pyramid(), text)
    assert "\n" not in str(raised.value) and ("search for" in str(raised.value) or "characters" in str(raised.value))


async def test_title_and_standing_context_bring_back_the_thread(hub: Hub) -> None:
    kitchen = await project(hub, "Kitchen renovation", ["Tiles ordered."], context="Budget 12k, contractor Ana")
    loop = await project(hub, "mainloop", ["Release notes drafted."])
    pyr = hub.pyramid()
    first = (await search(pyr, "kitchen renovation")).matches[0]
    assert (first.kind, first.thread_id, first.thread_title) == ("thread", kitchen, "Kitchen renovation")
    assert (await search(pyr, "mainloop")).matches[0].thread_id == loop
    assert (await search(pyr, "contractor")).matches[0].kind == "thread"
    message = (await search(pyr, "tiles ordered")).matches[0]
    assert message.kind == "message" and message.thread_title == "Kitchen renovation" and message.time


async def test_empty_result_says_what_was_searched_and_how_to_widen(hub: Hub) -> None:
    await project(hub, "Home", ["The pump house."])
    result = await search(hub.pyramid(), "volcano eruption -lava")
    assert result.matches == [] and result.hint and "ask_status" in result.hint
    assert "'volcano'" in result.searched and "none of 'lava'" in result.searched and "all threads" in result.searched


async def test_summaries_never_crowd_out_the_evidence(fts5_hub: Hub, clock: FakeClock) -> None:
    # The cap is the search layer's, over any ranking. Here every word is in most rows, so both
    # indexes score at FTS5's idf floor and a summary can outrank a message: with the top-k index
    # (whose idf never falls below zero) messages would simply always win.
    hub = fts5_hub
    thread = await project(hub, "Garden", [f"The irrigation pump seal leaks, note {i}." for i in range(12)])
    day = clock.now.replace(hour=0, minute=0, second=0, microsecond=0)
    await hub.pyramid().store.put_summaries(
        [
            NewSummary(
                thread_id=thread,
                granularity=Granularity.DAY,
                period_start=day - timedelta(days=i + 1),
                period_end=day - timedelta(days=i),
                content=f"Irrigation pump seal, irrigation pump seal: pump seal day {i}.",
                source_message_count=0,
                token_count=8,
                summariser="test",
            )
            for i in range(6)
        ]
    )
    capped = [m.kind for m in (await search(hub.pyramid(), "irrigation pump seal")).matches]
    assert capped[:5] == ["message"] * 5 and capped[5:10].count("summary") == 1  # evidence first, then 1 in 5
    free = [m.kind for m in (await search(hub.pyramid(), "irrigation pump seal", summaries=True)).matches]
    assert free[:5].count("summary") > 1


async def test_ask_status_resolves_the_topic_by_title_then_evidence(hub: Hub) -> None:
    kitchen = await project(hub, "Kitchen renovation", ["Plan agreed."], context="Budget 12k")
    await project(hub, "Tiles shop", ["Kitchen renovation status: tiles are late, renovation slips a week."])
    task = await project(hub, "Order worktop", ["The oak worktop for the renovation ships Friday."], parent=kitchen)
    answer = await ask_status(hub.pyramid(), "what's the status of the kitchen renovation?")
    first = answer.threads[0]
    assert (first.thread_id, first.found_by) == (kitchen, "title")
    assert any(m.thread_id == task for m in first.matches)  # a task's evidence counts towards its project
    assert first.context.thread_context == "Budget 12k"
    assert parse("what's the status").should[0].text == "status"


async def test_frequent_words_leave_the_index_query_of_a_big_store(
    fts5_hub: Hub, monkeypatch: pytest.MonkeyPatch
) -> None:
    hub = fts5_hub  # FTS5's row budget (the top-k index counts every word)
    monkeypatch.setattr(TermStats, "ROWS", 10)
    await project(hub, "Log", [f"status update number {i}" for i in range(30)] + ["status of the boiler repair"])
    pyr = hub.pyramid()
    found = await snippets(pyr, "boiler status")
    assert found == ["[status] of the [boiler] repair"]  # 'status' (in every message) only re-ranks
    assert len(await snippets(pyr, "status")) == 20  # a query of frequent words alone still ranks them


async def test_a_word_left_out_of_the_index_query_still_counts_in_the_order(
    fts5_hub: Hub, monkeypatch: pytest.MonkeyPatch
) -> None:
    hub = fts5_hub
    monkeypatch.setattr(TermStats, "ROWS", 10)
    filler = [f"wedding note {i}" for i in range(20)] + [f"filler message {i}" for i in range(180)]
    await project(hub, "Log", [*filler, "zebra", "zebra wedding"])
    hits = await hub.store.search_text(parse("zebra wedding"))
    # 'wedding' (20 messages) is left out of the index query: by 'zebra' alone the shorter message
    # would come first; the left-out word's share puts the message holding both first
    assert [h.text for h in hits[:2]] == ["zebra wedding", "zebra"]


async def test_matches_search_does_not_show_never_leave_its_page_short(hub: Hub) -> None:
    thread = await project(hub, "Log", ["The pump hums.", "A new pump arrived.", "Pump fixed."])
    for _ in range(60):  # corrected messages outrank every other one, stay indexed, and are not shown
        typo = await hub.store.post_message(NewMessage(thread_id=thread, content="pump pump pump"))
        await hub.store.supersede_message(typo.id, NewMessage(thread_id=thread, content="(a typo)"))  # type: ignore[attr-defined]
    for thread_ids in (None, [thread]):
        hits = await hub.store.search_text(parse("pump"), thread_ids=thread_ids, limit=3)
        assert sorted(h.text for h in hits) == ["A new pump arrived.", "Pump fixed.", "The pump hums."]


async def test_synced_summaries_stay_out_of_the_message_index(hub: Hub) -> None:
    thread = await project(hub, "Log", ["The boiler was serviced."])
    synced = [
        await hub.store.post_message(NewMessage(thread_id=thread, role=Role.SUMMARY, content=f"Boiler, day {i}."))
        for i in range(3)
    ]
    conn = hub.store.connection  # type: ignore[attr-defined]
    assert conn.execute("SELECT count(*) FROM messages_fts WHERE messages_fts MATCH 'boiler'").fetchone()[0] == 1
    await hub.store.redact_message(synced[0].id, by="test")  # type: ignore[attr-defined]
    conn.execute("INSERT INTO messages_fts(messages_fts) VALUES ('integrity-check')")  # the index itself is sound


async def test_a_thread_filter_keeps_other_threads_summaries_out(hub: Hub, clock: FakeClock) -> None:
    garden, shed = await project(hub, "Garden", []), await project(hub, "Shed", [])
    day = clock.now.replace(hour=0, minute=0, second=0, microsecond=0)
    await hub.pyramid().store.put_summaries(
        [
            NewSummary(
                thread_id=t,
                granularity=Granularity.DAY,
                period_start=day - timedelta(days=1),
                period_end=day,
                content="The compost heap was turned.",
                source_message_count=1,
                token_count=6,
                summariser="test",
            )
            for t in (garden, shed)
        ]
    )
    hits = await hub.store.search_text(parse("compost"), thread_ids=[shed])
    assert [(h.kind, h.thread_id) for h in hits] == [("summary", shed)]


async def test_a_projects_search_covers_its_task_threads(hub: Hub) -> None:
    garden = await project(hub, "Garden", ["Raised beds are built."])
    soil = await project(hub, "Order soil", ["Topsoil from GreenCo arrives Tuesday."], parent=garden)
    await project(hub, "Shed", ["Topsoil bags are stacked in the shed."])
    pyr = hub.pyramid()
    assert [m.thread_id for m in (await search(pyr, "topsoil", thread_id=garden)).matches] == [soil]
    assert (await search(pyr, "raised beds", thread_id=soil)).matches == []  # a task is just itself


async def test_index_follows_renames_redactions_and_thread_filters(hub: Hub) -> None:
    garden = await project(hub, "Garden", ["The secret gate code is 4711."])
    other = await project(hub, "Shed", ["The shed gate squeaks."])
    pyr = hub.pyramid()
    assert [m.thread_id for m in (await search(pyr, "gate", thread_id=other)).matches] == [other]
    message = (await search(pyr, "secret gate code")).matches[0]
    await hub.store.redact_message(message.id, by="test")  # type: ignore[attr-defined]
    assert not [m for m in (await search(pyr, "secret code")).matches if m.kind == "message"]
    await hub.store.rename_thread(garden, "Allotment plans")  # type: ignore[attr-defined]
    assert (await search(pyr, "allotment")).matches[0].thread_id == garden


async def test_a_store_from_before_the_search_migrations_is_reindexed(tmp_path: Path, clock: FakeClock) -> None:
    path = tmp_path / "old.db"
    conn = sqlite3.connect(path, isolation_level=None)
    for number, script in enumerate(MIGRATIONS[:5], start=1):  # the schema before search changed
        conn.executescript(f"BEGIN;\n{script}\nPRAGMA user_version = {number};\nCOMMIT;")
    conn.execute(
        "INSERT INTO threads VALUES ('thr_a', 'thr_main', 'project', 'Garden', '', 'active', 0, 0),"
        " ('thr_main', NULL, 'main', 'Main', '', 'active', 0, 0)"
    )
    conn.execute(
        "INSERT INTO messages (id, thread_id, role, content, created_at) VALUES"
        " ('msg_1', 'thr_a', 'user', 'We graduated the seedlings', 1)"
    )
    conn.execute("INSERT INTO messages_fts(rowid, content) SELECT seq, content FROM messages")
    conn.close()
    store = await SqliteStore.open(path, clock=clock)
    try:
        hits = await store.search_text(parse("graduate seedling"), thread_ids=["thr_a"])
        assert [(h.id, h.thread_title) for h in hits] == [("msg_1", "Garden")]
        assert [h.id for h in await store.search_threads(parse("garden"))] == ["thr_a"]
    finally:
        await store.close()
