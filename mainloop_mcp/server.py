"""Builds the MCPServer from the tool, resource and prompt lists; runs it over stdio."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack, asynccontextmanager

from mcp.server import MCPServer
from mcp.server.mcpserver import Context
from mcp.server.mcpserver.exceptions import ToolError
from mcp.types import CallToolResult, Completion, CompletionArgument, InputRequiredResult
from pydantic import ValidationError

from mainloop_mcp import __version__
from mainloop_mcp.edge import (
    argument_error,
    prompt_errors,
    prompt_lookup_errors,
    resource_errors,
    tool_errors,
    unknown_arguments,
)
from mainloop_mcp.hub import Hub
from mainloop_mcp.live.wire import attach_live, live_fan_out
from mainloop_mcp.prompts import memory as memory_prompts
from mainloop_mcp.prompts import threads as thread_prompts
from mainloop_mcp.prompts.complete import complete
from mainloop_mcp.resources import activity as activity_resources
from mainloop_mcp.resources import agents as agent_resources
from mainloop_mcp.resources import memory as memory_resources
from mainloop_mcp.resources import threads as thread_resources
from mainloop_mcp.tools import agents as agent_tools
from mainloop_mcp.tools import memory as memory_tools
from mainloop_mcp.tools import messages as message_tools
from mainloop_mcp.tools import search as search_tools
from mainloop_mcp.tools import threads as thread_tools
from mainloop_mcp.tools.present import presented
from mainloop_mcp.tools.spec import input_schema, output_schema

INSTRUCTIONS = """\
mainloop is the user's long-term memory: one continuous main thread for daily life and decisions,
project threads under it, short-lived task threads under projects. Name a thread by id, by its
title, or "main".
Start of a session: get_context on the thread you work in (or "main") loads its memory within a
token budget; list_threads finds a thread by title. Use read_messages only to page through raw
messages, zoom to expand a summarised period, search to find words across threads, ask_status for
"where does X stand?".
Record what is decided or produced with post_message (post_messages for several at once), with an
idempotency_key when a retry could repeat it; put lasting goals and constraints in
update_thread. Fix a wrong message with correct_message; remove a pasted secret with
redact_message."""

TOOLS = [*thread_tools.TOOLS, *message_tools.TOOLS, *memory_tools.TOOLS, *search_tools.TOOLS, *agent_tools.TOOLS]
TEMPLATES: list[tuple[str, str, Callable[..., Awaitable[str]]]] = [
    *thread_resources.TEMPLATES,
    *memory_resources.TEMPLATES,
    *agent_resources.TEMPLATES,
]
STATIC_RESOURCES = [*thread_resources.STATIC, *activity_resources.STATIC, *agent_resources.STATIC]
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

    server: MCPServer[Hub] = MainloopServer(
        "mainloop",
        title="mainloop",
        version=__version__,
        instructions=INSTRUCTIONS,
        lifespan=lifespan,
        log_level=hub.settings.log_level.upper(),  # type: ignore[arg-type]
        middleware=[prompt_lookup_errors],
    )
    legacy = attach_live(server, hub.changes) if hub.changes is not None else None
    for spec in TOOLS:
        server.add_tool(
            tool_errors(presented(spec.fn)),
            title=spec.title,
            description=spec.description,
            annotations=spec.annotations(),
            structured_output=True,
        )
        tool = server._tool_manager.get_tool(spec.name)
        assert tool is not None
        tool.parameters = input_schema(tool.parameters)
        tool.fn_metadata.output_schema = output_schema(tool.fn_metadata.output_schema)
    for uri, name, template_fn in TEMPLATES:
        server.resource(uri, name=name, mime_type="application/json")(resource_errors(template_fn))
    for uri, name, static_fn in STATIC_RESOURCES:
        server.resource(uri, name=name, description=static_fn.__doc__, mime_type="application/json")(
            resource_errors(_bind(static_fn, hub))
        )
    for name, prompt_fn in PROMPTS:
        server.prompt(name=name)(prompt_errors(prompt_fn))

    async def completions(ref: object, argument: CompletionArgument, _: object) -> Completion | None:
        return await complete(hub, ref, argument)

    server.completion()(completions)  # type: ignore[no-untyped-call]
    return server


class MainloopServer(MCPServer[Hub]):
    """The SDK's server, with wrong arguments answered in one actionable line (no pydantic link), and
    arguments a tool does not take refused rather than ignored."""

    async def call_tool(
        self, name: str, arguments: dict[str, object], context: Context[Hub, object] | None = None
    ) -> CallToolResult | InputRequiredResult:
        schema = self._tool_input_schema(name)  # the SDK's own lookup; None for an unknown tool
        takes = set(schema.get("properties", {})) if schema else set()
        if schema is not None and (unknown := [a for a in arguments if a not in takes]):
            raise unknown_arguments(name, unknown, takes)
        try:
            return await super().call_tool(name, arguments, context)
        except ToolError as exc:
            cause = exc.__cause__
            if isinstance(cause, ValidationError) and cause.title.endswith("Arguments"):
                raise argument_error(name, cause) from cause
            raise


def _bind(fn: Callable[[Hub], Awaitable[str]], hub: Hub) -> Callable[[], Awaitable[str]]:
    async def bound() -> str:
        return await fn(hub)

    return bound


async def run_stdio(hub: Hub) -> None:
    await create_server(hub).run_stdio_async()
