"""The Starlette app behind `mainloop serve`: MCP Streamable HTTP at /mcp, the phone page, /healthz, auth."""

from __future__ import annotations

import logging
import socket
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import anyio
import psutil
from mcp.server import MCPServer
from mcp.server.transport_security import TransportSecuritySettings
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.gzip import GZipMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Mount, Route

from mainloop_mcp import __version__
from mainloop_mcp.config import Settings
from mainloop_mcp.hub import Hub
from mainloop_mcp.push.devices import DeviceBook, application_server_key, load_vapid
from mainloop_mcp.push.notifier import PushNotifier
from mainloop_mcp.server import create_server
from mainloop_mcp.store.base import WriteHealth
from mainloop_mcp.web.auth import BearerAuth
from mainloop_mcp.web.cf_access import CloudflareAccess
from mainloop_mcp.web.page import page_routes
from mainloop_mcp.web.push_routes import push_routes

log = logging.getLogger(__name__)

HEALTH_STORE_TTL_SECONDS = 30.0

LOOPBACK_HOSTS = ["127.0.0.1:*", "localhost:*", "[::1]:*"]
LOOPBACK_ORIGINS = ["http://127.0.0.1:*", "http://localhost:*", "http://[::1]:*"]


class InsecureBinding(RuntimeError):
    """Refusal to serve a non-loopback address without a bearer token."""


def transport_security(settings: Settings) -> TransportSecuritySettings:
    """DNS-rebinding protection: loopback names plus the hosts/origins the user configured."""
    hosts = [*LOOPBACK_HOSTS, *settings.allowed_hosts, *(_host_pattern(a) for a in bound_addresses(settings.host))]
    return TransportSecuritySettings(
        enable_dns_rebinding_protection=True,
        allowed_hosts=hosts,
        allowed_origins=[*LOOPBACK_ORIGINS, *settings.allowed_origins],
    )


def bound_addresses(host: str) -> list[str]:
    """The addresses a client may use to reach `host`: itself, or every interface's for 0.0.0.0 / ::."""
    if host not in ("0.0.0.0", "::", ""):
        return [host]
    family = socket.AF_INET if host == "0.0.0.0" else socket.AF_INET6
    return [a.address.split("%")[0] for addrs in psutil.net_if_addrs().values() for a in addrs if a.family == family]


def _host_pattern(address: str) -> str:
    return f"[{address.strip('[]')}]:*" if ":" in address else f"{address}:*"


def check_binding(settings: Settings) -> None:
    """Refuse, before anything starts, to serve a non-loopback address that nothing guards."""
    if settings.token_required and settings.token is None and not settings.cf_access_enabled:
        raise InsecureBinding(
            f"refusing to serve on {settings.host}, which is not a loopback address, without a bearer token: "
            "set MAINLOOP_TOKEN or Cloudflare Access (MAINLOOP_CF_ACCESS_TEAM_DOMAIN + MAINLOOP_CF_ACCESS_AUD), "
            "or bind to 127.0.0.1"
        )


def create_app(hub: Hub, mcp: MCPServer[Hub] | None = None) -> Starlette:
    """The app for `hub`; `mcp` defaults to create_server(hub) (tests pass one with extra fixtures)."""
    settings = hub.settings
    check_binding(settings)
    mcp = mcp or create_server(hub)
    mcp_app = mcp.streamable_http_app(streamable_http_path="/mcp", transport_security=transport_security(settings))

    store_seen_ok = -HEALTH_STORE_TTL_SECONDS

    async def healthz(_: Request) -> JSONResponse:
        """Up, and the store answered within the last HEALTH_STORE_TTL_SECONDS (probes would otherwise
        cost one BigQuery job each); 503 with the reason when it doesn't answer."""
        nonlocal store_seen_ok
        store = hub.store
        if isinstance(store, WriteHealth) and store.write_failure is not None:  # the last write failed
            return JSONResponse({"ok": False, "error": f"writes fail: {store.write_failure}"}, 503)
        now = time.monotonic()
        if now - store_seen_ok >= HEALTH_STORE_TTL_SECONDS:
            try:
                await store.main_thread()
                failing = await store.check_writes() if isinstance(store, WriteHealth) else None
            except Exception as exc:
                log.warning("health check: the store does not answer: %s", exc)
                return JSONResponse({"ok": False, "error": f"the store does not answer ({type(exc).__name__})"}, 503)
            if failing is not None:
                return JSONResponse({"ok": False, "error": f"writes fail: {failing}"}, 503)
            store_seen_ok = now
        return JSONResponse({"ok": True, "version": __version__})

    vapid = load_vapid(settings.push_dir)
    devices = DeviceBook(settings.push_dir)
    notifier = PushNotifier(hub, devices, vapid, settings.push_contact)

    @asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        async with mcp.session_manager.run(), anyio.create_task_group() as tasks:
            tasks.start_soon(notifier.run)
            yield
            tasks.cancel_scope.cancel()

    # Compresses the page's assets and large JSON answers; GZipMiddleware leaves SSE streams alone.
    middleware = [Middleware(GZipMiddleware, minimum_size=1024)]
    access = None
    if settings.cf_access_team_domain is not None and settings.cf_access_aud:
        access = CloudflareAccess(settings.cf_access_team_domain, settings.cf_access_aud)
    if settings.token is not None or access is not None:
        token = settings.token.get_secret_value() if settings.token is not None else None
        middleware.append(Middleware(BearerAuth, token=token, access=access))
    return Starlette(
        routes=[
            Route("/healthz", healthz),
            *page_routes(),
            *push_routes(devices, application_server_key(vapid)),
            Mount("/", app=mcp_app),
        ],
        middleware=middleware,
        lifespan=lifespan,
    )
