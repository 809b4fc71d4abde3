"""The EditStore contract (rename, move, unarchive, redact, supersede), run against every backend."""

from __future__ import annotations

from datetime import timedelta

import pytest

from mainloop_mcp.errors import InvalidInput, NotFound
from mainloop_mcp.model import Granularity, NewMessage, NewSummary, NewThread, ThreadStatus, ThreadType
from mainloop_mcp.search.query import parse
from mainloop_mcp.store import Store
from mainloop_mcp.store.base import edit_store, memory_store
from tests.conftest import FakeClock

pytestmark = pytest.mark.anyio


async def test_threads_rename_move_and_unarchive_under_the_parent_rules(store: Store) -> None:
    edits = edit_store(store)
    garden = await store.create_thread(NewThread(thread_type=ThreadType.PROJECT, title="Garden"))
    house = await store.create_thread(NewThread(thread_type=ThreadType.PROJECT, title="House"))
    task = await store.create_thread(NewThread(thread_type=ThreadType.TASK, title="Seeds", parent_id=garden.id))
    assert (await edits.rename_thread(task.id, "  Buy seeds ")).title == "Buy seeds"
    assert (await edits.move_thread(task.id, house.id)).parent_id == house.id
    with pytest.raises(InvalidInput, match="only task threads move"):
        await edits.move_thread(garden.id, house.id)
    with pytest.raises(InvalidInput, match="is a task"):
        await edits.move_thread(task.id, task.id)
    with pytest.raises(InvalidInput, match="title must not be empty"):
        await edits.rename_thread(task.id, " ")
    await store.archive_thread(house.id)
    await store.archive_thread(task.id)
    with pytest.raises(InvalidInput, match="unarchive the parent first"):
        await edits.unarchive_thread(task.id)
    assert (await edits.unarchive_thread(house.id)).status is ThreadStatus.ACTIVE
    assert (await edits.unarchive_thread(task.id)).status is ThreadStatus.ACTIVE
    assert (await store.get_thread(task.id)).title == "Buy seeds"


async def test_redact_and_supersede_reach_search_and_summaries(store: Store, clock: FakeClock) -> None:
    edits, mem = edit_store(store), memory_store(store)
    main = await store.main_thread()
    at = clock.now - timedelta(hours=1)
    secret = await store.post_message(NewMessage(thread_id=main.id, content="token zebra42 here", created_at=at))
    day = at.replace(hour=0, minute=0, second=0, microsecond=0)
    await mem.put_summaries(
        [
            NewSummary(
                thread_id=main.id,
                granularity=Granularity.DAY,
                period_start=day,
                period_end=day + timedelta(days=1),
                content="someone pasted zebra42",
                source_message_count=1,
                token_count=4,
                summariser="test",
            )
        ]
    )
    gone = await edits.redact_message(secret.id, "claude-code")
    assert "zebra42" not in gone.content and gone.metadata["redacted"]["by"] == "claude-code"
    assert await mem.search_text(parse("zebra42")) == []
    assert await mem.get_summaries(main.id, Granularity.DAY, day, day + timedelta(days=1)) == []
    assert (await edits.get_message(secret.id)).content == gone.content

    wrong = await store.post_message(NewMessage(thread_id=main.id, content="walnut countertop"))
    fix = NewMessage(thread_id=main.id, content="oak countertop", metadata={"corrects": wrong.id})
    correction = await edits.supersede_message(wrong.id, fix)
    assert (await edits.get_message(wrong.id)).metadata["superseded_by"] == correction.id
    assert (await edits.get_message(wrong.id)).content == "walnut countertop"
    assert await mem.search_text(parse("walnut")) == []
    assert [h.id for h in await mem.search_text(parse("oak"))] == [correction.id]
    with pytest.raises(InvalidInput, match="already corrected"):
        await edits.supersede_message(wrong.id, fix)
    with pytest.raises(NotFound):
        await edits.get_message("msg_nope")
