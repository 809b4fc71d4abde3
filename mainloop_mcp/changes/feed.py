"""The change feed: reads the store's change log and hands every change, once and in order, to listeners.

One feed per process. It wakes when this process commits (at once) or every `poll_interval` seconds
(to see other processes' commits; the log answers that check without reading a table when nothing
changed). It keeps the newest `history` changes so a client that reconnects with the last sequence
number it saw gets every later change exactly once (`since`), or learns it must resync.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Callable

import anyio

from mainloop_mcp.store.changes import Change, ChangeLog

log = logging.getLogger(__name__)

HISTORY = 10_000
READ_BATCH = 1_000
# The store keeps this many changes (more than HISTORY, so a restarted process fills its history).
STORE_KEEP = 2 * HISTORY

ChangeCallback = Callable[[Change], None]


class ChangeFeed:
    def __init__(self, log_: ChangeLog, *, history: int = HISTORY, poll_interval: float = 0.1) -> None:
        self._log = log_
        self._ring: deque[Change] = deque(maxlen=history)
        self._listeners: dict[object, ChangeCallback] = {}
        self._kicked = anyio.Event()
        self._poll_interval = poll_interval
        self._floor = 0
        self._last_pruned = 0
        self.last_seq = 0
        log_.on_commit(self.kick)

    async def start(self) -> None:
        """Fill the history from the log; changes before it are beyond resume."""
        latest = await self._log.latest(self._ring.maxlen or HISTORY)
        self._ring.extend(latest)
        if latest:
            self._floor, self.last_seq = latest[0].seq - 1, latest[-1].seq
        self._last_pruned = self.last_seq

    async def run(self) -> None:
        """Publish changes until cancelled. A failing read (a busy or unreachable store) is logged and
        tried again on the next round; nothing is skipped, since reading resumes at the last sequence."""
        failures = 0
        while True:
            with anyio.move_on_after(self._poll_interval * 2 ** min(failures, 6)):
                await self._kicked.wait()
            self._kicked = anyio.Event()
            try:
                await self.catch_up()
                failures = 0
            except Exception as exc:
                failures += 1
                log.warning("reading the change log failed (%s); trying again", exc)

    async def catch_up(self) -> None:
        """Publish every change committed so far that this feed has not published yet."""
        while (batch := await self._log.changes_after(self.last_seq, READ_BATCH)) is not None:
            for change in batch:
                self._publish(change)
            if len(batch) < READ_BATCH:
                break
        if self.last_seq - self._last_pruned >= STORE_KEEP // 4:
            self._last_pruned = self.last_seq
            await self._log.prune(STORE_KEEP)

    def kick(self) -> None:
        """Look at the log now (this process just committed)."""
        self._kicked.set()

    def _publish(self, change: Change) -> None:
        if change.seq <= self.last_seq:
            return
        if len(self._ring) == self._ring.maxlen:
            self._floor = self._ring[0].seq
        self._ring.append(change)
        self.last_seq = change.seq
        for listener in list(self._listeners.values()):
            try:
                listener(change)
            except Exception:  # one broken listener must not starve the others
                log.exception("change listener failed on %s", change)

    def subscribe(self, listener: ChangeCallback) -> Callable[[], None]:
        """Call `listener(change)` for every change published from now on; returns the unsubscribe."""
        token = object()
        self._listeners[token] = listener
        return lambda: self._listeners.pop(token, None) and None

    def since(self, seq: int) -> list[Change] | None:
        """Every known change after `seq`, oldest first; None when some of them are no longer kept
        (or `seq` is from a store this feed never saw): the caller must refetch everything."""
        if seq < self._floor or seq > self.last_seq:
            return None
        return [change for change in self._ring if change.seq > seq]

    async def close(self) -> None:
        await self._log.close()
