"""The built-in MCP client to the agent backend (claude-code-mcp by default).

Two ways to call it:
- `AgentConnection`: one long-lived session, opened on first use and reopened when the server died.
  Chat replies and health checks use it, so they skip the ~0.3 s server start.
- `ask_once`: a dedicated session per call. Spawned runs use it, because claude-code-mcp ignores
  cancellation: the only way to stop one run's `claude` child (and everything it started) is to end
  that session, which kills the server's whole process tree (see transport.py).
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, TextIO

import anyio
import anyio.abc
from mcp import Client, MCPError
from mcp.types import CONNECTION_CLOSED, TextContent

from mainloop_mcp.agents.backends import Backend
from mainloop_mcp.agents.transport import ServerProcess, capped_stdio
from mainloop_mcp.errors import AgentFailed
from mainloop_mcp.model import MAX_CONTENT_BYTES, new_id

log = logging.getLogger(__name__)

CONTEXT_DIR = ".mainloop"
# One JSON-RPC message from the backend is read up to this size; a larger answer keeps its head and a note
# of its real size. Decoded text is never longer than its JSON, so head and note fit in one message.
MAX_OUTPUT_LINE_BYTES = MAX_CONTENT_BYTES - 4096
HEALTH_PROMPT = "Reply with the single word: ok"


_DEVNULL: list[TextIO] = []


def _devnull() -> TextIO:
    """Per-run servers print only start-up chatter; failures reach us inside the protocol error."""
    if not _DEVNULL:
        _DEVNULL.append(open(os.devnull, "w"))  # kept open for the process lifetime
    return _DEVNULL[0]


def spill_prompt(prompt: str, work_folder: Path, max_bytes: int) -> tuple[str, Path | None]:
    """Prompts over the argv cap go into a file inside the work folder; the agent gets a pointer to it.
    So do prompts starting with '-': the CLI gets the prompt as an argument and would read it as an option."""
    if len(prompt.encode("utf-8")) <= max_bytes and not prompt.startswith("-"):
        return prompt, None
    folder = work_folder / CONTEXT_DIR
    folder.mkdir(exist_ok=True)
    path = folder / f"prompt-{new_id('ctx')}.md"
    path.write_text(prompt, encoding="utf-8")
    relative = path.relative_to(work_folder)
    pointer = (
        f"Your full instructions and context are in the file {relative} (relative to the working folder, "
        f"absolute path {path}). Read that whole file first, then do exactly what it asks."
    )
    return pointer, path


@asynccontextmanager
async def open_session(backend: Backend, server: ServerProcess, errlog: TextIO = sys.stderr) -> AsyncIterator[Client]:
    """A connected session to a freshly started backend server; leaving it kills the server's process tree."""
    transport = capped_stdio(backend.server, server, errlog, MAX_OUTPUT_LINE_BYTES)
    async with Client(transport, mode="legacy") as client:
        yield client


def _text(content: list[Any]) -> str:
    return "".join(part.text for part in content if isinstance(part, TextContent))


async def call_backend(client: Client, backend: Backend, prompt: str, work_folder: Path) -> str:
    """One tool call: the prompt (spilled to a file if too long) with an explicit work folder."""
    sent, spilled = spill_prompt(prompt, work_folder, backend.max_prompt_bytes)
    try:
        result = await client.call_tool(backend.tool, backend.tool_arguments(sent, work_folder))
    except MCPError as exc:
        raise AgentFailed(f"{backend.name}: {exc.error.message}") from exc
    finally:
        if spilled is not None:
            spilled.unlink(missing_ok=True)
    text = _text(result.content)
    if result.is_error:
        raise AgentFailed(f"{backend.name} reported an error: {text or '(no detail)'}")
    return text


async def ask_once(backend: Backend, prompt: str, work_folder: Path) -> str:
    """Run one prompt in its own server; cancelling the caller kills that server and its children."""
    server = ServerProcess()
    try:
        async with open_session(backend, server, _devnull()) as client:
            try:
                return await call_backend(client, backend, prompt, work_folder)
            except anyio.get_cancelled_exc_class():
                server.kill()  # now, not after the session's own shutdown
                raise
    except BaseExceptionGroup as group:  # the session's task group wraps what the call raised
        failed = group.subgroup(lambda e: isinstance(e, AgentFailed | TimeoutError))
        if failed is None:
            raise
        raise _first(failed) from None


def _first(group: BaseExceptionGroup[BaseException]) -> BaseException:
    first = group.exceptions[0]
    return _first(first) if isinstance(first, BaseExceptionGroup) else first


class AgentConnection:
    """One long-lived session to the backend, held by a task in the hub's task group."""

    def __init__(self, backend: Backend, task_group: anyio.abc.TaskGroup) -> None:
        self._backend = backend
        self._tg = task_group
        self._client: Client | None = None
        self._stop = anyio.Event()
        self._lock = anyio.Lock()
        self._server = ServerProcess()

    @property
    def backend(self) -> Backend:
        return self._backend

    async def _hold(self, stop: anyio.Event, *, task_status: anyio.abc.TaskStatus[Client]) -> None:
        try:
            async with open_session(self._backend, self._server, sys.stderr) as client:
                task_status.started(client)
                await stop.wait()
        except Exception:  # the server died: the next call reconnects
            log.warning("agent backend %s connection ended", self._backend.name, exc_info=True)

    async def _connected(self) -> Client:
        async with self._lock:
            if self._client is None:
                self._stop = anyio.Event()
                self._server = ServerProcess()
                try:
                    self._client = await self._tg.start(self._hold, self._stop)
                except Exception as exc:
                    raise AgentFailed(f"could not start agent backend {self._backend.name}: {exc}") from exc
            return self._client

    def _drop(self, client: Client) -> None:
        if self._client is client:
            self._client = None
            self._stop.set()

    async def ask(self, prompt: str, work_folder: Path) -> str:
        """Ask on the shared session; if the server had died, reconnect once and retry."""
        for attempt in (1, 2):
            client = await self._connected()
            try:
                return await call_backend(client, self._backend, prompt, work_folder)
            except AgentFailed as exc:
                cause = exc.__cause__
                closed = isinstance(cause, MCPError) and cause.error.code == CONNECTION_CLOSED
                if not closed:
                    raise
                self._drop(client)
                if attempt == 2:
                    raise
            except (anyio.ClosedResourceError, anyio.BrokenResourceError, anyio.EndOfStream) as exc:
                self._drop(client)
                if attempt == 2:
                    raise AgentFailed(f"agent backend {self._backend.name} connection was lost: {exc!r}") from exc
            except BaseException:
                # Cancelled or timed out: the claude child keeps running inside the shared server,
                # so recycle the server to kill it (other calls in flight on it retry on a new one).
                self._server.kill()
                self._drop(client)
                raise
        raise AssertionError("unreachable")

    async def health(self, work_folder: Path) -> str:
        """A real call: a server that starts without a usable CLI still lists its tools."""
        return await self.ask(HEALTH_PROMPT, work_folder)

    async def aclose(self) -> None:
        """The hub is closing: end the server and any claude child a chat left running."""
        if self._client is not None:
            self._server.kill()
            self._drop(self._client)
