"""The stdio transport to an agent backend server: its own process group, a cap on what we read, a tree kill.

Like the SDK's `stdio_client`, but for servers we start and stop ourselves:
- the server's pid is known (`ServerProcess.pid`), so stopping it needs no process scan;
- a line (one JSON-RPC message) longer than `max_line_bytes` is never held whole: we keep its head
  and its last bytes, and turn it into a tool result holding the head of its text plus a note, so an
  agent that prints 100 MB costs the hub a few MiB, not 100 MB;
- `kill()` SIGKILLs the server's process group, every descendant still under it, and every process
  carrying the session's marker in its environment (children that called `setsid` and were orphaned
  still inherit it), using psutil.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import re
import signal
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass, field
from typing import Any, TextIO

import anyio
import anyio.lowlevel
import mcp_types as types
import psutil
from anyio.abc import ByteReceiveStream, Process
from mcp.client._transport import TransportStreams
from mcp.client.stdio import StdioServerParameters, get_default_environment
from mcp.shared.message import SessionMessage

from mainloop_mcp.model import new_id

log = logging.getLogger(__name__)

SESSION_ENV = "MAINLOOP_AGENT_SESSION"
TAIL_BYTES = 512
REAP_SECONDS = 2.0


@dataclass
class ServerProcess:
    """One started backend server: its pid and the marker every process it starts inherits."""

    marker: str = field(default_factory=lambda: new_id("ses"))
    pid: int | None = None

    def kill(self) -> None:
        """SIGKILL the server and everything it started, including descendants that left its group."""
        victims: list[psutil.Process] = []
        if self.pid is not None:
            with suppress(psutil.Error):
                root = psutil.Process(self.pid)
                victims += [root, *root.children(recursive=True)]
            with suppress(ProcessLookupError, PermissionError):
                os.killpg(self.pid, signal.SIGKILL)
        victims += marked_processes(f"{SESSION_ENV}={self.marker}")
        for proc in victims:
            with suppress(psutil.Error):
                proc.kill()


def marked_processes(marker: str) -> list[psutil.Process]:
    """This user's processes whose environment holds `marker` (KEY=value)."""
    key, _, value = marker.partition("=")
    found = []
    for proc in psutil.process_iter():
        with suppress(psutil.Error):
            if proc.environ().get(key) == value:
                found.append(proc)
    return found


# --- capped reading ----------------------------------------------------------------------------------


@dataclass
class _Oversized:
    head: bytes
    tail: bytes
    size: int


async def capped_lines(stream: ByteReceiveStream, max_line_bytes: int) -> AsyncIterator[bytes | _Oversized]:
    """Lines of a byte stream; a line over the cap comes as its head and tail, the middle never kept."""
    buffer = bytearray()
    over: _Oversized | None = None
    while True:
        try:
            chunk = await stream.receive()
        except (anyio.EndOfStream, anyio.ClosedResourceError, anyio.BrokenResourceError):
            return
        while chunk:
            end = chunk.find(b"\n")
            piece, chunk = (chunk, b"") if end < 0 else (chunk[:end], chunk[end + 1 :])
            if over is None:
                buffer += piece
                if len(buffer) > max_line_bytes:
                    over = _Oversized(bytes(buffer[:max_line_bytes]), bytes(buffer[-TAIL_BYTES:]), len(buffer))
                    buffer.clear()
            else:
                over.size += len(piece)
                over.tail = (over.tail + piece)[-TAIL_BYTES:]
            if end >= 0:
                yield bytes(buffer) if over is None else over
                buffer.clear()
                over = None


_ID_AT_END = re.compile(rb'"id"\s*:\s*(-?\d+|"(?:[^"\\]|\\.)*")\s*\}\s*$')
_ID_AT_START = re.compile(rb'^\s*\{(?:"jsonrpc"\s*:\s*"2\.0"\s*,\s*)?"id"\s*:\s*(-?\d+|"(?:[^"\\]|\\.)*")')
_TEXT_START = re.compile(rb'"text"\s*:\s*"')
_JSON_STRING_PREFIX = re.compile(rb'(?:[^"\\]|\\["\\/bfnrt]|\\u[0-9a-fA-F]{4})*')


def salvage(line: _Oversized, cap: int) -> dict[str, Any] | None:
    """An oversized response as a smaller one: the head of its first text, marked as cut. None if unreadable."""
    found = _ID_AT_START.search(line.head) or _ID_AT_END.search(line.tail)
    if found is None:
        return None
    request_id = json.loads(found.group(1))
    note = f"[mainloop: the agent's output was {line.size:,} bytes; only its first {cap:,} bytes were read]"
    text_at = _TEXT_START.search(line.head)
    if b'"result"' not in line.head or text_at is None:
        return {"jsonrpc": "2.0", "id": request_id, "error": {"code": types.INTERNAL_ERROR, "message": note}}
    prefix = _JSON_STRING_PREFIX.match(line.head, text_at.end())
    text = json.loads(b'"' + (prefix.group() if prefix else b"") + b'"')
    return {
        "jsonrpc": "2.0",
        "id": request_id,
        "result": {"content": [{"type": "text", "text": f"{text}\n\n{note}"}], "isError": False},
    }


def _parse(line: bytes | _Oversized, cap: int) -> SessionMessage | Exception | None:
    if isinstance(line, _Oversized):
        salvaged = salvage(line, cap)
        if salvaged is None:
            log.warning("agent backend sent an unreadable %d-byte message; dropped", line.size)
            return None
        line = json.dumps(salvaged).encode()
    try:
        return SessionMessage(types.jsonrpc_message_adapter.validate_json(line, by_name=False))
    except ValueError as exc:
        return exc


@asynccontextmanager
async def capped_stdio(
    server: StdioServerParameters, handle: ServerProcess, errlog: TextIO, max_line_bytes: int
) -> AsyncIterator[TransportStreams]:
    """Start the server in a new session (its own process group); leaving kills its whole tree."""
    env = get_default_environment() | (server.env or {}) | {SESSION_ENV: handle.marker}
    process: Process = await anyio.open_process(
        [server.command, *server.args], env=env, stderr=errlog, cwd=server.cwd, start_new_session=True
    )
    handle.pid = process.pid
    read_writer, read_stream = anyio.create_memory_object_stream[SessionMessage | Exception](0)
    write_stream, write_reader = anyio.create_memory_object_stream[SessionMessage](0)

    async def stdout_reader() -> None:
        assert process.stdout is not None
        async with read_writer:
            async for line in capped_lines(process.stdout, max_line_bytes):
                message = _parse(line, max_line_bytes)
                if message is not None:
                    await read_writer.send(message)

    async def stdin_writer() -> None:
        assert process.stdin is not None
        try:
            async with write_reader:
                async for message in write_reader:
                    data = message.message.model_dump_json(by_alias=True, exclude_unset=True) + "\n"
                    await process.stdin.send(data.encode())
        except (anyio.ClosedResourceError, anyio.BrokenResourceError, OSError):
            await read_writer.aclose()

    async with anyio.create_task_group() as tg:
        tg.start_soon(stdout_reader)
        tg.start_soon(stdin_writer)
        try:
            yield read_stream, write_stream
        finally:
            with anyio.CancelScope(shield=True):
                handle.kill()  # backend servers keep no state worth a graceful exit
                with anyio.move_on_after(REAP_SECONDS):
                    await process.wait()
                for stream in (read_stream, write_stream, process.stdin, process.stdout):
                    with suppress(Exception):
                        if stream is not None:
                            await stream.aclose()
                await _collect_stdin_end(process)
                await _close_transport(process)
            tg.cancel_scope.cancel()


async def _collect_stdin_end(process: Process) -> None:
    """Collect how the child's stdin ended. A write to a child that was just killed breaks the pipe;
    on Debian's Python 3.11 nobody else awaits that outcome, so asyncio would report it as
    "Future exception was never retrieved" (later Pythons mark it retrieved themselves)."""
    writer = getattr(process.stdin, "_stream", None)  # anyio wraps asyncio's StreamWriter
    if isinstance(writer, asyncio.StreamWriter):
        with suppress(Exception), anyio.move_on_after(1):
            await writer.wait_closed()


async def _close_transport(process: Process) -> None:
    """Close asyncio's transport for the child ourselves and let its callbacks run now. Left to the
    garbage collector, a killed child's transport can be finalised after the event loop has closed,
    and its `__del__` then raises "Event loop is closed" (seen on a loaded machine)."""
    transport = getattr(process, "_transport", None)  # anyio keeps asyncio's SubprocessTransport here
    if isinstance(transport, asyncio.SubprocessTransport):
        transport.close()
    for _ in range(3):
        await anyio.lowlevel.checkpoint()
