"""What the claude.ai and ChatGPT importers share: reading an export file, and the project they land in."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from mainloop_mcp.importers.records import BadRecord, Tally, decode
from mainloop_mcp.model import ThreadType
from mainloop_mcp.store.imports import ImportedThread

DEFAULT_PROJECT = "Imported"


def project_thread(title: str) -> ImportedThread:
    """The project conversations go under (created on first use, found again by its title's key)."""
    return ImportedThread(
        source_key=f"import:project:{title}",
        title=title,
        thread_type=ThreadType.PROJECT,
        context="Conversations imported from claude.ai and ChatGPT data exports",
    )


def conversations(path: Path, tally: Tally) -> Iterator[tuple[str, dict[str, Any]] | BadRecord]:
    """(where, conversation) for each conversation in a `conversations.json`, or why one is unusable."""
    try:
        data = json.loads(decode(path.read_bytes(), tally))
    except ValueError as exc:
        yield BadRecord(str(path), f"not JSON: {exc}")
        return
    if isinstance(data, dict) and isinstance(data.get("conversations"), list):
        data = data["conversations"]
    if not isinstance(data, list):
        yield BadRecord(str(path), "expected a JSON array of conversations")
        return
    for index, conversation in enumerate(data):
        where = f"{path}[{index}]"
        if isinstance(conversation, dict):
            yield where, conversation
        else:
            yield BadRecord(where, f"a JSON {type(conversation).__name__}, not a conversation")
