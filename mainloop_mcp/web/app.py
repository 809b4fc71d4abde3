"""The Starlette app behind `mainloop serve`: MCP Streamable HTTP at /mcp, /healthz, auth."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from mcp.server import MCPServer
from mcp.server.transport_security import TransportSecuritySettings
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Mount, Route

from mainloop_mcp import __version__
from mainloop_mcp.config import Settings, is_loopback
from mainloop_mcp.hub import Hub
from mainloop_mcp.server import create_server
from mainloop_mcp.web.auth import BearerAuth

LOOPBACK_HOSTS = ["127.0.0.1:*", "localhost:*", "[::1]:*"]
LOOPBACK_ORIGINS = ["http://127.0.0.1:*", "http://localhost:*", "http://[::1]:*"]


class InsecureBinding(RuntimeError):
    """Refusal to serve a non-loopback address without a bearer token."""


def transport_security(settings: Settings) -> TransportSecuritySettings:
    """DNS-rebinding protection: loopback names plus the hosts/origins the user configured."""
    hosts = [*LOOPBACK_HOSTS, *settings.allowed_hosts]
    if not is_loopback(settings.host) and settings.host not in ("0.0.0.0", "::"):
        hosts.append(f"{settings.host}:*")
    return TransportSecuritySettings(
        enable_dns_rebinding_protection=True,
        allowed_hosts=hosts,
        allowed_origins=[*LOOPBACK_ORIGINS, *settings.allowed_origins],
    )


def create_app(hub: Hub, mcp: MCPServer[Hub] | None = None) -> Starlette:
    """The app for `hub`; `mcp` defaults to create_server(hub) (tests pass one with extra fixtures)."""
    settings = hub.settings
    if settings.token_required and settings.token is None:
        raise InsecureBinding(
            f"refusing to serve on {settings.host}, which is not a loopback address, without a bearer token: "
            "set MAINLOOP_TOKEN (or bind to 127.0.0.1)"
        )
    mcp = mcp or create_server(hub)
    mcp_app = mcp.streamable_http_app(streamable_http_path="/mcp", transport_security=transport_security(settings))

    async def healthz(_: Request) -> JSONResponse:
        await hub.store.main_thread()
        return JSONResponse({"ok": True, "version": __version__})

    @asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        async with mcp.session_manager.run():
            yield

    middleware = []
    if settings.token is not None:
        middleware.append(Middleware(BearerAuth, token=settings.token.get_secret_value()))
    return Starlette(
        routes=[Route("/healthz", healthz), Mount("/", app=mcp_app)],
        middleware=middleware,
        lifespan=lifespan,
    )
