"""Servers for the hub-overhead benchmark, run as their own processes.

    python bench/servers.py bare http PORT     a bare MCPServer with one `echo` tool, Streamable HTTP at /mcp
    python bench/servers.py bare stdio
    python bench/servers.py hub http PORT      mainloop's own server and Starlette app, plus the same `echo`
    python bench/servers.py hub stdio          (added here, for the benchmark only; the product has no echo)

The hub variants need MAINLOOP_STORE. `mainloop serve` / `mainloop stdio` (no echo) are benchmarked
directly with the product's cheapest real tool, get_thread.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import anyio
import uvicorn
from mcp.server import MCPServer
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Mount, Route

from mainloop_mcp.config import load_settings
from mainloop_mcp.hub import open_hub
from mainloop_mcp.server import create_server
from mainloop_mcp.web.app import create_app


def echo(text: str) -> str:
    """Return the text unchanged."""
    return text


async def serve_http(app: Any, port: int) -> None:
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    await uvicorn.Server(config).serve()


async def bare(transport: str, port: int) -> None:
    server = MCPServer("bare", log_level="WARNING")
    server.add_tool(echo)
    if transport == "stdio":
        await server.run_stdio_async()
        return
    mcp_app = server.streamable_http_app()

    async def healthz(_: Request) -> JSONResponse:
        return JSONResponse({"ok": True})

    # Same shape as mainloop's app: a /healthz route beside the MCP app, the session manager run by the host.
    @asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        async with server.session_manager.run():
            yield

    app = Starlette(routes=[Route("/healthz", healthz), Mount("/", app=mcp_app)], lifespan=lifespan)
    await serve_http(app, port)


async def hub(transport: str, port: int) -> None:
    settings = load_settings(log_level="WARNING")
    async with open_hub(settings) as h:
        server = create_server(h)
        server.add_tool(echo)
        if transport == "stdio":
            await server.run_stdio_async()
        else:
            await serve_http(create_app(h, server), port)


if __name__ == "__main__":
    logging.basicConfig(level=logging.WARNING)
    kind, transport = sys.argv[1], sys.argv[2]
    port = int(sys.argv[3]) if len(sys.argv) > 3 else 0
    anyio.run(bare if kind == "bare" else hub, transport, port)
