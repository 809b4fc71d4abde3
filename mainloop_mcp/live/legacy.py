"""Handshake-era (2025-11-25) sessions: resources/subscribe, unsubscribe, logging/setLevel, and the fan-out
of the change feed to them as `notifications/resources/updated`, `resources/list_changed` and log messages.

MCPServer serves none of these; they are registered on its low-level server. Every handshake-era
connection is remembered (for list_changed) from its first message until it closes.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

import anyio
from mcp.server import ServerRequestContext
from mcp.server.connection import Connection
from mcp_types import (
    EmptyResult,
    LoggingLevel,
    SetLevelRequestParams,
    SubscribeRequestParams,
    UnsubscribeRequestParams,
)
from mcp_types.version import HANDSHAKE_PROTOCOL_VERSIONS

from mainloop_mcp.changes.feed import ChangeFeed
from mainloop_mcp.live.meta import change_meta, updated_for
from mainloop_mcp.store.changes import Change

log = logging.getLogger(__name__)

# RFC 5424 order, as the MCP logging levels use it.
LEVELS: list[LoggingLevel] = ["debug", "info", "notice", "warning", "error", "critical", "alert", "emergency"]
# A client too slow to take a notification within this long misses it (it is told nothing more).
SEND_TIMEOUT_SECONDS = 1.0
QUEUE = 10_000


@dataclass
class Peer:
    """One handshake-era connection: the resources it subscribed to, the log level it asked for."""

    uris: set[str] = field(default_factory=set)
    log_level: LoggingLevel | None = None


def connection_of(ctx: ServerRequestContext[Any, Any]) -> Connection:
    """The request's connection. The SDK hands lowlevel handlers a per-request session only; the
    connection behind it is what lives as long as the client (and has the standalone channel)."""
    return ctx.session._connection  # private: no public accessor in mcp 2.3


class LegacySessions:
    """The registry of handshake-era connections and the task that sends them every change."""

    def __init__(self) -> None:
        self._peers: dict[Connection, Peer] = {}

    def peer(self, ctx: ServerRequestContext[Any, Any]) -> Peer | None:
        if ctx.protocol_version not in HANDSHAKE_PROTOCOL_VERSIONS:
            return None
        connection = connection_of(ctx)
        found = self._peers.get(connection)
        if found is None:
            found = self._peers[connection] = Peer()
            connection.exit_stack.callback(self._peers.pop, connection, None)
        return found

    async def middleware(self, ctx: ServerRequestContext[Any, Any], call_next: Any) -> Any:
        """Remember every handshake-era connection from its first message (for list_changed)."""
        if ctx.method != "initialize":
            self.peer(ctx)
        return await call_next(ctx)

    async def subscribe(self, ctx: ServerRequestContext[Any, Any], params: SubscribeRequestParams) -> EmptyResult:
        if (peer := self.peer(ctx)) is not None:
            peer.uris.add(str(params.uri))
        return EmptyResult()

    async def unsubscribe(self, ctx: ServerRequestContext[Any, Any], params: UnsubscribeRequestParams) -> EmptyResult:
        if (peer := self.peer(ctx)) is not None:
            peer.uris.discard(str(params.uri))
        return EmptyResult()

    async def set_level(self, ctx: ServerRequestContext[Any, Any], params: SetLevelRequestParams) -> EmptyResult:
        if (peer := self.peer(ctx)) is not None:
            peer.log_level = params.level
        return EmptyResult()

    async def fan_out(self, feed: ChangeFeed) -> None:
        """Send every change to the connections that want it, until cancelled."""
        send, receive = anyio.create_memory_object_stream[Change](QUEUE)

        def enqueue(change: Change) -> None:
            if self._peers:
                try:
                    send.send_nowait(change)
                except anyio.WouldBlock:
                    log.warning("handshake-era fan-out is %d changes behind; dropping %s", QUEUE, change)

        unsubscribe = feed.subscribe(enqueue)
        try:
            async with receive:
                async for change in receive:
                    for connection, peer in list(self._peers.items()):
                        with anyio.move_on_after(SEND_TIMEOUT_SECONDS):
                            try:
                                await _notify(connection, peer, change)
                            except Exception:  # one broken connection must not end the others' updates
                                log.exception("could not tell a session of %s", change)
        finally:
            unsubscribe()


async def _notify(connection: Connection, peer: Peer, change: Change) -> None:
    meta = change_meta(change)
    for uri in updated_for(change, peer.uris):
        await connection.send_resource_updated(uri, meta=meta)
    if change.tree:
        await connection.send_resource_list_changed(meta=meta)
    if peer.log_level is not None and LEVELS.index(_level_of(change)) >= LEVELS.index(peer.log_level):
        data = {"changed": change.uri, "seq": change.seq, "thread": change.thread_id}
        entry = {"level": _level_of(change), "logger": "mainloop", "data": data}
        await connection.notify("notifications/message", entry)


def _level_of(change: Change) -> LoggingLevel:
    """Agent runs and the thread tree are news (info); the rest is detail (debug)."""
    return "info" if change.uri.startswith("agent://") or change.tree else "debug"
