"""SIGTERM and SIGINT end a running hub cleanly: no new agent runs, every run's processes killed and the
runs recorded interrupted, then exit. (Kubernetes stops pods with SIGTERM; uvicorn's own handling would
re-raise the signal after serving and kill the process before the hub's shutdown ran.)"""

from __future__ import annotations

import signal
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager

import anyio
import uvicorn

STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)


@asynccontextmanager
async def on_stop_signals(stop: Callable[[int], None]) -> AsyncIterator[None]:
    """While the block runs, SIGTERM/SIGINT call `stop(signum)` instead of ending the process."""
    async with anyio.create_task_group() as tg:

        async def listen() -> None:
            with anyio.open_signal_receiver(*STOP_SIGNALS) as received:
                async for signum in received:
                    stop(signum)

        tg.start_soon(listen)
        try:
            yield
        finally:
            tg.cancel_scope.cancel()


class HubServer(uvicorn.Server):
    """uvicorn without its signal handlers: `mainloop serve` handles the signals and stops it."""

    @contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield

    def stop(self, _signum: int) -> None:
        """First signal: finish in-flight requests (within the grace period); a second: stop now."""
        if self.should_exit:
            self.force_exit = True
        self.should_exit = True
