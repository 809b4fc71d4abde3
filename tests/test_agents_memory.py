"""Where agents and memory meet: chat replies see the pyramid; the agent can write the summaries."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from mainloop_mcp.hub import open_hub
from mainloop_mcp.memory.compact import compact
from mainloop_mcp.model import Granularity, NewMessage, NewThread, ThreadType
from mainloop_mcp.store import Store
from tests.agent_support import agent_settings, records
from tests.conftest import FakeClock

pytestmark = pytest.mark.anyio

NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)


async def _no_progress(_: str) -> None:
    return None


async def seed(store: Store, thread_id: str) -> None:
    """Nine days of history, three messages each morning, then one fresh message."""
    batch = [
        NewMessage(
            thread_id=thread_id,
            content=f"day {d} hour {h}: watered the tomatoes",
            created_at=NOW - timedelta(days=d, hours=12 - h),
        )
        for d in range(10, 1, -1)
        for h in range(9, 12)
    ]
    batch.append(NewMessage(thread_id=thread_id, content="fresh: the first tomato is red", created_at=NOW))
    await store.append_messages(batch)


def prompts(tmp_path: Path) -> list[str]:
    return [p.read_text() for p in sorted(records(tmp_path).glob("*.prompt"))]


async def test_chat_reply_sees_the_pyramid_not_just_recent_messages(tmp_path: Path) -> None:
    async with open_hub(agent_settings(tmp_path), clock=FakeClock(NOW)) as hub:
        thread = await hub.store.create_thread(NewThread(thread_type=ThreadType.PROJECT, title="Garden"))
        await seed(hub.store, thread.id)
        await hub.agents.chat(thread.id, "how are the tomatoes?", _no_progress)
    (prompt,) = [p for p in prompts(tmp_path) if "how are the tomatoes?" in p]
    assert "[day 2026-11-2" in prompt and "[week 2026-W4" in prompt  # older days come as summaries
    assert "fresh: the first tomato is red" in prompt
    assert "Reply to the last user message below" in prompt


async def test_agent_summariser_writes_the_summaries(tmp_path: Path) -> None:
    async with open_hub(agent_settings(tmp_path, summariser="agent"), clock=FakeClock(NOW)) as hub:
        thread = await hub.store.create_thread(NewThread(thread_type=ThreadType.PROJECT, title="Garden"))
        await seed(hub.store, thread.id)
        await compact(hub.pyramid(), thread.id)
        pyramid = hub.pyramid()
        days = await pyramid.store.get_summaries(thread.id, Granularity.DAY, NOW - timedelta(days=30), NOW)
    assert days, "compaction made daily summaries"
    assert {s.summariser for s in days} == {"agent"}
    assert all(s.content.startswith("fake-claude ") for s in days)
    assert any("watered the tomatoes" in p for p in prompts(tmp_path))


async def test_a_failing_agent_summariser_leaves_no_summary(tmp_path: Path) -> None:
    async with open_hub(agent_settings(tmp_path, summariser="agent"), clock=FakeClock(NOW)) as hub:
        thread = await hub.store.create_thread(NewThread(thread_type=ThreadType.PROJECT, title="FAIL"))
        await hub.store.append_messages(
            [NewMessage(thread_id=thread.id, content="FAIL this one", created_at=NOW - timedelta(days=3))]
        )
        with pytest.raises(Exception, match="summariser failed"):
            await compact(hub.pyramid(), thread.id)
        pyramid = hub.pyramid()
        assert await pyramid.store.get_summaries(thread.id, Granularity.DAY, NOW - timedelta(days=30), NOW) == []
