"""Tool results as the compact text a model reads: one line a message or thread, markdown for context."""

from __future__ import annotations

import json
from datetime import datetime, tzinfo
from functools import singledispatch

from pydantic import BaseModel

from mainloop_mcp.memory.assembly import ThreadContext, item_line, render_context
from mainloop_mcp.memory.compact import CompactReport
from mainloop_mcp.memory.zoom import ZoomResult
from mainloop_mcp.model import (
    AgentRun,
    AgentRunPage,
    FoundThreads,
    ListedMessage,
    ListedThread,
    Message,
    Thread,
    ThreadMessages,
    ThreadType,
)
from mainloop_mcp.search.fulltext import SearchResult
from mainloop_mcp.search.status import StatusAnswer


def when(t: datetime, tz: tzinfo) -> str:
    return t.astimezone(tz).strftime("%Y-%m-%d %H:%M:%S")


def author(m: Message | ListedMessage) -> str:
    name = m.metadata.get("author")
    return f"{m.role.value}/{name}" if isinstance(name, str) and name else m.role.value


def message_lines(messages: list[ListedMessage], tz: tzinfo) -> list[str]:
    """One line a message under a header per local day: `14:02:11 user: text` (continuations indented)."""
    lines: list[str] = []
    day = ""
    for m in messages:
        stamp = when(m.created_at, tz)
        if stamp[:10] != day:
            day = stamp[:10]
            lines.append(f"## {day}")
        note = f" [superseded by {m.metadata['superseded_by']}]" if m.metadata.get("superseded_by") else ""
        lines.append(f"{stamp[11:]} {author(m)}: {m.content.replace(chr(10), chr(10) + '  ')}{note}")
    return lines


def thread_line(t: Thread | ListedThread, tz: tzinfo) -> str:
    under = f" under {t.parent_id}" if t.thread_type is ThreadType.TASK else ""
    archived = " (archived)" if t.status.value == "archived" else ""
    return f'{t.id} {t.thread_type.value} "{t.title}"{under}{archived}, last activity {when(t.updated_at, tz)[:16]}'


def zone_name(tz: tzinfo) -> str:
    return str(tz)


@singledispatch
def render(result: BaseModel, tz: tzinfo) -> str:
    """Fallback: the structured result as compact JSON."""
    return json.dumps(result.model_dump(mode="json", exclude_none=True), separators=(",", ":"), ensure_ascii=False)


@render.register
def _(t: Thread, tz: tzinfo) -> str:
    line = thread_line(t, tz)
    return f"{line}\ncontext: {t.thread_context}" if t.thread_context else line


@render.register
def _(page: FoundThreads, tz: tzinfo) -> str:
    count = f"{len(page.threads)} thread{'' if len(page.threads) == 1 else 's'}"
    lines = [f"{count}, most recent activity first (times {zone_name(tz)}):"]
    lines += [thread_line(t, tz) for t in page.threads]
    if page.next_cursor:
        lines.append(f"more: cursor={page.next_cursor}")
    return "\n".join(lines)


@render.register
def _(m: Message, tz: tzinfo) -> str:
    return f"stored {m.id} in {m.thread_id} at {when(m.created_at, tz)} ({zone_name(tz)}) as {author(m)}"


@render.register
def _(page: ThreadMessages, tz: tzinfo) -> str:
    if not page.messages:
        return f"no messages in {page.thread_id}" + (" in that range" if page.next_cursor is None else "")
    head = f"{len(page.messages)} messages of {page.thread_id} (times {zone_name(tz)})"
    lines = [head, *message_lines(page.messages, tz)]
    if page.next_cursor:
        lines.append(f"more: cursor={page.next_cursor}")
    return "\n".join(lines)


@render.register
def _(context: ThreadContext, tz: tzinfo) -> str:
    return render_context(context, tz)


@render.register
def _(result: ZoomResult, tz: tzinfo) -> str:
    head = f"# {result.thread_id} {result.period} by {result.level.value} (times {zone_name(tz)})"
    lines = [head] if result.items else [head, "no messages in this period"]
    lines += [item_line(i, tz) for i in result.items]
    if result.next_cursor:
        lines.append(f"more: cursor={result.next_cursor}")
    return "\n".join(lines)


@render.register
def _(result: SearchResult, tz: tzinfo) -> str:
    if not result.matches:
        return f"no matches for {result.query!r}: searched {result.searched}. {result.hint or ''}".strip()
    lines = [f"{len(result.matches)} matches for {result.query!r}, best first (zoom with thread + period):"]
    lines += [f"{m.thread_id} {m.thread_title!r} {m.period} {m.kind} {m.id}: {m.snippet}" for m in result.matches]
    return "\n".join(lines)


@render.register
def _(answer: StatusAnswer, tz: tzinfo) -> str:
    if not answer.threads:
        return f"no thread mentions {answer.topic!r}"
    parts = []
    for t in answer.threads:
        hits = "".join(f"\n- {m.period}: {m.snippet}" for m in t.matches)
        parts.append(render_context(t.context, tz) + (f"\n## Best matches{hits}" if hits else ""))
    return "\n\n".join(parts)


@render.register
def _(report: CompactReport, tz: tzinfo) -> str:
    return (
        f"compacted {report.threads} threads: {report.summaries_built} summaries built, "
        f"{report.sync_messages_posted} digests posted to parents"
    )


def run_line(run: AgentRun, tz: tzinfo) -> str:
    return f"{run.id} {run.status.value} {run.title!r} in {run.thread_id}, started {when(run.created_at, tz)}"


@render.register
def _(run: AgentRun, tz: tzinfo) -> str:
    detail = run.error or run.result
    return run_line(run, tz) + (f"\n{detail}" if detail else "")


@render.register
def _(page: AgentRunPage, tz: tzinfo) -> str:
    lines = [f"{len(page.runs)} agent runs, newest first:", *(run_line(r, tz) for r in page.runs)]
    if page.next_cursor:
        lines.append(f"more: cursor={page.next_cursor}")
    return "\n".join(lines)
