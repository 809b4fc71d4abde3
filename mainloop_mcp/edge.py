"""The one place domain errors become protocol answers: tool errors, -32602 for unknown records.

Handlers raise MainloopError (or let pydantic raise ValidationError); server.py wraps every
handler with the matching translator when it registers it.
"""

from __future__ import annotations

import difflib
import functools
from collections.abc import Awaitable, Callable, Collection, Iterable
from typing import Any, ParamSpec, TypeVar, get_type_hints

from mcp import MCPError
from mcp.server.context import CallNext, HandlerResult, ServerRequestContext
from mcp.server.mcpserver.exceptions import ResourceError, ResourceNotFoundError, ToolError
from mcp.types import INVALID_PARAMS, CallToolResult
from pydantic import BaseModel, ValidationError

from mainloop_mcp.errors import InvalidInput, MainloopError, NotFound, TooLarge
from mainloop_mcp.model import MAX_RESPONSE_BYTES

P = ParamSpec("P")
R = TypeVar("R")


def explain(exc: ValidationError) -> str:
    """A pydantic error as one readable line, e.g. 'content: content must not be empty'."""
    parts = []
    for err in exc.errors():
        where = ".".join(str(p) for p in err["loc"]) or "input"
        parts.append(f"{where}: {err['msg'].removeprefix('Value error, ')}")
    return "; ".join(parts)


def argument_error(tool: str, exc: ValidationError) -> ToolError:
    """Arguments that don't fit a tool's input schema, as one line the model can act on."""
    return ToolError(brief(f"{tool}: bad arguments: {explain(exc)}. The tool's inputSchema lists what it takes"))


def unknown_arguments(tool: str, unknown: Iterable[str], takes: Collection[str]) -> ToolError:
    """Arguments a tool does not take, each with the closest one it does (`thread` -> `thread_id`):
    left unread, a misnamed filter would silently widen a search."""
    named = []
    for name in unknown:
        close = difflib.get_close_matches(name, takes, n=1, cutoff=0.6)
        named.append(f"{name[:40]!r}" + (f" (did you mean {close[0]!r}?)" if close else ""))
    return ToolError(
        brief(f"{tool}: it takes no argument {', '.join(named)}. The tool's inputSchema lists what it takes")
    )


def _translating(
    to_error: Callable[[Exception], Exception],
) -> Callable[[Callable[P, Awaitable[R]]], Callable[P, Awaitable[R]]]:
    def decorate(fn: Callable[P, Awaitable[R]]) -> Callable[P, Awaitable[R]]:
        @functools.wraps(fn)
        async def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
            try:
                _check_text([args, kwargs])
                return check_answer_size(await fn(*args, **kwargs))
            except (MainloopError, ValidationError, UnicodeEncodeError) as exc:
                raise to_error(exc) from exc

        # The SDK builds schemas from annotations; resolve them here, in the handler's own module.
        wrapper.__annotations__ = get_type_hints(fn, include_extras=True)
        return wrapper

    return decorate


def _check_text(value: object) -> None:
    """Refuse unpaired surrogates (JSON can carry "\\ud800") in any argument before a store sees them:
    SQLite's driver refuses them at write time, but the BigQuery client sends them on, and the
    emulator then failed every retry for minutes (found by the fuzz suite on BigQuery)."""
    if isinstance(value, str):
        value.encode("utf-8")  # UnicodeEncodeError: translated like any other bad input
    elif isinstance(value, list | tuple | set):
        for item in value:
            _check_text(item)
    elif isinstance(value, dict):
        for key, item in value.items():
            _check_text(key)
            _check_text(item)
    elif isinstance(value, BaseModel):
        _check_text(list(value.__dict__.values()))


def check_answer_size(result: R) -> R:
    """The last guard: an answer the client would drop the session over becomes a clear refusal instead.
    Pages are already cut by bytes; this catches the rest (e.g. a run with a huge prompt and result)."""
    if isinstance(result, CallToolResult):  # already as sent: text and structuredContent
        size = len(result.model_dump_json(by_alias=True, exclude_none=True).encode("utf-8", "surrogatepass"))
    elif isinstance(result, BaseModel):
        size = 2 * len(result.model_dump_json().encode("utf-8", "surrogatepass"))  # text + structuredContent
    elif isinstance(result, str):
        size = len(result.encode("utf-8", "surrogatepass"))
    else:
        return result
    if size > MAX_RESPONSE_BYTES:
        raise TooLarge(
            f"the answer would be about {size:,} bytes, over the {MAX_RESPONSE_BYTES:,} an MCP client accepts; "
            "ask for less (a smaller limit or a narrower range)"
        )
    return result


MAX_MESSAGE_CHARS = 1000


def brief(text: str, limit: int = MAX_MESSAGE_CHARS) -> str:
    """An error message that quotes a huge bad value keeps its head and its advice, not a megabyte."""
    if len(text) <= limit:
        return text
    keep = (limit - 40) // 2
    return f"{text[:keep]}...[{len(text) - 2 * keep:,} chars cut]...{text[-keep:]}"


def _message(exc: Exception) -> str:
    return brief(_full_message(exc))


def _full_message(exc: Exception) -> str:
    if isinstance(exc, UnicodeEncodeError):
        # JSON can carry an unpaired surrogate (\\ud800) that no UTF-8 store or log can hold.
        bad = exc.object[exc.start : exc.end]
        return f"text contains {bad!r}, an unpaired surrogate that is not valid Unicode; send UTF-8 text"
    return explain(exc) if isinstance(exc, ValidationError) else str(exc)


def _tool_error(exc: Exception) -> Exception:
    return ToolError(_message(exc))


def _resource_error(exc: Exception) -> Exception:
    if isinstance(exc, NotFound):
        return ResourceNotFoundError(_message(exc))
    if isinstance(exc, InvalidInput | ValidationError | UnicodeEncodeError):  # a bad URI part, e.g. period 2026-13
        return MCPError(code=INVALID_PARAMS, message=_message(exc))
    return ResourceError(_message(exc))


def _prompt_error(exc: Exception) -> Exception:
    return MCPError(code=INVALID_PARAMS, message=_message(exc))


tool_errors = _translating(_tool_error)
resource_errors = _translating(_resource_error)
prompt_errors = _translating(_prompt_error)


async def prompt_lookup_errors(ctx: ServerRequestContext[Any, Any], call_next: CallNext) -> HandlerResult:
    """Server middleware: an unknown prompt name or missing/invalid prompt arguments are -32602.

    The SDK (mcp 2.3) answers both with a bare ValueError, which goes out as JSON-RPC error code 0
    with a logged traceback; the spec and the official conformance suite expect -32602. Errors from
    inside a prompt that are not about its arguments keep the SDK's answer.
    """
    try:
        return await call_next(ctx)
    except ValueError as exc:
        if ctx.method != "prompts/get" or isinstance(exc, ValidationError) or not isinstance(exc.__cause__, ValueError):
            raise
        raise MCPError(code=INVALID_PARAMS, message=str(exc)) from exc
