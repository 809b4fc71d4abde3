"""Compaction on a new install's first day, at midnight in the hub's zone, across DST, and past a broken thread."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import anyio
import pytest

from mainloop_mcp.memory.compact import compact
from mainloop_mcp.memory.pyramid import Pyramid
from mainloop_mcp.memory.summariser import ExtractiveSummariser, SummaryRequest
from mainloop_mcp.model import Granularity, NewMessage, NewThread, ThreadType, utc_now
from mainloop_mcp.store import Store, open_store
from mainloop_mcp.store.base import memory_store
from tests.conftest import VENV_BIN, FakeClock, sqlite_url

pytestmark = pytest.mark.anyio

BERLIN = ZoneInfo("Europe/Berlin")


@pytest.fixture
async def sqlite_store(tmp_path: Path, clock: FakeClock) -> AsyncIterator[Store]:
    store = await open_store(sqlite_url(tmp_path), clock=clock)
    try:
        yield store
    finally:
        await store.close()


async def thread_with(pyr: Pyramid, title: str, *times: datetime, parent: str | None = None) -> str:
    kind = ThreadType.TASK if parent else ThreadType.PROJECT
    thread = await pyr.store.create_thread(NewThread(thread_type=kind, title=title, parent_id=parent))
    for t in times:
        await pyr.store.post_message(NewMessage(thread_id=thread.id, content=f"note at {t.isoformat()}", created_at=t))
    return thread.id


async def test_a_thread_started_today_compacts_with_the_real_clock(sqlite_store: Store) -> None:
    pyr = Pyramid(memory_store(sqlite_store), ZoneInfo("UTC"), clock=utc_now)
    project = await thread_with(pyr, "Kitchen renovation", utc_now())
    await thread_with(pyr, "Order tiles", utc_now(), parent=project)
    report = await compact(pyr)
    assert (report.summaries_built, report.sync_messages_posted, report.failed) == (0, 0, [])
    assert (await compact(pyr, project)).failed == []


async def test_at_midnight_in_the_hub_zone_yesterday_is_finished_and_today_is_not(
    sqlite_store: Store, clock: FakeClock
) -> None:
    midnight = datetime(2026, 11, 24, tzinfo=BERLIN)
    clock.now = midnight.astimezone(UTC)  # 23:00 UTC on 11-23
    pyr = Pyramid(memory_store(sqlite_store), BERLIN, clock=clock)
    project = await thread_with(pyr, "Garden", midnight - timedelta(seconds=1))
    task = await thread_with(pyr, "Seeds", midnight - timedelta(minutes=5), midnight, parent=project)
    only_today = await thread_with(pyr, "Fence", midnight)
    report = await compact(pyr)
    assert report.failed == []
    assert report.summaries_built == 3  # 11-23 of the task, then 11-23 of the project (which now holds the sync)
    assert report.sync_messages_posted == 2  # the task's 11-23 into the project, the project's into main
    days = await pyr.store.get_summaries(
        task, Granularity.DAY, midnight - timedelta(days=2), midnight + timedelta(days=1)
    )
    assert [(d.period_start, d.source_message_count) for d in days] == [(midnight - timedelta(days=1), 1)]
    assert await pyr.store.get_summaries(only_today, Granularity.DAY, midnight, midnight + timedelta(days=1)) == []


async def test_the_25_hour_day_of_a_dst_change_is_compacted_whole(sqlite_store: Store, clock: FakeClock) -> None:
    dst_day = datetime(2026, 10, 25, tzinfo=BERLIN)  # clocks go back at 03:00 CEST
    next_midnight = datetime(2026, 10, 26, tzinfo=BERLIN)
    assert next_midnight.astimezone(UTC) - dst_day.astimezone(UTC) == timedelta(hours=25)
    clock.now = next_midnight.astimezone(UTC) + timedelta(minutes=1)
    pyr = Pyramid(memory_store(sqlite_store), BERLIN, clock=clock)
    thread = await thread_with(pyr, "Garden", dst_day + timedelta(minutes=30), next_midnight - timedelta(minutes=30))
    began_today = await thread_with(pyr, "Fence", next_midnight)
    report = await compact(pyr)
    assert report.failed == [] and report.summaries_built == 4  # day 10-25 and week 43, of Garden and of main
    (day,) = await pyr.store.get_summaries(thread, Granularity.DAY, dst_day, next_midnight)
    assert (day.period_start, day.period_end, day.source_message_count) == (dst_day, next_midnight, 2)
    assert await pyr.store.get_summaries(began_today, Granularity.DAY, dst_day, clock.now) == []


class FailsOnBroken(ExtractiveSummariser):
    async def summarise(self, request: SummaryRequest) -> str:
        if request.thread_title == "Broken":
            raise RuntimeError("the model is down")
        return await super().summarise(request)


async def test_one_failing_thread_does_not_stop_the_others(sqlite_store: Store, clock: FakeClock) -> None:
    pyr = Pyramid(memory_store(sqlite_store), ZoneInfo("UTC"), summariser=FailsOnBroken(), clock=clock)
    yesterday = clock.now - timedelta(days=1)
    broken = await thread_with(pyr, "Broken", yesterday)
    healthy = await thread_with(pyr, "Healthy", yesterday)
    report = await compact(pyr)
    assert [(f.thread_id, f.title) for f in report.failed] == [(broken, "Broken")]
    assert "the model is down" in report.failed[0].error
    assert len(await pyr.store.get_summaries(healthy, Granularity.DAY, yesterday - timedelta(days=1), clock.now)) == 1


async def test_the_command_line_compacts_a_fresh_store_on_its_first_day(tmp_path: Path) -> None:
    url = sqlite_url(tmp_path)
    store = await open_store(url)
    try:
        await thread_with(Pyramid(memory_store(store), ZoneInfo("UTC")), "Kitchen renovation", utc_now())
    finally:
        await store.close()
    env = {"MAINLOOP_CONFIG": str(tmp_path / "absent.toml"), "PATH": str(VENV_BIN)}
    with anyio.fail_after(60):
        done = await anyio.run_process([str(VENV_BIN / "mainloop"), "compact", "--store", url], env=env, check=False)
    assert done.returncode == 0, done.stderr.decode()
    assert json.loads(done.stdout)["failed"] == []
