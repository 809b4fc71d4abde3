"""ChatGPT data export: `conversations.json`, each conversation a `mapping` tree of message nodes.

The branch shown in ChatGPT (from `current_node` back to the root) is imported; regenerated answers
on other branches are not. User and assistant text (and code) become messages; system, tool and
browsing messages, hidden ones and reasoning traces are skipped. A message without `create_time`
takes the time of the one before it.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from mainloop_mcp.importers.exports import conversations, project_thread
from mainloop_mcp.importers.records import BadRecord, SourceItem, Tally, message, micros, title_of
from mainloop_mcp.model import ThreadType
from mainloop_mcp.store.imports import ImportedMessage, ImportedThread


def read(paths: list[Path], tally: Tally, project: str) -> Iterator[SourceItem]:
    parent = project_thread(project)
    yield parent
    for path in paths:
        for item in conversations(path, tally):
            if isinstance(item, BadRecord):
                yield item
                continue
            where, conversation = item
            conversation_id = conversation.get("conversation_id") or conversation.get("id")
            mapping = conversation.get("mapping")
            if not conversation_id or not isinstance(mapping, dict):
                yield BadRecord(where, "a conversation without id or without a mapping object")
                continue
            try:
                start = micros(conversation.get("create_time"))
            except ValueError:
                start = 0
            messages = _messages(_branch(mapping, conversation.get("current_node")), start, tally)
            if not messages:
                tally["conversations without messages skipped"] += 1
                continue
            yield ImportedThread(
                source_key=f"chatgpt:{conversation_id}",
                title=title_of(str(conversation.get("title") or "") or messages[0].content, "ChatGPT conversation"),
                thread_type=ThreadType.TASK,
                parent_key=parent.source_key,
                context=f"ChatGPT conversation {conversation_id}",
                messages=messages,
            )


def _branch(mapping: dict[str, Any], leaf: Any) -> list[dict[str, Any]]:
    """Nodes from the root to `leaf` (or, without a known leaf, along each node's last child)."""
    if leaf not in mapping:
        node = next((n for n in mapping.values() if isinstance(n, dict) and n.get("parent") is None), None)
        path = []
        while isinstance(node, dict):
            path.append(node)
            children = node.get("children") or []
            node = mapping.get(children[-1]) if children else None
        return path
    path, seen = [], set()
    node = mapping.get(leaf)
    while isinstance(node, dict) and node.get("id") not in seen:
        seen.add(node.get("id"))
        path.append(node)
        node = mapping.get(str(node.get("parent")))
    return path[::-1]


def _messages(nodes: list[dict[str, Any]], start: int, tally: Tally) -> list[ImportedMessage]:
    messages: list[ImportedMessage] = []
    at = start
    for node in nodes:
        msg = node.get("message")
        if not isinstance(msg, dict):
            continue
        role = (msg.get("author") or {}).get("role")
        try:
            at = micros(msg.get("create_time"))
        except ValueError:
            pass  # keeps the previous message's time
        hidden = (msg.get("metadata") or {}).get("is_visually_hidden_from_conversation")
        text = _text(msg.get("content") or {})
        if role not in ("user", "assistant") or hidden or text is None:
            tally["system, tool and hidden messages skipped"] += 1
            continue
        if not text.strip() or not msg.get("id"):
            tally["empty messages skipped"] += 1
            continue
        messages.append(message(f"chatgpt:{msg['id']}", role, text, at))
    return messages


def _text(content: dict[str, Any]) -> str | None:
    """The readable text of a message's content, or None for content types that are not conversation."""
    kind = content.get("content_type")
    if kind == "code":
        return f"```\n{content.get('text') or ''}\n```"
    if kind not in ("text", "multimodal_text"):
        return None
    parts = []
    for part in content.get("parts") or []:
        if isinstance(part, str):
            parts.append(part)
        elif isinstance(part, dict) and "asset_pointer" in part:
            parts.append("[image]")
    return "\n".join(p for p in parts if p)
