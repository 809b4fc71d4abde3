"""The store contract: written once, run against every backend in conftest.STORE_URLS."""

from __future__ import annotations

from datetime import timedelta

import pytest

from mainloop_mcp.errors import Conflict, InvalidInput, NotFound
from mainloop_mcp.model import NewMessage, NewThread, Order, Role, ThreadFilter, ThreadStatus, ThreadType
from mainloop_mcp.store import Store, open_store
from tests.conftest import FakeClock, forged_cursor

pytestmark = pytest.mark.anyio


async def project(store: Store, title: str = "Garden") -> str:
    return (await store.create_thread(NewThread(thread_type=ThreadType.PROJECT, title=title))).id


async def test_exactly_one_main_thread_survives_reopen(store_url: str, clock: FakeClock) -> None:
    first = await open_store(store_url, clock=clock)
    main = await first.main_thread()
    await first.close()
    second = await open_store(store_url, clock=clock)
    try:
        assert (await second.main_thread()).id == main.id
        page = await second.list_threads(ThreadFilter(thread_type=ThreadType.MAIN, status=None))
        assert [t.id for t in page.threads] == [main.id]
    finally:
        await second.close()


async def test_project_parent_defaults_to_main(store: Store) -> None:
    main = await store.main_thread()
    thread = await store.get_thread(await project(store))
    assert thread.parent_id == main.id
    assert thread.thread_type is ThreadType.PROJECT
    assert thread.status is ThreadStatus.ACTIVE


async def test_project_under_another_project_is_refused(store: Store) -> None:
    parent = await project(store)
    with pytest.raises(InvalidInput, match="project thread's parent must be the main thread"):
        await store.create_thread(NewThread(thread_type=ThreadType.PROJECT, title="x", parent_id=parent))


async def test_task_needs_a_parent(store: Store) -> None:
    with pytest.raises(InvalidInput, match="task thread needs a parent_id"):
        await store.create_thread(NewThread(thread_type=ThreadType.TASK, title="t"))


async def test_task_under_task_is_refused_and_nothing_is_written(store: Store) -> None:
    task = await store.create_thread(NewThread(thread_type=ThreadType.TASK, title="t", parent_id=await project(store)))
    before = await store.list_threads(ThreadFilter(status=None))
    with pytest.raises(InvalidInput, match="is a task"):
        await store.create_thread(NewThread(thread_type=ThreadType.TASK, title="t2", parent_id=task.id))
    after = await store.list_threads(ThreadFilter(status=None))
    assert after.threads == before.threads


async def test_unknown_parent_is_not_found(store: Store) -> None:
    with pytest.raises(NotFound, match="no thread with id 'thr_missing'"):
        await store.create_thread(NewThread(thread_type=ThreadType.TASK, title="t", parent_id="thr_missing"))


async def test_second_main_thread_is_refused(store: Store) -> None:
    with pytest.raises(InvalidInput, match="exactly one main thread"):
        await store.create_thread(NewThread(thread_type=ThreadType.MAIN, title="another"))


async def test_archive_hides_from_default_listing(store: Store) -> None:
    pid = await project(store)
    archived = await store.archive_thread(pid)
    assert archived.status is ThreadStatus.ARCHIVED
    active = await store.list_threads(ThreadFilter())
    assert pid not in [t.id for t in active.threads]
    only_archived = await store.list_threads(ThreadFilter(status=ThreadStatus.ARCHIVED))
    assert [t.id for t in only_archived.threads] == [pid]


async def test_main_thread_cannot_be_archived(store: Store) -> None:
    with pytest.raises(InvalidInput, match="main thread can't be archived"):
        await store.archive_thread((await store.main_thread()).id)


async def test_update_thread_context_bumps_updated_at(store: Store, clock: FakeClock) -> None:
    pid = await project(store)
    clock.advance(minutes=5)
    updated = await store.update_thread_context(pid, "Goal: tomatoes by July")
    assert updated.thread_context == "Goal: tomatoes by July"
    assert updated.updated_at == clock.now


async def test_list_threads_filters_and_paginates(store: Store, clock: FakeClock) -> None:
    ids = []
    for i in range(7):
        clock.advance(seconds=1)
        ids.append(await project(store, f"p{i}"))
    seen, cursor = [], None
    while True:
        page = await store.list_threads(ThreadFilter(thread_type=ThreadType.PROJECT), limit=3, cursor=cursor)
        seen += [t.id for t in page.threads]
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
    assert seen == list(reversed(ids))
    children = await store.list_threads(ThreadFilter(parent_id=(await store.main_thread()).id), limit=50)
    assert len(children.threads) == 7


async def test_post_and_read_newest_first(store: Store, clock: FakeClock) -> None:
    pid = await project(store)
    for i in range(5):
        clock.advance(seconds=1)
        await store.post_message(NewMessage(thread_id=pid, content=f"m{i}"))
    page = await store.read_messages(pid, limit=2)
    assert [m.content for m in page.messages] == ["m4", "m3"]
    page2 = await store.read_messages(pid, limit=2, cursor=page.next_cursor)
    assert [m.content for m in page2.messages] == ["m2", "m1"]
    page3 = await store.read_messages(pid, limit=2, cursor=page2.next_cursor)
    assert [m.content for m in page3.messages] == ["m0"]
    assert page3.next_cursor is None


async def test_read_by_time_range_oldest_first(store: Store, clock: FakeClock) -> None:
    pid = await project(store)
    start = clock.now
    for i in range(6):
        clock.advance(hours=1)
        await store.post_message(NewMessage(thread_id=pid, content=f"h{i + 1}"))
    page = await store.read_messages(
        pid, order=Order.OLDEST, since=start + timedelta(hours=2), until=start + timedelta(hours=5)
    )
    assert [m.content for m in page.messages] == ["h2", "h3", "h4"]


async def test_same_timestamp_messages_keep_post_order(store: Store) -> None:
    pid = await project(store)
    for i in range(4):
        await store.post_message(NewMessage(thread_id=pid, content=f"s{i}"))
    oldest = await store.read_messages(pid, order=Order.OLDEST, limit=3)
    rest = await store.read_messages(pid, order=Order.OLDEST, limit=3, cursor=oldest.next_cursor)
    assert [m.content for m in oldest.messages + rest.messages] == ["s0", "s1", "s2", "s3"]


async def test_idempotency_key_returns_first_message(store: Store) -> None:
    pid = await project(store)
    first = await store.post_message(NewMessage(thread_id=pid, content="once", idempotency_key="k-1"))
    again = await store.post_message(NewMessage(thread_id=pid, content="once", idempotency_key="k-1"))
    assert again == first
    page = await store.read_messages(pid)
    assert [m.id for m in page.messages] == [first.id]


async def test_idempotency_key_reused_for_other_content_is_a_conflict(store: Store) -> None:
    pid = await project(store)
    await store.post_message(NewMessage(thread_id=pid, content="once", idempotency_key="k-2"))
    with pytest.raises(Conflict, match="already used"):
        await store.post_message(NewMessage(thread_id=pid, content="different", idempotency_key="k-2"))
    assert len((await store.read_messages(pid)).messages) == 1


async def test_post_to_unknown_thread_writes_nothing(store: Store) -> None:
    with pytest.raises(NotFound):
        await store.post_message(NewMessage(thread_id="thr_nope", content="x"))


async def test_message_keeps_role_and_metadata(store: Store, clock: FakeClock) -> None:
    pid = await project(store)
    m = await store.post_message(
        NewMessage(thread_id=pid, role=Role.AGENT, content="done", metadata={"run": "r1", "n": [1, 2]})
    )
    assert m.role is Role.AGENT
    assert m.metadata == {"run": "r1", "n": [1, 2]}
    assert m.created_at == clock.now
    assert (await store.get_thread(pid)).updated_at == clock.now


async def test_append_messages_is_all_or_nothing(store: Store) -> None:
    pid = await project(store)
    good = [NewMessage(thread_id=pid, content=f"b{i}") for i in range(3)]
    with pytest.raises(NotFound):
        await store.append_messages([*good, NewMessage(thread_id="thr_nope", content="bad")])
    assert (await store.read_messages(pid)).messages == []
    assert await store.append_messages(good) == 3
    assert len((await store.read_messages(pid)).messages) == 3


async def test_bad_cursor_and_limit_are_clear_errors(store: Store) -> None:
    pid = await project(store)
    with pytest.raises(InvalidInput, match="cursor"):
        await store.read_messages(pid, cursor="garbage!")
    with pytest.raises(InvalidInput, match="cursor"):
        thread_cursor = (await store.list_threads(ThreadFilter(status=None), limit=1)).next_cursor
        assert thread_cursor is not None
        await store.read_messages(pid, cursor=thread_cursor)
    for position in (["x", "y"], [1.5, 2], [1], [1, 2, 3], [True, 1], None):
        with pytest.raises(InvalidInput, match="not a messages:newest cursor"):
            await store.read_messages(pid, cursor=forged_cursor("messages:newest", position))
        with pytest.raises(InvalidInput, match="not a threads cursor"):
            await store.list_threads(ThreadFilter(status=None), cursor=forged_cursor("threads", position))
    with pytest.raises(InvalidInput, match="limit must be between 1 and 500"):
        await store.read_messages(pid, limit=501)
    with pytest.raises(InvalidInput, match="must be before"):
        now = (await store.main_thread()).created_at
        await store.read_messages(pid, since=now, until=now)


async def test_read_messages_of_unknown_thread_is_not_found(store: Store) -> None:
    with pytest.raises(NotFound):
        await store.read_messages("thr_nope")


async def test_batch_with_repeated_key_stores_it_once(store: Store) -> None:
    pid = await project(store)
    batch = [
        NewMessage(thread_id=pid, content="a", idempotency_key="dup"),
        NewMessage(thread_id=pid, content="a", idempotency_key="dup"),
        NewMessage(thread_id=pid, content="b"),
    ]
    assert await store.append_messages(batch) == 2
    assert sorted(m.content for m in (await store.read_messages(pid)).messages) == ["a", "b"]
    assert await store.append_messages(batch[:1]) == 0
