"""Bearer-token auth for the HTTP endpoint, as plain ASGI middleware.

Only the Authorization header counts: a token in the query string is refused, so tokens never
land in access logs or browser history. The token itself is never logged.
"""

from __future__ import annotations

import hmac
import logging

from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

OPEN_PATHS = frozenset({"/healthz"})


class BearerAuth:
    def __init__(self, app: ASGIApp, token: str, open_paths: frozenset[str] = OPEN_PATHS) -> None:
        self._app = app
        self._expected = f"Bearer {token}".encode()
        self._open_paths = open_paths

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in self._open_paths:
            await self._app(scope, receive, send)
            return
        given = dict(scope["headers"]).get(b"authorization", b"")
        if not hmac.compare_digest(given, self._expected):
            reason = "missing bearer token" if not given else "wrong bearer token"
            response = JSONResponse(
                {"error": "unauthorized", "message": f"{reason}: send 'Authorization: Bearer <token>'"},
                status_code=401,
                headers={"WWW-Authenticate": 'Bearer realm="mainloop"'},
            )
            await response(scope, receive, send)
            return
        await self._app(scope, receive, send)


class RedactQueryStrings(logging.Filter):
    """Drops query strings from uvicorn access-log lines: a token sent as ?token=... must not be logged."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and len(args) >= 3 and isinstance(args[2], str) and "?" in args[2]:
            record.args = (*args[:2], args[2].split("?", 1)[0] + "?[redacted]", *args[3:])
        return True
