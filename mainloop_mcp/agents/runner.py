"""Runners: where a spawned agent actually runs. One interface, a local pool and a Kubernetes runner.

Contract: `run` waits for a slot, calls `started` once the run really starts, and returns the
agent's text or raises AgentFailed / TimeoutError. Cancelling the caller stops the run for good
(the local runner kills the server's process tree; the Kubernetes runner deletes the Job).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import anyio

from mainloop_mcp.agents.backends import Backend
from mainloop_mcp.agents.claude_code import ask_once
from mainloop_mcp.agents.sandbox import Sandbox

Started = Callable[[str | None], Awaitable[object]]


@dataclass(frozen=True)
class AgentJob:
    run_id: str
    prompt: str
    work_folder: Path


class Runner(Protocol):
    name: str

    async def run(self, job: AgentJob, started: Started) -> str: ...


class LocalRunner:
    """Runs each agent as its own backend server process on this machine, at most `concurrency` at once."""

    name = "local"

    def __init__(
        self, backend: Backend, concurrency: int, timeout_seconds: float, sandbox: Sandbox | None = None
    ) -> None:
        self._backend = backend
        self._limiter = anyio.CapacityLimiter(concurrency)
        self._timeout = timeout_seconds
        self._sandbox = sandbox

    async def run(self, job: AgentJob, started: Started) -> str:
        async with self._limiter:
            await started(None)
            with anyio.fail_after(self._timeout):
                backend = self._backend if self._sandbox is None else self._sandbox.wrap(self._backend, job.work_folder)
                return await ask_once(backend, job.prompt, job.work_folder)
