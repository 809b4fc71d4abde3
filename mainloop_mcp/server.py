"""Builds the MCPServer from the tool, resource and prompt lists; runs it over stdio."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack, asynccontextmanager

from mcp.server import MCPServer

from mainloop_mcp import __version__
from mainloop_mcp.edge import prompt_errors, prompt_lookup_errors, resource_errors, tool_errors
from mainloop_mcp.hub import Hub
from mainloop_mcp.live.wire import attach_live, live_fan_out
from mainloop_mcp.prompts import memory as memory_prompts
from mainloop_mcp.prompts import threads as thread_prompts
from mainloop_mcp.resources import agents as agent_resources
from mainloop_mcp.resources import memory as memory_resources
from mainloop_mcp.resources import threads as thread_resources
from mainloop_mcp.tools import agents as agent_tools
from mainloop_mcp.tools import memory as memory_tools
from mainloop_mcp.tools import search as search_tools
from mainloop_mcp.tools import threads as thread_tools

INSTRUCTIONS = """\
mainloop keeps the user's threads: one continuous main thread, project threads under it and
short-lived task threads under projects. Read a thread before acting in it (read_messages or the
thread://{id} resource), post what you decide or produce with post_message, and pass an
idempotency_key when a retry could repeat a post."""

TOOLS = [*thread_tools.TOOLS, *memory_tools.TOOLS, *search_tools.TOOLS, *agent_tools.TOOLS]
TEMPLATES: list[tuple[str, str, Callable[..., Awaitable[str]]]] = [
    *thread_resources.TEMPLATES,
    *memory_resources.TEMPLATES,
    *agent_resources.TEMPLATES,
]
STATIC_RESOURCES = [*thread_resources.STATIC, *agent_resources.STATIC]
PROMPTS = [*thread_prompts.PROMPTS, *memory_prompts.PROMPTS]


def create_server(hub: Hub) -> MCPServer[Hub]:
    """An MCPServer whose handlers all reach `hub` through their Context, and whose sessions (both
    protocol eras) hear of every change in the hub's change feed."""

    @asynccontextmanager
    async def lifespan(_: MCPServer[Hub]) -> AsyncIterator[Hub]:
        async with AsyncExitStack() as stack:
            if legacy is not None and hub.changes is not None:
                await stack.enter_async_context(live_fan_out(legacy, hub.changes))
            yield hub

    server: MCPServer[Hub] = MCPServer(
        "mainloop",
        title="mainloop",
        version=__version__,
        instructions=INSTRUCTIONS,
        lifespan=lifespan,
        log_level=hub.settings.log_level.upper(),  # type: ignore[arg-type]
        middleware=[prompt_lookup_errors],
    )
    legacy = attach_live(server, hub.changes) if hub.changes is not None else None
    for fn in TOOLS:
        server.add_tool(tool_errors(fn), structured_output=True)  # type: ignore[arg-type]
    for uri, name, template_fn in TEMPLATES:
        server.resource(uri, name=name, mime_type="application/json")(resource_errors(template_fn))
    for uri, name, static_fn in STATIC_RESOURCES:
        server.resource(uri, name=name, description=static_fn.__doc__, mime_type="application/json")(
            resource_errors(_bind(static_fn, hub))
        )
    for name, prompt_fn in PROMPTS:
        server.prompt(name=name)(prompt_errors(prompt_fn))
    return server


def _bind(fn: Callable[[Hub], Awaitable[str]], hub: Hub) -> Callable[[], Awaitable[str]]:
    async def bound() -> str:
        return await fn(hub)

    return bound


async def run_stdio(hub: Hub) -> None:
    await create_server(hub).run_stdio_async()
