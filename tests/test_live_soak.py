"""A short soak: two hub processes on one store, writers on both, readers that keep reconnecting.
Every post must reach every reader exactly once. (bench/live_bench.py runs the long one.)"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import ServedHub, start_hub, stop_hub
from tests.live_soak import soak

pytestmark = pytest.mark.anyio


async def test_no_event_lost_or_duplicated_with_two_processes_and_reconnecting_readers(tmp_path: Path) -> None:
    hubs: list[ServedHub] = [start_hub(tmp_path)]
    try:
        hubs.append(start_hub(tmp_path))
        result = await soak([h.mcp_url for h in hubs], writers_per_process=3, readers_per_process=2, seconds=4)
    finally:
        for hub in hubs:
            stop_hub(hub)
    print(result.line())
    assert result.posts > 20
    assert sum(r.reconnects for r in result.readers) > len(result.readers)
    assert (result.lost, result.duplicated, result.extra) == (0, 0, 0), result.line()
