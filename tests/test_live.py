"""The change feed: every committed write becomes one change, delivered to sessions of both protocol eras."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp import Client
from mcp_types import LoggingMessageNotificationParams

from mainloop_mcp.agents.reports import run_posts
from mainloop_mcp.changes.feed import ChangeFeed
from mainloop_mcp.config import Settings
from mainloop_mcp.hub import Hub, open_hub
from mainloop_mcp.model import NewAgentRun, NewMessage, NewThread, Role, RunStatus, ThreadType
from mainloop_mcp.server import create_server
from mainloop_mcp.store.changes import Change
from mainloop_mcp.store.sqlite.store import SqliteStore
from tests.agent_support import agent_settings
from tests.conftest import FakeClock

pytestmark = pytest.mark.anyio


def feed_of(hub: Hub) -> ChangeFeed:
    assert hub.changes is not None
    return hub.changes


async def collect(feed: ChangeFeed, action: Any) -> list[Change]:
    """The changes published while `action()` runs (and just after)."""
    seen: list[Change] = []
    await feed.catch_up()
    unsubscribe = feed.subscribe(seen.append)
    try:
        await action()
        await feed.catch_up()
    finally:
        unsubscribe()
    return seen


async def test_every_kind_of_write_logs_its_change_in_order(hub: Hub) -> None:
    store = hub.store
    assert isinstance(store, SqliteStore)
    feed = feed_of(hub)
    main = await store.main_thread()
    project = await store.create_thread(NewThread(thread_type=ThreadType.PROJECT, title="P"))

    async def writes() -> None:
        await store.post_message(NewMessage(thread_id=main.id, role=Role.USER, content="hi"))
        batch = [NewMessage(thread_id=project.id, role=Role.USER, content=str(i)) for i in range(50)]
        await store.append_messages(batch)
        await store.archive_thread(project.id)
        run = await store.create_run(
            NewAgentRun(title="t", prompt="p", parent_thread_id=main.id, work_folder="/tmp", runner="local", owner="o")
        )
        await store.finish_run(run.id, RunStatus.SUCCEEDED, result="done", posts=run_posts)

    changes = await collect(feed, writes)
    uris = [c.uri for c in changes]
    assert uris[0] == f"thread://{main.id}"
    # a 50-message batch is one change for its thread, not 50
    assert uris[1] == f"thread://{project.id}"
    assert set(uris[2:4]) == {f"thread://{project.id}", "threads://active"}  # archived: the tree changed
    runs = [u for u in uris if u.startswith("agent://")]
    assert len(runs) == 2 and len(set(runs)) == 1  # created, finished
    assert uris.count("agents://recent") == 2
    assert [c.seq for c in changes] == sorted({c.seq for c in changes})
    assert changes[-1].seq == feed.last_seq


async def test_resume_gives_every_later_change_once_and_resync_beyond_history(hub: Hub) -> None:
    feed = feed_of(hub)
    main = await hub.store.main_thread()
    mark = feed.last_seq
    for i in range(5):
        await hub.store.post_message(NewMessage(thread_id=main.id, role=Role.USER, content=f"m{i}"))
    await feed.catch_up()
    later = feed.since(mark)
    assert later is not None and [c.seq for c in later] == list(range(mark + 1, mark + 6))
    assert feed.since(feed.last_seq) == []
    assert feed.since(feed.last_seq + 1) is None  # a number this store never gave out
    small = ChangeFeed(await hub.store.change_log(), history=3)  # type: ignore[attr-defined]
    await small.start()
    assert small.since(mark) is None and small.since(feed.last_seq - 3) is not None
    await small.close()


@pytest.fixture
async def two_clients(hub: Hub, request: pytest.FixtureRequest) -> AsyncIterator[tuple[Client, Client]]:
    server = create_server(hub)
    async with Client(server, mode="legacy") as writer, Client(server, mode=request.param) as reader:
        yield writer, reader


@pytest.mark.parametrize("two_clients", ["auto"], indirect=True)
async def test_modern_listen_hears_posts_tree_and_agent_changes_made_elsewhere(
    hub: Hub, two_clients: tuple[Client, Client]
) -> None:
    writer, reader = two_clients
    main = await hub.store.main_thread()
    async with (
        reader.listen(
            resources_list_changed=True, resource_subscriptions=[f"thread://{main.id}", "threads://active"]
        ) as sub,
        reader.listen(resource_subscriptions=["threads://activity"]) as triage,
    ):
        await writer.call_tool("post_message", {"thread_id": main.id, "content": "from the other client"})
        with anyio.fail_after(5):
            event = await anext(aiter(sub))
            assert getattr(await anext(aiter(triage)), "uri", None) == "threads://activity"  # any thread's post
        assert getattr(event, "uri", None) == f"thread://{main.id}"
        # written by the store directly, not by a tool: still heard
        await hub.store.create_thread(NewThread(thread_type=ThreadType.PROJECT, title="new"))
        with anyio.fail_after(5):
            kinds = {type(await anext(aiter(sub))).__name__ for _ in range(2)}
        assert kinds == {"ResourceUpdated", "ResourcesListChanged"}


# The client marks the handshake-era calls deprecated; serving those clients is the point here.
@pytest.mark.filterwarnings("ignore::mcp.shared.exceptions.MCPDeprecationWarning")
@pytest.mark.parametrize("two_clients", ["legacy"], indirect=True)
async def test_handshake_era_subscribe_updated_list_changed_and_logging(
    hub: Hub, two_clients: tuple[Client, Client]
) -> None:
    writer, _ = two_clients
    got: list[tuple[str, Any]] = []
    logs: list[LoggingMessageNotificationParams] = []
    enough = anyio.Event()

    def check() -> None:
        if len([m for m, _ in got if m.startswith("notifications/resources")]) >= 2 and logs:
            enough.set()

    async def on_message(message: Any) -> None:
        root = getattr(message, "root", message)
        method = getattr(root, "method", None)
        if method is not None:
            got.append((method, getattr(root, "params", None)))
            check()

    async def on_log(params: LoggingMessageNotificationParams) -> None:
        logs.append(params)
        check()

    main = await hub.store.main_thread()
    async with Client(create_server(hub), mode="legacy", message_handler=on_message, logging_callback=on_log) as c:
        caps = c.server_capabilities
        assert caps.resources is not None and caps.resources.subscribe and caps.resources.list_changed
        assert caps.logging is not None
        await c.subscribe_resource(f"thread://{main.id}")
        await c.set_logging_level("info")
        await writer.call_tool("post_message", {"thread_id": main.id, "content": "hello"})
        await writer.call_tool("create_thread", {"title": "P", "thread_type": "project"})
        with anyio.fail_after(5):
            await enough.wait()
        methods = [m for m, _ in got]
        assert "notifications/resources/updated" in methods and "notifications/resources/list_changed" in methods
        updated = next(p for m, p in got if m == "notifications/resources/updated")
        assert updated.uri == f"thread://{main.id}" and updated.meta["io.mainloop/seq"] > 0
        assert logs[0].level == "info" and logs[0].data["changed"] == "threads://active"
        await c.unsubscribe_resource(f"thread://{main.id}")
        got.clear()
        await writer.call_tool("post_message", {"thread_id": main.id, "content": "unheard"})
        await feed_of(hub).catch_up()
        await anyio.sleep(0.2)
        assert "notifications/resources/updated" not in [m for m, _ in got]


async def test_an_agent_run_is_announced_on_every_status_change(tmp_path: Path) -> None:
    async with open_hub(agent_settings(tmp_path)) as hub:
        feed = feed_of(hub)
        main = await hub.store.main_thread()
        await feed.catch_up()
        seen: list[Change] = []
        unsubscribe = feed.subscribe(seen.append)
        spawn = {"prompt": "work\nSLEEP=0.2", "parent_thread_id": main.id, "work_folder": str(tmp_path / "work")}
        async with (
            Client(create_server(hub)) as client,
            client.listen(resource_subscriptions=["agents://recent"]) as sub,
        ):
            made = await client.call_tool("spawn_agent", spawn)
            assert not made.is_error and made.structured_content is not None, made
            run_id = made.structured_content["id"]
            with anyio.fail_after(5):
                await anext(aiter(sub))  # the page hears of it without polling
            done = await hub.agents.wait(run_id)
            await feed.catch_up()
        unsubscribe()
        assert done.status is RunStatus.SUCCEEDED
        # queued (created), running, succeeded: one agent:// change each
        assert [c.uri for c in seen].count(f"agent://{run_id}") == 3
        assert f"thread://{done.thread_id}" in [c.uri for c in seen]  # the result posted into its task thread


async def test_the_feed_survives_a_failing_read_and_loses_nothing(hub: Hub) -> None:
    feed = feed_of(hub)
    log = feed._log  # the feed's own change log
    real = log.changes_after
    calls = 0

    async def flaky(seq: int, limit: int) -> list[Change] | None:
        nonlocal calls
        calls += 1
        if calls <= 2:
            raise RuntimeError("database is locked")
        return await real(seq, limit)

    main = await hub.store.main_thread()
    mark = feed.last_seq
    heard = anyio.Event()
    unsubscribe = feed.subscribe(lambda _: heard.set())
    log.changes_after = flaky  # type: ignore[method-assign]
    try:
        await hub.store.post_message(NewMessage(thread_id=main.id, role=Role.USER, content="still heard"))
        with anyio.fail_after(5):
            await heard.wait()
    finally:
        log.changes_after = real  # type: ignore[method-assign]
        unsubscribe()
    assert calls > 2 and [c.uri for c in feed.since(mark) or []] == [f"thread://{main.id}"]


def memory_changes(hub: Hub) -> list[str]:
    return [c.uri for c in feed_of(hub).since(0) or [] if c.uri.startswith("memory://")]


@pytest.mark.filterwarnings("ignore::mcp.shared.exceptions.MCPDeprecationWarning")
@pytest.mark.parametrize("mode", ["legacy", "auto"])
async def test_compaction_announces_memory_to_period_subscribers(settings: Settings, mode: str) -> None:
    clock = FakeClock()
    async with open_hub(settings, clock=clock) as hub:
        project = await hub.store.create_thread(NewThread(thread_type=ThreadType.PROJECT, title="Garden"))
        await hub.store.post_message(NewMessage(thread_id=project.id, content="Planted the beans."))
        clock.advance(days=2)
        period = f"memory://{project.id}/2026-11-24"
        heard: list[str] = []
        done = anyio.Event()

        async def on_message(message: Any) -> None:
            root = getattr(message, "root", message)
            if getattr(root, "method", "") == "notifications/resources/updated":
                heard.append(str(root.params.uri))
                done.set()

        async with Client(create_server(hub), mode=mode, message_handler=on_message) as c:
            if mode == "legacy":
                await c.subscribe_resource(period)
                await c.call_tool("compact", {})
                with anyio.fail_after(5):
                    await done.wait()
            else:
                async with c.listen(resource_subscriptions=[period]) as stream:
                    await c.call_tool("compact", {})
                    with anyio.fail_after(5):
                        event = await anext(aiter(stream))
                    heard.append(str(getattr(event, "uri", "")))
        # The feed reads committed changes in the background: wait for the second thread's record too.
        for _ in range(250):  # up to 5 s
            if len(memory_changes(hub)) >= 2:
                break
            await anyio.sleep(0.02)
        memory = memory_changes(hub)
    assert heard[0] == period
    # each thread's summaries built in one go (the project's, then main's from its digest): one record each
    assert f"memory://{project.id}" in memory and len(memory) == len(set(memory)) == 2
