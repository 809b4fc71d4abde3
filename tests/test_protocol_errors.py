"""Unknown names and missing arguments are JSON-RPC invalid params (-32602), in both protocol eras."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from mcp import Client, MCPError
from mcp.types import INVALID_PARAMS

pytestmark = pytest.mark.anyio

CALLS: dict[str, Callable[[Client], Awaitable[Any]]] = {
    "unknown prompt": lambda c: c.get_prompt("no-such-prompt"),
    "prompt without its required argument": lambda c: c.get_prompt("resume-thread", {}),
    "prompt about an unknown thread": lambda c: c.get_prompt("resume-thread", {"thread_id": "thr_missing"}),
    "unknown resource": lambda c: c.read_resource("nothing://here"),
    "unknown thread resource": lambda c: c.read_resource("thread://thr_missing"),
}


@pytest.mark.parametrize("call", CALLS.values(), ids=CALLS.keys())
async def test_bad_lookup_is_invalid_params(client: Client, call: Callable[[Client], Awaitable[Any]]) -> None:
    with pytest.raises(MCPError) as raised:
        await call(client)
    assert raised.value.error.code == INVALID_PARAMS, raised.value.error
