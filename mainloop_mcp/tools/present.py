"""What the model reads back from a tool: compact text, plus lean structuredContent.

Text: one line a message (time to the second in the hub's zone, author, text), one line a thread,
markdown for assembled context. structuredContent: the typed result without null or default-valued
keys and with times to the second. Clients differ in which of the two they hand the model (Claude
Code passes structuredContent), so both are kept small.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Awaitable, Callable
from datetime import tzinfo
from typing import Any, ParamSpec

from mcp.server.mcpserver import Context
from mcp.types import CallToolResult, TextContent
from pydantic import BaseModel

from mainloop_mcp.hub import Hub, hub_of
from mainloop_mcp.memory.periods import zone
from mainloop_mcp.tools.render import render

P = ParamSpec("P")
_FRACTION = re.compile(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)\.\d+(Z|[+-]\d\d:\d\d)$")
OPAQUE_KEYS = frozenset({"metadata", "content", "snippet", "thread_context", "prompt", "result", "error"})


def lean(data: Any) -> Any:
    """Drop null keys and cut times to the second; values under OPAQUE_KEYS are kept as they are."""
    if isinstance(data, dict):
        return {k: (v if k in OPAQUE_KEYS else lean(v)) for k, v in data.items() if v is not None}
    if isinstance(data, list):
        return [lean(v) for v in data]
    if isinstance(data, str) and (m := _FRACTION.match(data)):
        return m[1] + m[2]
    return data


def structured(result: BaseModel) -> dict[str, Any]:
    dumped = result.model_dump(mode="json", exclude_defaults=True)
    return dict(lean(dumped))


def as_result(result: BaseModel, tz: tzinfo) -> CallToolResult:
    return CallToolResult(
        content=[TextContent(type="text", text=render(result, tz))], structured_content=structured(result)
    )


def compact_json_size(result: BaseModel) -> int:
    return len(json.dumps(structured(result), separators=(",", ":"), ensure_ascii=False))


def presented(fn: Callable[P, Awaitable[BaseModel]]) -> Callable[P, Awaitable[Any]]:
    """Wrap a tool so it answers compact text plus lean structuredContent (same output schema)."""

    @functools.wraps(fn)
    async def wrapper(*args: P.args, **kwargs: P.kwargs) -> Any:
        result = await fn(*args, **kwargs)
        hub, ctx = kwargs.get("hub"), kwargs.get("ctx")
        if not isinstance(hub, Hub) and isinstance(ctx, Context):
            hub = hub_of(ctx)
        tz = zone(hub.settings.timezone) if isinstance(hub, Hub) else zone("UTC")
        return as_result(result, tz)

    return wrapper
