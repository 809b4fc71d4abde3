"""`mainloop serve | stdio`: the console script."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence

import anyio
import uvicorn
from pydantic import ValidationError

from mainloop_mcp.config import Settings, load_settings
from mainloop_mcp.errors import MainloopError
from mainloop_mcp.hub import open_hub
from mainloop_mcp.server import run_stdio
from mainloop_mcp.web.app import InsecureBinding, create_app
from mainloop_mcp.web.auth import RedactQueryStrings

log = logging.getLogger("mainloop")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="mainloop", description="One MCP hub for all your AI work.")
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="Serve MCP over Streamable HTTP at /mcp (default 127.0.0.1:8765)")
    serve.add_argument("--host", help="Bind address (MAINLOOP_HOST)")
    serve.add_argument("--port", type=int, help="Port (MAINLOOP_PORT); 0 picks a free one")
    serve.add_argument("--store", help="Store URL (MAINLOOP_STORE)")
    stdio = sub.add_parser("stdio", help="Serve MCP over stdio (for Claude Desktop / Claude Code)")
    stdio.add_argument("--store", help="Store URL (MAINLOOP_STORE)")
    return parser


async def _serve(settings: Settings) -> None:
    async with open_hub(settings) as hub:
        app = create_app(hub)
        config = uvicorn.Config(
            app, host=settings.host, port=settings.port, log_level=settings.log_level.lower(), lifespan="on"
        )
        logging.getLogger("uvicorn.access").addFilter(RedactQueryStrings())  # after Config set up logging
        server = uvicorn.Server(config)
        log.info("mainloop %s store=%s", "serving", settings.store.split("?")[0])
        await server.serve()


async def _stdio(settings: Settings) -> None:
    async with open_hub(settings) as hub:
        await run_stdio(hub)


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        settings = load_settings(**{k: v for k, v in vars(args).items() if k != "command"})
    except ValidationError as exc:
        print(f"mainloop: bad configuration: {exc}", file=sys.stderr)
        return 2
    logging.basicConfig(
        level=settings.log_level.upper(), stream=sys.stderr, format="%(levelname)s %(name)s: %(message)s"
    )
    try:
        anyio.run(_serve if args.command == "serve" else _stdio, settings)
    except (InsecureBinding, MainloopError) as exc:
        print(f"mainloop: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
