"""Surface sizes: what an LLM reads from the hub, in bytes and estimated tokens (issue #13's table).

    .venv/bin/python bench/surface_sizes.py

Builds a fresh SQLite hub under a temp folder: one 1,000-message project spread over the last 60
days, 99 more projects (100 threads besides main) and a few topic messages, then calls every
measured tool through a real in-memory MCP client (2026-07-28 era) and prints, for each:
the text content the model reads, the structuredContent and the whole result as JSON.
`raw` beside read_messages is the bare message text of the same page (the peer figure).
"""

from __future__ import annotations

import json
import random
import tempfile
from datetime import timedelta
from pathlib import Path
from typing import Any

import anyio
from mcp import Client
from mcp.types import CallToolResult, TextContent

from mainloop_mcp.config import Settings
from mainloop_mcp.hub import open_hub
from mainloop_mcp.memory.tokens import estimate_tokens
from mainloop_mcp.model import NewMessage, NewThread, Role, ThreadType, utc_now
from mainloop_mcp.server import create_server

WORDS = (
    "pump seal valve order seeds compost bed tomato water timer hose soil rain north fence budget "
    "quote supplier decided next check monday install drip line mulch basil pepper trellis"
).split()


def sentence(rng: random.Random) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(rng.randint(12, 40))).capitalize() + "."


def text_of(result: CallToolResult) -> str:
    return "".join(c.text for c in result.content if isinstance(c, TextContent))


def row(name: str, result: CallToolResult, note: str = "") -> None:
    text = text_of(result)
    structured = json.dumps(result.structured_content or {}, separators=(",", ":"))
    whole = result.model_dump_json(by_alias=True, exclude_none=True)
    print(
        f"{name:<34} text {len(text.encode()):>8,} B ~{estimate_tokens(text):>6,} tok | "
        f"structured {len(structured.encode()):>8,} B | whole {len(whole.encode()):>8,} B {note}"
    )


async def seed(hub: Any) -> str:
    rng = random.Random(13)
    store = hub.store
    now = utc_now()
    big = await store.create_thread(NewThread(thread_type=ThreadType.PROJECT, title="Garden irrigation"))
    roles = [Role.USER, Role.ASSISTANT, Role.AGENT]
    await store.append_messages(
        [
            NewMessage(
                thread_id=big.id,
                role=roles[i % 3],
                content=sentence(rng),
                created_at=now - timedelta(minutes=i * 86),  # 1,000 messages over ~60 days
            )
            for i in range(1000)
        ]
    )
    for i in range(99):
        t = await store.create_thread(
            NewThread(
                thread_type=ThreadType.PROJECT,
                title=f"Project {i} {rng.choice(WORDS)}",
                thread_context=sentence(rng),
            )
        )
        await store.post_message(NewMessage(thread_id=t.id, content=f"garden {sentence(rng)}"))
    return str(big.id)


async def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(store=f"sqlite:///{Path(tmp) / 'surface.db'}")
        async with open_hub(settings) as hub:
            big = await seed(hub)
            async with Client(create_server(hub)) as client:
                tools = await client.list_tools()
                listed = tools.model_dump_json(by_alias=True, exclude_none=True)
                schemas = sum(len(json.dumps(t.output_schema or {})) for t in tools.tools)
                titled = sum(1 for t in tools.tools if t.title and t.annotations)
                print(
                    f"{'tools/list':<34} {len(listed.encode()):>8,} B ~{estimate_tokens(listed):,} tok "
                    f"({len(tools.tools)} tools, output schemas {schemas:,} B, "
                    f"{titled} with title+annotations)   target <= 15,360 B"
                )
                for budget in (2000, 8000, 32000):
                    result = await client.call_tool("get_context", {"thread_id": big, "token_budget": budget})
                    structured = json.dumps(result.structured_content or {}, separators=(",", ":"))
                    read = max(estimate_tokens(text_of(result)), estimate_tokens(structured))
                    row(f"get_context budget {budget:,}", result, f" read/budget {read / budget:.2f}  target <= 1")
                result = await client.call_tool("read_messages", {"thread_id": big, "limit": 50})
                page = await hub.store.read_messages(big, limit=50)
                raw = sum(len(m.content.encode()) for m in page.messages)
                row(
                    "read_messages 50",
                    result,
                    f" raw {raw:,} B, text/raw {len(text_of(result).encode()) / raw:.2f}  target <= 1.3",
                )
                result = await client.call_tool("list_threads", {"limit": 100})
                row("list_threads 100", result, " target text <= 12,288 B")
                result = await client.call_tool("ask_status", {"topic": "garden pump"})
                row("ask_status (3 threads)", result)


if __name__ == "__main__":
    anyio.run(main)
