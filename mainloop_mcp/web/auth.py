"""Auth for the HTTP endpoint, as plain ASGI middleware: a bearer token and/or Cloudflare Access.

Only the Authorization header counts for the token: a token in the query string is refused, so
tokens never land in access logs or browser history. The token itself is never logged. The phone
page and its assets hold no data, so they load without credentials; the page then asks for the
token and sends it on every MCP request.
"""

from __future__ import annotations

import hmac
import logging

from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from mainloop_mcp.web.cf_access import ASSERTION_HEADER, AccessDenied, CloudflareAccess

OPEN_PATHS = frozenset({"/healthz", "/", "/manifest.webmanifest"})
OPEN_PREFIXES = ("/static/",)


class BearerAuth:
    """Lets a request through with the right bearer token or a valid Cloudflare Access assertion."""

    def __init__(
        self,
        app: ASGIApp,
        token: str | None = None,
        access: CloudflareAccess | None = None,
        open_paths: frozenset[str] = OPEN_PATHS,
        open_prefixes: tuple[str, ...] = OPEN_PREFIXES,
    ) -> None:
        self._app = app
        self._expected = token.encode() if token is not None else None
        self._access = access
        self._open_paths = open_paths
        self._open_prefixes = open_prefixes

    def _is_open(self, path: str) -> bool:
        return path in self._open_paths or path.startswith(self._open_prefixes)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or self._is_open(scope["path"]):
            await self._app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        given = headers.get(b"authorization", b"")
        if self._expected is not None and hmac.compare_digest(bearer_token(given), self._expected):
            await self._app(scope, receive, send)
            return
        assertion = headers.get(ASSERTION_HEADER)
        if self._access is not None and assertion is not None:
            try:
                await self._access.verify(assertion.decode("latin-1"))
            except AccessDenied as exc:
                await _unauthorized(f"Cloudflare Access assertion rejected: {exc}")(scope, receive, send)
                return
            await self._app(scope, receive, send)
            return
        if self._expected is None:
            reason = "missing Cloudflare Access assertion: reach the hub through its Access application"
        else:
            reason = "missing bearer token" if not given else "wrong bearer token"
            reason += ": send 'Authorization: Bearer <token>'"
        await _unauthorized(reason)(scope, receive, send)


def bearer_token(header: bytes) -> bytes:
    """The token of an `Authorization: Bearer <token>` header; the scheme is case-insensitive (RFC 9110)."""
    scheme, _, token = header.partition(b" ")
    return token.strip(b" ") if scheme.lower() == b"bearer" else b""


def _unauthorized(message: str) -> JSONResponse:
    return JSONResponse(
        {"error": "unauthorized", "message": message},
        status_code=401,
        headers={"WWW-Authenticate": 'Bearer realm="mainloop"'},
    )


class RedactQueryStrings(logging.Filter):
    """Drops query strings from uvicorn access-log lines: a token sent as ?token=... must not be logged."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and len(args) >= 3 and isinstance(args[2], str) and "?" in args[2]:
            record.args = (*args[:2], args[2].split("?", 1)[0] + "?[redacted]", *args[3:])
        return True
