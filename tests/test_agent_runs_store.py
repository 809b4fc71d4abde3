"""The AgentRunStore contract, run over every store backend that keeps agent runs."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Protocol

import anyio
import pytest

from mainloop_mcp.agents.reports import run_posts
from mainloop_mcp.errors import InvalidInput, NotFound
from mainloop_mcp.model import NewAgentRun, NewThread, Order, Role, RunStatus, ThreadFilter, ThreadType
from mainloop_mcp.store import Store
from mainloop_mcp.store.base import AgentRunStore
from tests.conftest import FakeClock, forged_cursor

pytestmark = pytest.mark.anyio


class RunsStore(Store, AgentRunStore, Protocol):
    pass


@pytest.fixture
async def runs(store: Store) -> AsyncIterator[RunsStore]:
    assert isinstance(store, AgentRunStore), f"{type(store).__name__} does not implement AgentRunStore"
    yield store


async def _project(s: RunsStore) -> str:
    return (await s.create_thread(NewThread(thread_type=ThreadType.PROJECT, title="P"))).id


def _new(parent: str, prompt: str = "do the thing", title: str = "Thing", owner: str = "h/1/1") -> NewAgentRun:
    return NewAgentRun(
        parent_thread_id=parent, title=title, prompt=prompt, work_folder="/w", runner="local", owner=owner
    )


async def _tasks(s: RunsStore) -> list[str]:
    page = await s.list_threads(ThreadFilter(thread_type=ThreadType.TASK, status=None))
    return [t.id for t in page.threads]


async def test_create_run_makes_the_task_thread_and_the_queued_run_together(runs: RunsStore) -> None:
    parent = await _project(runs)
    run = await runs.create_run(_new(parent))
    assert run.status is RunStatus.QUEUED and run.started_at is None and run.parent_thread_id == parent
    task = await runs.get_thread(run.thread_id)
    assert task.thread_type is ThreadType.TASK and task.parent_id == parent and task.title == "Thing"
    first = (await runs.read_messages(task.id)).messages
    assert [(m.role, m.content) for m in first] == [(Role.USER, "do the thing")]
    assert await runs.get_run(run.id) == run


@pytest.mark.parametrize("bad_parent", ["thr_missing", "task"])
async def test_a_refused_run_leaves_no_thread_behind(runs: RunsStore, bad_parent: str) -> None:
    parent = await _project(runs)
    if bad_parent == "task":
        bad_parent = (await runs.create_run(_new(parent))).thread_id
    before = await _tasks(runs)
    with pytest.raises((NotFound, InvalidInput)):
        await runs.create_run(_new(bad_parent))
    assert await _tasks(runs) == before
    assert len((await runs.list_runs()).runs) == len(before)


async def test_finish_posts_result_and_a_one_line_outcome_once(runs: RunsStore, clock: FakeClock) -> None:
    parent = await _project(runs)
    run = await runs.create_run(_new(parent))
    clock.advance(seconds=1)
    started = await runs.start_run(run.id, external_id="job-1")
    assert started.status is RunStatus.RUNNING and started.external_id == "job-1" and started.started_at
    clock.advance(seconds=1)
    done = await runs.finish_run(run.id, RunStatus.SUCCEEDED, result="line one\nline two", posts=run_posts)
    assert done.status is RunStatus.SUCCEEDED and done.finished_at and done.result == "line one\nline two"
    again = await runs.finish_run(run.id, RunStatus.FAILED, error="late", posts=run_posts)
    assert again == done
    assert (await runs.start_run(run.id)) == done  # a finished run never goes back to running
    task = (await runs.read_messages(run.thread_id, order=Order.OLDEST)).messages
    assert [m.role for m in task] == [Role.USER, Role.AGENT] and task[1].content == "line one\nline two"
    outcome = (await runs.read_messages(parent)).messages
    assert [m.content for m in outcome] == [f"Agent run {run.id} ('Thing') succeeded: line one"]


async def test_racing_finishes_count_once(runs: RunsStore) -> None:
    parent = await _project(runs)
    run = await runs.create_run(_new(parent))
    ended: list[RunStatus] = []

    async def finish(status: RunStatus) -> None:
        ended.append(
            (await runs.finish_run(run.id, status, result=status.value, error=status.value, posts=run_posts)).status
        )

    async with anyio.create_task_group() as tg:
        for status in (RunStatus.SUCCEEDED, RunStatus.CANCELLED, RunStatus.FAILED):
            tg.start_soon(finish, status)
    final = await runs.get_run(run.id)
    assert ended == [final.status] * 3  # every caller gets the one finish that counted
    assert len((await runs.read_messages(parent)).messages) == 1
    assert [m.role for m in (await runs.read_messages(run.thread_id)).messages] == [Role.AGENT, Role.USER]


async def test_finish_needs_a_final_status(runs: RunsStore) -> None:
    run = await runs.create_run(_new(await _project(runs)))
    with pytest.raises(InvalidInput, match="final status"):
        await runs.finish_run(run.id, RunStatus.RUNNING, posts=run_posts)


async def test_huge_results_are_kept_whole_and_clipped_in_the_message(runs: RunsStore) -> None:
    run = await runs.create_run(_new(await _project(runs)))
    big = "z" * (2 * 1024 * 1024)
    done = await runs.finish_run(run.id, RunStatus.SUCCEEDED, result=big, posts=run_posts)
    assert done.result == big
    posted = (await runs.read_messages(run.thread_id)).messages[0].content
    assert len(posted.encode()) <= 1024 * 1024 and "output truncated: it was 2,097,152 bytes" in posted


async def test_interrupt_unfinished_ends_queued_and_running_runs_of_gone_owners_only(runs: RunsStore) -> None:
    parent = await _project(runs)
    queued = await runs.create_run(_new(parent, title="q", owner="dead"))
    running = await runs.create_run(_new(parent, title="r", owner="dead"))
    await runs.start_run(running.id)
    finished = await runs.create_run(_new(parent, title="f", owner="dead"))
    await runs.finish_run(finished.id, RunStatus.FAILED, error="boom", posts=run_posts)
    other_hub = await runs.create_run(_new(parent, title="alive", owner="alive"))
    asked: list[str] = []

    def gone(owner: str) -> bool:
        asked.append(owner)
        return owner == "dead"

    interrupted = await runs.interrupt_unfinished("restarted", gone, posts=run_posts)
    assert sorted(r.id for r in interrupted) == sorted([queued.id, running.id])
    assert sorted(asked) == ["alive", "dead", "dead"]
    assert {r.status for r in interrupted} == {RunStatus.INTERRUPTED} and {r.error for r in interrupted} == {
        "restarted"
    }
    assert (await runs.get_run(finished.id)).status is RunStatus.FAILED
    assert (await runs.get_run(other_hub.id)).status is RunStatus.QUEUED
    assert await runs.interrupt_unfinished("again", gone, posts=run_posts) == []
    last = (await runs.read_messages(queued.thread_id)).messages[0]
    assert last.role is Role.AGENT and last.content == "Agent run interrupted: restarted"


async def test_list_runs_filters_and_pages_newest_first(runs: RunsStore, clock: FakeClock) -> None:
    a, b = await _project(runs), await _project(runs)
    made = []
    for i in range(5):
        clock.advance(seconds=1)
        made.append(await runs.create_run(_new(a if i % 2 == 0 else b, title=f"r{i}")))
    await runs.start_run(made[4].id)
    page = await runs.list_runs(limit=2)
    assert [r.title for r in page.runs] == ["r4", "r3"] and page.next_cursor
    rest = await runs.list_runs(limit=10, cursor=page.next_cursor)
    assert [r.title for r in rest.runs] == ["r2", "r1", "r0"] and rest.next_cursor is None
    assert [r.title for r in (await runs.list_runs(parent_thread_id=a)).runs] == ["r4", "r2", "r0"]
    assert [r.title for r in (await runs.list_runs(status=RunStatus.RUNNING)).runs] == ["r4"]
    with pytest.raises(InvalidInput):
        await runs.list_runs(cursor="bogus")
    for position in (["x", "y"], [1.5, "r"], [1], [1, "r", 2], {"a": 1}):
        with pytest.raises(InvalidInput, match="not a runs cursor"):
            await runs.list_runs(cursor=forged_cursor("runs", position))
    with pytest.raises(NotFound, match="'run_nope'"):
        await runs.get_run("run_nope")


async def test_runs_survive_reopening_the_store(store_url: str, clock: FakeClock) -> None:
    from mainloop_mcp.store import open_store

    first = await open_store(store_url, clock=clock)
    assert isinstance(first, AgentRunStore)
    parent = (await first.create_thread(NewThread(thread_type=ThreadType.PROJECT, title="P"))).id
    run = await first.create_run(_new(parent))
    await first.close()
    second = await open_store(store_url, clock=clock)
    try:
        assert isinstance(second, AgentRunStore)
        assert (await second.get_run(run.id)) == run
    finally:
        await second.close()
