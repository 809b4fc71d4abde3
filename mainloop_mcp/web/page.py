"""The phone page: index.html, its own assets, and the few npm libraries it uses, served locally.

The page is one more MCP client of the hub (it speaks Streamable HTTP to /mcp from the browser),
so these routes serve files only; no data crosses them and they need no credentials. The npm
libraries come from the project's ./node_modules (installed by scripts/setup); only the files
named in VENDOR are reachable, never the rest of node_modules. Files are read and gzipped once
so a page load costs the hub no file reads and no compression work.
"""

from __future__ import annotations

import gzip
import hashlib
import mimetypes
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import anyio.to_thread
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import BaseRoute, Route

STATIC_DIR = (Path(__file__).parent / "static").resolve()
NODE_MODULES = Path(__file__).resolve().parents[2] / "node_modules"

VENDOR = {
    "marked.js": "marked/lib/marked.esm.js",
    "purify.js": "dompurify/dist/purify.es.mjs",
    "highlight.js": "@highlightjs/cdn-assets/es/highlight.min.js",
    "hljs-light.css": "@highlightjs/cdn-assets/styles/github.min.css",
    "hljs-dark.css": "@highlightjs/cdn-assets/styles/github-dark.min.css",
}

MEDIA_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
    ".webmanifest": "application/manifest+json",
}

# The page needs nothing from elsewhere: scripts, styles, images and fetches stay on this origin,
# so even HTML that slipped past the sanitiser could neither run inline script nor call out.
PAGE_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
        "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    ),
    "Referrer-Policy": "no-referrer",
}
# Revalidate every time (a cheap 304 on loopback or a home network), so an upgrade shows at once.
ASSET_HEADERS = {"Cache-Control": "no-cache", "X-Content-Type-Options": "nosniff"}


@dataclass(frozen=True)
class Asset:
    body: bytes
    gzipped: bytes
    etag: str
    media_type: str


class AssetCache:
    """Files in memory, plain and gzipped, read on first use. They belong to the installed release,
    so they are read once per process; a restart (as any upgrade needs) picks up new ones."""

    def __init__(self) -> None:
        self._assets: dict[Path, Asset] = {}

    async def get(self, path: Path) -> Asset | None:
        """The file at `path`, or None when there is no such file."""
        cached = self._assets.get(path)
        if cached is None:
            cached = await anyio.to_thread.run_sync(_load, path)
            if cached is not None:
                self._assets[path] = cached
        return cached


def _load(path: Path) -> Asset | None:
    if not path.is_file():
        return None
    body = path.read_bytes()
    media_type = MEDIA_TYPES.get(path.suffix) or mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    etag = f'"{hashlib.sha256(body).hexdigest()[:32]}"'
    return Asset(body, gzip.compress(body, compresslevel=9, mtime=0), etag, media_type)


def asset_response(request: Request, asset: Asset | None, extra: dict[str, str] | None = None) -> Response:
    if asset is None:
        return PlainTextResponse(f"no such file: {request.url.path}", status_code=404)
    headers = {**ASSET_HEADERS, **(extra or {}), "ETag": asset.etag, "Vary": "Accept-Encoding"}
    if request.headers.get("if-none-match") == asset.etag:
        return Response(status_code=304, headers=headers)
    if "gzip" in request.headers.get("accept-encoding", "") and len(asset.gzipped) < len(asset.body):
        return Response(asset.gzipped, media_type=asset.media_type, headers={**headers, "Content-Encoding": "gzip"})
    return Response(asset.body, media_type=asset.media_type, headers=headers)


def page_routes() -> list[BaseRoute]:
    cache = AssetCache()

    async def index(request: Request) -> Response:
        return asset_response(request, await cache.get(STATIC_DIR / "index.html"), PAGE_HEADERS)

    async def manifest(request: Request) -> Response:
        return asset_response(request, await cache.get(STATIC_DIR / "manifest.webmanifest"))

    async def vendor(request: Request) -> Response:
        relative = VENDOR.get(request.path_params["name"])
        if relative is None:
            return asset_response(request, None)
        asset = await cache.get(NODE_MODULES / relative)
        if asset is None:
            return PlainTextResponse(
                f"{relative} is missing from {NODE_MODULES}: run scripts/setup to install the page's npm packages",
                status_code=503,
            )
        return asset_response(request, asset)

    async def static(request: Request) -> Response:
        parts = PurePosixPath(request.path_params["path"]).parts
        if not parts or any(part in ("..", "/") or part.startswith(".") for part in parts):
            return asset_response(request, None)
        return asset_response(request, await cache.get(STATIC_DIR.joinpath(*parts)))

    return [
        Route("/", index),
        Route("/manifest.webmanifest", manifest),
        Route("/static/vendor/{name}", vendor),
        Route("/static/{path:path}", static),
    ]
