"""`mainloop serve | stdio | agent-run | compact | migrate | import | hook | embed`: the console script.

Modules that only some commands need are imported inside those commands, so `mainloop hook` (run by
Claude Code on every turn) starts without loading the web server.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import sys
import threading
import time
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import anyio
from pydantic import ValidationError

from mainloop_mcp.config import Settings, load_settings
from mainloop_mcp.errors import InvalidInput, MainloopError
from mainloop_mcp.importers.exports import DEFAULT_PROJECT
from mainloop_mcp.importers.progress import Progress
from mainloop_mcp.importers.runner import KINDS, ImportReport, build_summaries, source_items, write_threads
from mainloop_mcp.store import open_store
from mainloop_mcp.store.imports import ImportSink
from mainloop_mcp.store.sqlite.store import path_from_url

if TYPE_CHECKING:
    from mainloop_mcp.hub import Hub

log = logging.getLogger("mainloop")
SHUTDOWN_GRACE_SECONDS = 3
HOOK_DEADLINE_SECONDS = 3.0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="mainloop", description="One MCP hub for all your AI work.")
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="Serve MCP over Streamable HTTP at /mcp (default 127.0.0.1:8765)")
    serve.add_argument("--host", help="Bind address (MAINLOOP_HOST)")
    serve.add_argument("--port", type=int, help="Port (MAINLOOP_PORT); 0 picks a free one")
    serve.add_argument("--store", help="Store URL (MAINLOOP_STORE)")
    stdio = sub.add_parser("stdio", help="Serve MCP over stdio (for Claude Desktop / Claude Code)")
    stdio.add_argument("--store", help="Store URL (MAINLOOP_STORE)")
    stdio.add_argument(
        "--hub", help="URL of a running `mainloop serve` (…/mcp) to forward to instead of opening the store"
    )
    migrate = sub.add_parser(
        "migrate", help="Copy every thread, message, summary and agent run to another store, then verify"
    )
    migrate.add_argument(
        "--from", dest="source", required=True, help="Source store URL (sqlite:///... or bigquery://...)"
    )
    migrate.add_argument("--to", dest="target", required=True, help="Target store URL; an empty or partly copied store")
    agent = sub.add_parser(
        "agent-run", help="Run one agent prompt and print its result line (Kubernetes Job entrypoint)"
    )
    agent.add_argument("--prompt-file", required=True, type=Path, help="File holding the prompt")
    agent.add_argument("--work-folder", required=True, type=Path, help="Folder the agent works in")
    compact = sub.add_parser("compact", help="Build missing or stale summaries and sync child threads to parents")
    compact.add_argument("--store", help="Store URL (MAINLOOP_STORE)")
    compact.add_argument("--thread", dest="thread_id", help="Only this thread (default: every thread)")
    embed = sub.add_parser("embed", help="Embed every message not embedded yet, for semantic search (with progress)")
    embed.add_argument("--store", help="Store URL (MAINLOOP_STORE)")
    embed.add_argument("--embedder", choices=["static", "minilm"], help="Embedder (MAINLOOP_EMBEDDER; default static)")
    imp = sub.add_parser("import", help="Import history: Claude Code transcripts, claude.ai/ChatGPT exports, JSONL")
    imp.add_argument("kind", choices=KINDS, help="What the files are")
    imp.add_argument("paths", nargs="*", type=Path, help="Files or folders (claude-code default: ~/.claude/projects)")
    imp.add_argument("--store", help="Store URL (MAINLOOP_STORE)")
    imp.add_argument("--project", default=DEFAULT_PROJECT, help="Project for claude-ai/chatgpt conversations")
    imp.add_argument("--no-summaries", action="store_true", help="Leave summaries to a later `mainloop compact`")
    hook = sub.add_parser("hook", help="Claude Code hook: reads the hook's JSON on stdin (see README)")
    hook.add_argument("--store", help="Store URL (MAINLOOP_STORE)")
    return parser


async def _serve(settings: Settings) -> None:
    import uvicorn

    from mainloop_mcp.hub import open_hub
    from mainloop_mcp.signals import HubServer, on_stop_signals
    from mainloop_mcp.web.app import check_binding, create_app
    from mainloop_mcp.web.auth import RedactQueryStrings

    check_binding(settings)
    async with open_hub(settings) as hub:
        app = create_app(hub)
        config = uvicorn.Config(
            app,
            host=settings.host,
            port=settings.port,
            log_level=settings.log_level.lower(),
            lifespan="on",
            # Open subscriptions/listen streams (the phone page) never end by themselves: don't wait on them.
            timeout_graceful_shutdown=SHUTDOWN_GRACE_SECONDS,
        )
        logging.getLogger("uvicorn.access").addFilter(RedactQueryStrings())  # after Config set up logging
        server = HubServer(config)
        log.info("mainloop %s store=%s", "serving", settings.store.split("?")[0])

        def stop(signum: int) -> None:
            log.info("%s: stopping (no new agent runs; running ones are stopped)", signal.Signals(signum).name)
            hub.stop_accepting()
            server.stop(signum)

        async with on_stop_signals(stop):
            await server.serve()


async def _compact(settings: Settings, thread_id: str | None) -> int:
    from mainloop_mcp.hub import open_hub
    from mainloop_mcp.memory.compact import compact

    """Prints the report; exits 1 when some thread failed (the others were compacted), so cron notices."""
    async with open_hub(settings) as hub:
        report = await compact(hub.pyramid(), thread_id)
    print(report.model_dump_json())
    for failure in report.failed:
        print(
            f"mainloop: thread {failure.thread_id} ({failure.title}) was not compacted: {failure.error}",
            file=sys.stderr,
        )
    return 1 if report.failed else 0


async def _import(settings: Settings, kind: str, paths: list[Path], project: str, summaries: bool) -> int:
    if kind != "claude-code" and not paths:
        raise InvalidInput(f"mainloop import {kind} needs the files to read")
    missing = [str(p) for p in paths if not p.expanduser().exists()]
    if missing:
        raise InvalidInput(f"no such file or folder: {', '.join(missing)}")
    from mainloop_mcp.hub import open_hub

    async with open_hub(settings) as hub:
        if not isinstance(hub.store, ImportSink):
            raise InvalidInput(
                f"the {type(hub.store).__name__} store takes no imports; import into SQLite, then `mainloop migrate` it"
            )
        report, progress = ImportReport(), Progress()
        try:
            items = source_items(kind, [p.expanduser() for p in paths], report.tally, project)
            await write_threads(hub.store, items, progress, report)
        finally:
            progress.close()
        if summaries:
            await build_summaries(hub.pyramid(), report)
    print("\n".join(report.lines()))
    return 0


async def _embed(settings: Settings) -> None:
    """The backfill: a progress bar on stderr (on a terminal), then a summary line on stdout."""
    from mainloop_mcp.search.semantic import open_semantic

    store = await open_store(settings.store)
    try:
        index = await open_semantic(settings.embedder, settings.model_cache, store)
        assert index is not None  # main() never passes embedder "none" here
        progress, started = Progress(label="embed"), time.monotonic()

        def show(done: int, total: int) -> None:
            progress.update(read=total - progress.read, stored=done - progress.stored)

        embedded = await index.backfill(show)
        progress.close()
        print(json.dumps({"embedded": embedded, "seconds": round(time.monotonic() - started, 1)}))
    finally:
        await store.close()


async def _stdio(settings: Settings, hub_url: str | None = None) -> None:
    if hub_url is not None:
        from mainloop_mcp import __version__
        from mainloop_mcp.live.bridge import run_bridge

        token = settings.token.get_secret_value() if settings.token is not None else None
        await run_bridge(hub_url, token, "mainloop", __version__)
        return
    from mainloop_mcp.hub import open_hub
    from mainloop_mcp.server import run_stdio
    from mainloop_mcp.signals import on_stop_signals

    async with open_hub(settings) as hub, anyio.create_task_group() as tasks:

        def stop(signum: int) -> None:
            log.info("%s: stopping (no new agent runs; running ones are stopped)", signal.Signals(signum).name)
            tasks.start_soon(_close_and_exit, hub)

        async with on_stop_signals(stop):
            await run_stdio(hub)
        tasks.cancel_scope.cancel()


async def _close_and_exit(hub: Hub) -> None:
    """The stdio transport reads stdin in a thread that no cancel interrupts, so the hub can't wait for
    the server to return: close what matters (agent runs, the store) and leave."""
    hub.stop_accepting()
    await hub.close()
    sys.stderr.flush()
    os._exit(0)


async def _migrate(source_url: str, target_url: str) -> int:
    from mainloop_mcp.store.transfer import copy_store, side_of, tally

    if source_url.startswith("sqlite:///") and not path_from_url(source_url).is_file():
        raise InvalidInput(f"source {source_url!r} does not exist; give the path of an existing mainloop.db")
    source = await open_store(source_url)
    try:
        target = await open_store(target_url)
        try:
            print((await copy_store(source, target)).line())
            before, after = await tally(side_of(source)), await tally(side_of(target))
        finally:
            await target.close()
    finally:
        await source.close()
    print(f"source {source_url.split('?')[0]}: {before.line()}")
    print(f"target {target_url.split('?')[0]}: {after.line()}")
    if before.same_as(after):
        print("verified: the target holds exactly the source's threads, messages, summaries and agent runs")
        return 0
    print("MISMATCH: the target differs from the source (it held other data before?); nothing was deleted")
    return 1


def _first_leaf(group: BaseExceptionGroup[BaseException]) -> BaseException:
    first = group.exceptions[0]
    return _first_leaf(first) if isinstance(first, BaseExceptionGroup) else first


def _run(fn: Callable[..., Awaitable[int | None]], *args: object) -> int:
    """Run a command; errors a person should read (also from inside the hub's task group) exit 2."""
    from mainloop_mcp.web.app import InsecureBinding

    try:
        return anyio.run(fn, *args) or 0
    except BaseExceptionGroup as group:
        readable, other = group.split((InsecureBinding, MainloopError))
        if readable is None or other is not None:
            raise
        print(f"mainloop: {_first_leaf(readable)}", file=sys.stderr)
    except (InsecureBinding, MainloopError) as exc:
        print(f"mainloop: {exc}", file=sys.stderr)
    except KeyboardInterrupt:
        return 130
    return 2


def _hook(settings: Settings) -> int:
    """Claude Code must never wait on the hub: any failure is one stderr line and exit 0, and a store that
    does not answer within HOOK_DEADLINE_SECONDS is left alone (the turns are posted by the next run)."""
    from mainloop_mcp.importers.hook import run_hook

    raw = sys.stdin.read()
    answer: list[str | None] = []

    def work() -> None:
        try:
            answer.append(anyio.run(run_hook, raw, settings))
        except Exception as exc:  # quiet by design: report, never fail the session
            print(f"mainloop hook: {str(exc).splitlines()[0][:300]}; new turns stay for the next run", file=sys.stderr)

    worker = threading.Thread(target=work, daemon=True)
    worker.start()
    worker.join(HOOK_DEADLINE_SECONDS)
    if worker.is_alive():
        print(f"mainloop hook: the store did not answer in {HOOK_DEADLINE_SECONDS:.0f} s; skipped", file=sys.stderr)
        sys.stderr.flush()
        os._exit(0)  # leave the blocked worker behind; SQLite rolls its open transaction back
    if answer and answer[0]:
        print(answer[0])
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "migrate":
        return _run(_migrate, args.source, args.target)
    if args.command == "agent-run":
        from mainloop_mcp.agents.job_entry import agent_run

        return anyio.run(agent_run, load_settings(), args.prompt_file, args.work_folder)
    try:
        settings = load_settings(**{k: v for k, v in vars(args).items() if k in ("host", "port", "store")})
    except ValidationError as exc:
        print(f"mainloop: bad configuration: {exc}", file=sys.stderr)
        return 2
    logging.basicConfig(
        level=settings.log_level.upper(), stream=sys.stderr, format="%(levelname)s %(name)s: %(message)s"
    )
    if args.command == "compact":
        return _run(_compact, settings, args.thread_id)
    if args.command == "embed":
        if settings.embedder == "none":
            settings = settings.model_copy(update={"embedder": "static"})
        return _run(_embed, settings)
    if args.command == "hook":
        return _hook(settings)
    if args.command == "import":
        return _run(_import, settings, args.kind, args.paths, args.project, not args.no_summaries)
    if args.command == "stdio":
        return _run(_stdio, settings, args.hub)
    return _run(_serve, settings)


if __name__ == "__main__":
    sys.exit(main())
