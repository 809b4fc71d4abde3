"""`mainloop hook`: what Claude Code's hooks run, straight on the configured store (no server needed).

SessionStart answers with the project's context from the hub (`additionalContext`); Stop and
SessionEnd post the session's new turns to its task thread, reading the transcript from where the
last run stopped (kept in the store beside the thread). A run that fails leaves that position
where it was, so the next Stop posts the turns it missed.
"""

from __future__ import annotations

import json
from pathlib import Path

import anyio.to_thread
from pydantic import BaseModel, ConfigDict

from mainloop_mcp.config import Settings
from mainloop_mcp.errors import InvalidInput
from mainloop_mcp.importers.claude_code import Transcript, project_key, read_transcript, session_key, threads_of
from mainloop_mcp.importers.records import Tally
from mainloop_mcp.memory.assembly import assemble_context, render_context
from mainloop_mcp.memory.periods import zone
from mainloop_mcp.memory.pyramid import Pyramid
from mainloop_mcp.memory.summariser import ExtractiveSummariser
from mainloop_mcp.model import ThreadFilter
from mainloop_mcp.store import open_store
from mainloop_mcp.store.base import memory_store
from mainloop_mcp.store.imports import ImportedThread, ImportSink

CONTEXT_TOKENS = 4_000
RECENT_SESSIONS = 5
POSTING_EVENTS = ("Stop", "SessionEnd", "SubagentStop", "PreCompact")


class HookEvent(BaseModel):
    """The fields of Claude Code's hook input this command reads; the rest are ignored."""

    model_config = ConfigDict(extra="ignore")

    hook_event_name: str
    session_id: str
    transcript_path: str | None = None
    cwd: str = ""


async def session_context(event: HookEvent, sink: ImportSink, pyr: Pyramid) -> str | None:
    """The hook output giving Claude its project's context, or None when the hub has no thread for this folder."""
    found = await sink.import_source(project_key(event.cwd))
    if found is None:
        return None
    context = render_context(await assemble_context(pyr, found[0], CONTEXT_TOKENS))
    recent = await pyr.store.list_threads(ThreadFilter(parent_id=found[0]), limit=RECENT_SESSIONS)
    sessions = "\n".join(f"- {t.updated_at:%Y-%m-%d} {t.title} ({t.id})" for t in recent.threads)
    text = f"Memory from the mainloop hub for this project ({event.cwd}):\n\n{context}"
    if sessions:
        text += f"\n\n## Latest sessions here (read one with read_messages)\n{sessions}"
    return json.dumps({"hookSpecificOutput": {"hookEventName": "SessionStart", "additionalContext": text}})


async def post_new_turns(event: HookEvent, sink: ImportSink) -> int:
    """Post the turns written to the transcript since the last run; returns how many messages were new."""
    if not event.transcript_path:
        return 0
    found = await sink.import_source(session_key(event.session_id))
    start = found[1] if found is not None else 0
    threads = await anyio.to_thread.run_sync(new_threads, Path(event.transcript_path), event.session_id, start)
    if found is not None and not any(t.source_key == session_key(event.session_id) for t in threads):
        return 0  # nothing new to say; the position moves with the next turn that has text
    return (await sink.import_threads(threads)).messages_added if threads else 0


def new_threads(path: Path, session_id: str, start: int) -> list[ImportedThread]:
    """The project and task threads holding the transcript's turns after byte `start`."""
    path = path.expanduser()
    if start > path.stat().st_size:
        start = 0  # the transcript was rewritten; idempotency keys keep a re-read from duplicating
    transcript, tally = Transcript(), Tally()
    for _bad in read_transcript(path, tally, start, into=transcript):
        pass  # a bad line is skipped here as in `mainloop import`; the hook has nobody to report to
    return threads_of(transcript, tally, {session_id: transcript.end})


async def run_hook(raw: str, settings: Settings) -> str | None:
    """Handle one hook call; returns what to print on stdout (SessionStart's context), if anything."""
    event = HookEvent.model_validate_json(raw)
    store = await open_store(settings.store)
    try:
        if not isinstance(store, ImportSink):
            raise InvalidInput("the hook needs a sqlite:/// store")
        if event.hook_event_name == "SessionStart":
            pyr = Pyramid(memory_store(store), zone(settings.timezone), ExtractiveSummariser())
            return await session_context(event, store, pyr)
        if event.hook_event_name in POSTING_EVENTS:
            await post_new_turns(event, store)
        return None
    finally:
        await store.close()
