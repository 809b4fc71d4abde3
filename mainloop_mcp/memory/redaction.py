"""Redaction that reaches everything built from a message, not only the message.

The store replaces the message with a tombstone and drops its thread's summaries of that time. What
compaction already copied upwards stays behind otherwise: the day's digest in the parent quotes the
child's old day summary, and the grandparent's digest quotes the parent's. Each such digest is
redacted in turn and posted again, under its own key, from summaries rebuilt without the message.
"""

from __future__ import annotations

from mainloop_mcp.memory.compact import DIGEST_KEY, digest_message
from mainloop_mcp.memory.periods import Period, day, local_date
from mainloop_mcp.memory.pyramid import Pyramid
from mainloop_mcp.model import Message, Summary, Thread, ThreadFilter
from mainloop_mcp.store.base import edit_store
from mainloop_mcp.store.views import threads_where

DIGEST_REDACTOR = "mainloop (it quoted a redacted message)"


async def redact(pyr: Pyramid, message_id: str, by: str) -> Message:
    """Tombstone a message, then every digest above it that quoted it (rebuilt without it)."""
    edits = edit_store(pyr.store)
    original = await edits.get_message(message_id)
    redacted = await edits.redact_message(message_id, by)
    if not original.metadata.get("redacted"):
        await _follow_digests(pyr, original)
    return redacted


def quotes(digest: Message, child_id: str) -> bool:
    meta = digest.metadata
    children = meta.get("children") if meta.get("kind") == "digest" and not meta.get("redacted") else None
    return isinstance(children, list) and any(isinstance(c, dict) and c.get("id") == child_id for c in children)


async def _follow_digests(pyr: Pyramid, message: Message) -> None:
    thread = await pyr.store.get_thread(message.thread_id)
    if thread.parent_id is None:
        return
    period = day(local_date(message.created_at, pyr.tz))
    stale = [m for m in await pyr.messages_in(thread.parent_id, period) if quotes(m, thread.id)]
    if not stale:
        return
    edits = edit_store(pyr.store)
    for digest in stale:
        await edits.redact_message(digest.id, DIGEST_REDACTOR)
    await _post_again(pyr, thread.parent_id, period, after=message.id)
    await _follow_digests(pyr, stale[0])  # the parent's own digest in the grandparent quoted this one


async def _post_again(pyr: Pyramid, parent_id: str, period: Period, after: str) -> None:
    """The period's digest from the children's current day summaries (the redacted day rebuilt)."""
    children = await threads_where(pyr.store, ThreadFilter(parent_id=parent_id, status=None))
    entries: list[tuple[Thread, Summary]] = []
    for child in sorted(children, key=lambda c: c.title.casefold()):
        summary = await pyr.summary(child, period)
        if summary is not None:
            entries.append((child, summary))
    if entries:
        fresh = digest_message(pyr, parent_id, period.label, entries)
        key = DIGEST_KEY.format(parent=parent_id, day=period.label) + f":after:{after}"
        await pyr.store.append_messages([fresh.model_copy(update={"idempotency_key": key})])
