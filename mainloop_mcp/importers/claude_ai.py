"""claude.ai data export: `conversations.json`, an array of conversations with `chat_messages`.

Each conversation becomes a task thread under the chosen project (default "Imported"). `sender`
human/assistant become user/assistant; tool blocks are skipped; attachments are named, not inlined.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from mainloop_mcp.importers.exports import conversations, project_thread
from mainloop_mcp.importers.records import BadRecord, SourceItem, Tally, message, micros, title_of
from mainloop_mcp.model import ThreadType
from mainloop_mcp.store.imports import ImportedMessage, ImportedThread

ROLES = {"human": "user", "assistant": "assistant"}


def read(paths: list[Path], tally: Tally, project: str) -> Iterator[SourceItem]:
    parent = project_thread(project)
    yield parent
    for path in paths:
        for item in conversations(path, tally):
            if isinstance(item, BadRecord):
                yield item
                continue
            where, conversation = item
            if not conversation.get("uuid"):
                yield BadRecord(where, "a conversation without uuid")
                continue
            messages: list[ImportedMessage] = []
            for index, chat in enumerate(conversation.get("chat_messages") or []):
                found = _message(chat, tally)
                if isinstance(found, str):
                    yield BadRecord(f"{where}.chat_messages[{index}]", found)
                elif found is not None:
                    messages.append(found)
            if not messages:
                tally["conversations without messages skipped"] += 1
                continue
            yield ImportedThread(
                source_key=f"claude.ai:{conversation['uuid']}",
                title=title_of(str(conversation.get("name") or "") or messages[0].content, "claude.ai conversation"),
                thread_type=ThreadType.TASK,
                parent_key=parent.source_key,
                context=f"claude.ai conversation {conversation['uuid']}",
                messages=messages,
            )


def _message(chat: Any, tally: Tally) -> ImportedMessage | str | None:
    """The message, None when it has no text, or why it is bad."""
    if not isinstance(chat, dict) or not chat.get("uuid"):
        return "a message without uuid"
    role = ROLES.get(str(chat.get("sender")))
    if role is None:
        return f"unknown sender {chat.get('sender')!r}"
    try:
        at = micros(chat.get("created_at"))
    except ValueError as exc:
        return f"no usable created_at: {exc}"
    text = chat.get("text") or "\n\n".join(
        b["text"]
        for b in chat.get("content") or []
        if isinstance(b, dict) and b.get("type") == "text" and b.get("text")
    )
    names = [
        a.get("file_name") for a in (chat.get("attachments") or []) + (chat.get("files") or []) if isinstance(a, dict)
    ]
    if names:
        text += "\n\n" + "\n".join(f"[attachment: {n}]" for n in names if n)
    if not str(text).strip():
        tally["empty messages skipped"] += 1
        return None
    return message(f"claude.ai:{chat['uuid']}", role, str(text), at)
