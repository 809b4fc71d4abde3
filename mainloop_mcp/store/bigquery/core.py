"""What every part of the BigQuery store stands on: the client for one dataset, the clock, the table
names, and the post order of messages with equal times. `store.BigQueryStore` puts the parts together."""

from __future__ import annotations

import threading
import time

from mainloop_mcp.model import (
    Clock,
)
from mainloop_mcp.store.bigquery.client import BigQueryClient
from mainloop_mcp.store.timestamps import to_micros


class _Sequencer:
    """Post order for messages with equal timestamps: a per-process, strictly rising microsecond count."""

    def __init__(self) -> None:
        self._last = 0
        self._lock = threading.Lock()

    def next(self) -> int:
        with self._lock:
            self._last = max(self._last + 1, time.time_ns() // 1000)
            return self._last


class BigQueryCore:
    """The client, the clock and the table names every part of the store uses."""

    def __init__(self, bq: BigQueryClient, clock: Clock) -> None:
        self.bq = bq
        self._clock = clock
        self._seq = _Sequencer()
        self._threads = bq.target.table("threads")
        self._messages = bq.target.table("messages")

    def _now(self) -> int:
        return to_micros(self._clock())
