"""The phone page: index.html, its own assets, and the few npm libraries it uses, served locally.

The page is one more MCP client of the hub (it speaks Streamable HTTP to /mcp from the browser),
so these routes serve files only; no data crosses them and they need no credentials. Files are
served by Starlette's StaticFiles (ETag, If-None-Match lists and W/, HEAD) and compressed by the
app's GZipMiddleware. The npm libraries come from the project's ./node_modules (installed by
scripts/setup); only the files named in VENDOR are reachable, never the rest of node_modules.

The service worker (static/sw.js) caches the files named by `shell_files()` (and later modules as
the page loads them) so the page opens offline and at once on a slow network; its cache is named
after a hash of every page file, so a new release replaces it.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from functools import cache
from pathlib import Path

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

STATIC_DIR = (Path(__file__).parent / "static").resolve()
NODE_MODULES = Path(__file__).resolve().parents[2] / "node_modules"

VENDOR = {
    "marked.js": "marked/lib/marked.esm.js",
    "purify.js": "dompurify/dist/purify.es.mjs",
    "highlight.js": "@highlightjs/cdn-assets/es/highlight.min.js",
    "hljs-light.css": "@highlightjs/cdn-assets/styles/github.min.css",
    "hljs-dark.css": "@highlightjs/cdn-assets/styles/github-dark.min.css",
    "eventsource-parser.js": "eventsource-parser/dist/index.js",
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
SERVICE_WORKER = "sw.js"
STATIC_IMPORT = re.compile(r'^import [^;]*?from "\./([\w-]+\.js)";', re.MULTILINE)
LATER_VENDOR_IMPORT = re.compile(r'import\("(/static/vendor/[^"]+\.js)"\)')


class PageFiles(StaticFiles):
    """StaticFiles with the page's headers on every answer (and the page's policy on the page)."""

    def file_response(
        self, full_path: str | os.PathLike[str], stat_result: os.stat_result, scope: Scope, status_code: int = 200
    ) -> Response:
        response = super().file_response(full_path, stat_result, scope, status_code)
        response.headers.update(ASSET_HEADERS)
        name = Path(full_path).name
        if name == "index.html":
            response.headers.update(PAGE_HEADERS)
        elif name == SERVICE_WORKER:
            response.headers["Service-Worker-Allowed"] = "/"  # it lives under /static/ but serves the page at /
        return response


class VendorFiles(PageFiles):
    """Only the npm files named in VENDOR, by their short name."""

    def lookup_path(self, path: str) -> tuple[str, os.stat_result | None]:
        relative = VENDOR.get(path)
        if relative is None:
            return "", None
        full = NODE_MODULES / relative
        try:
            return str(full), full.stat()
        except OSError:
            return str(full), None

    async def get_response(self, path: str, scope: Scope) -> Response:
        relative = VENDOR.get(path)
        if relative is not None and not (NODE_MODULES / relative).is_file():
            return PlainTextResponse(
                f"{relative} is missing from {NODE_MODULES}: run scripts/setup to install the page's npm packages",
                status_code=503,
            )
        return await super().get_response(path, scope)


@cache
def shell_files() -> tuple[str, tuple[str, ...]]:
    """(version, urls): the files the page loads up front (those index.html names), and a hash of every
    file the page may load, which names the release. Modules loaded later (search, memory, agents, ...)
    are cached by the service worker when the page first asks for them, so they are downloaded once."""
    digest = hashlib.sha256()
    for path in sorted(STATIC_DIR.iterdir()):
        if path.is_file() and not path.name.startswith("."):
            digest.update(path.read_bytes())
    for _, relative in sorted(VENDOR.items()):
        source = NODE_MODULES / relative
        digest.update(source.read_bytes() if source.is_file() else b"")
    named = re.findall(r'(?:href|src)="(/static/[^"]+\.(?:js|css|svg))"', (STATIC_DIR / "index.html").read_text())
    urls = ["/", *dict.fromkeys(named)]  # not the home-screen icons: the page never draws them
    # ...and every module those import statically (a module missing offline would stop the page), and
    # the libraries they import later (highlight.js follows the first render).
    for url in urls:
        if url.endswith(".js") and not url.startswith("/static/vendor/"):
            source = (STATIC_DIR / url.removeprefix("/static/")).read_text()
            for name in STATIC_IMPORT.findall(source):
                if f"/static/{name}" not in urls:
                    urls.append(f"/static/{name}")
            urls += [lib for lib in LATER_VENDOR_IMPORT.findall(source) if lib not in urls]
    return digest.hexdigest()[:16], tuple(urls)


def page_routes() -> list[BaseRoute]:
    files = PageFiles(directory=STATIC_DIR)
    vendor = VendorFiles(directory=NODE_MODULES, check_dir=False)

    async def index(request: Request) -> Response:
        return await files.get_response("index.html", request.scope)

    async def manifest(request: Request) -> Response:
        return await files.get_response("manifest.webmanifest", request.scope)

    async def shell(_: Request) -> Response:
        """What the service worker caches, and the release it belongs to."""
        version, urls = shell_files()
        return Response(json.dumps({"version": version, "files": urls}), media_type="application/json",
                        headers={"Cache-Control": "no-cache"})  # fmt: skip

    return [
        Route("/", index, methods=["GET", "HEAD"]),
        Route("/manifest.webmanifest", manifest, methods=["GET", "HEAD"]),
        Route("/static/shell.json", shell),
        Mount("/static/vendor", app=vendor),
        Mount("/static", app=files),
    ]
