"""The phone page: index.html, its own assets, and the few npm libraries it uses, served locally.

The page is one more MCP client of the hub (it speaks Streamable HTTP to /mcp from the browser),
so these routes serve files only; no data crosses them and they need no credentials. The npm
libraries come from the project's ./node_modules (installed by scripts/setup); only the files
named in VENDOR are reachable, never the rest of node_modules.
"""

from __future__ import annotations

from pathlib import Path

from starlette.requests import Request
from starlette.responses import FileResponse, PlainTextResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

STATIC_DIR = Path(__file__).parent / "static"
NODE_MODULES = Path(__file__).resolve().parents[2] / "node_modules"

VENDOR = {
    "marked.js": "marked/lib/marked.esm.js",
    "purify.js": "dompurify/dist/purify.es.mjs",
    "highlight.js": "@highlightjs/cdn-assets/es/highlight.min.js",
    "hljs-light.css": "@highlightjs/cdn-assets/styles/github.min.css",
    "hljs-dark.css": "@highlightjs/cdn-assets/styles/github-dark.min.css",
}

# The page needs nothing from elsewhere: scripts, styles, images and fetches stay on this origin,
# so even HTML that slipped past the sanitiser could neither run inline script nor call out.
PAGE_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
        "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-cache",
}


async def index(_: Request) -> Response:
    return FileResponse(STATIC_DIR / "index.html", media_type="text/html; charset=utf-8", headers=PAGE_HEADERS)


async def manifest(_: Request) -> Response:
    return FileResponse(STATIC_DIR / "manifest.webmanifest", media_type="application/manifest+json")


async def vendor(request: Request) -> Response:
    name = request.path_params["name"]
    relative = VENDOR.get(name)
    if relative is None:
        return PlainTextResponse(f"no vendored file {name!r}", status_code=404)
    path = NODE_MODULES / relative
    if not path.is_file():
        return PlainTextResponse(
            f"{relative} is missing from {NODE_MODULES}: run scripts/setup to install the page's npm packages",
            status_code=503,
        )
    media_type = "text/javascript" if name.endswith(".js") else "text/css"
    return FileResponse(path, media_type=media_type, headers={"Cache-Control": "no-cache"})


class _StaticFiles(StaticFiles):
    """StaticFiles that makes the browser revalidate (a cheap 304), so an upgrade shows at once."""

    def file_response(self, *args: object, **kwargs: object) -> Response:
        response = super().file_response(*args, **kwargs)  # type: ignore[arg-type]
        response.headers["Cache-Control"] = "no-cache"
        response.headers["X-Content-Type-Options"] = "nosniff"
        return response


def page_routes() -> list[BaseRoute]:
    return [
        Route("/", index),
        Route("/manifest.webmanifest", manifest),
        Route("/static/vendor/{name}", vendor),
        Mount("/static", app=_StaticFiles(directory=STATIC_DIR)),
    ]
