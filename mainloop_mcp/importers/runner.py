"""Run an import: write whole threads in batches (one transaction each), then build the pyramid over them.

A batch holds whole threads only, so a crash leaves each thread either fully written or absent; a
rerun finds the written ones by their source keys and their messages by idempotency keys, and adds
only what is missing.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from mainloop_mcp.importers import chatgpt, claude_ai, claude_code, generic
from mainloop_mcp.importers.exports import DEFAULT_PROJECT
from mainloop_mcp.importers.progress import Progress
from mainloop_mcp.importers.records import BadRecord, SourceItem, Tally
from mainloop_mcp.memory.compact import compact
from mainloop_mcp.memory.pyramid import Pyramid
from mainloop_mcp.model import ThreadType
from mainloop_mcp.store.imports import ImportCounts, ImportedThread, ImportSink

KINDS = ("claude-code", "claude-ai", "chatgpt", "jsonl")
BATCH_MESSAGES = 20_000
BAD_SHOWN = 20


def source_items(kind: str, paths: list[Path], tally: Tally, project: str = DEFAULT_PROJECT) -> Iterable[SourceItem]:
    """The threads and bad records in `paths`, read by the importer for `kind`."""
    if kind == "claude-code":
        return claude_code.read(paths, tally)
    if kind == "claude-ai":
        return claude_ai.read(paths, tally, project)
    if kind == "chatgpt":
        return chatgpt.read(paths, tally, project)
    return generic.read(paths, tally)


@dataclass
class ImportReport:
    counts: ImportCounts = field(default_factory=ImportCounts)
    bad: list[BadRecord] = field(default_factory=list)
    tally: Tally = field(default_factory=Tally)
    touched: dict[str, ThreadType] = field(default_factory=dict)  # thread id -> type, of threads given messages
    summaries_built: int = 0

    def lines(self) -> list[str]:
        c = self.counts
        out = [
            f"threads: {c.threads_created:,} created, {len(self.touched):,} with messages imported",
            f"messages: {c.messages_added:,} added, {c.duplicates:,} skipped as duplicates (imported before)",
            f"summaries: {self.summaries_built:,} built for the imported periods",
        ]
        out += [f"skipped: {n:,} {reason}" for reason, n in sorted(self.tally.items())]
        out.append(f"bad records: {len(self.bad):,}" + (" (skipped)" if self.bad else ""))
        out += [f"  {b.where}: {b.reason}" for b in self.bad[:BAD_SHOWN]]
        if len(self.bad) > BAD_SHOWN:
            out.append(f"  ... and {len(self.bad) - BAD_SHOWN:,} more")
        return out


async def write_threads(
    sink: ImportSink, items: Iterable[SourceItem], progress: Progress, report: ImportReport
) -> None:
    """Write the threads of `items` in batches of about BATCH_MESSAGES messages; collect the bad records."""
    batch: list[ImportedThread] = []
    size = 0
    for item in items:
        if isinstance(item, BadRecord):
            report.bad.append(item)
            continue
        batch.append(item)
        size += len(item.messages)
        progress.update(read=len(item.messages))
        if size >= BATCH_MESSAGES:
            await _write(sink, batch, progress, report)
            batch, size = [], 0
    if batch:
        await _write(sink, batch, progress, report)


async def _write(sink: ImportSink, batch: list[ImportedThread], progress: Progress, report: ImportReport) -> None:
    counts = await sink.import_threads(batch)
    report.counts.add(counts)
    for source in batch:
        if source.messages:
            report.touched[counts.thread_ids[source.source_key]] = source.thread_type
    progress.update(stored=counts.messages_added + counts.duplicates)


async def build_summaries(pyr: Pyramid, report: ImportReport) -> None:
    """Build the summaries of every imported period: tasks first, so their daily summaries reach the project."""
    for thread_id, _ in sorted(report.touched.items(), key=lambda kv: kv[1] is not ThreadType.TASK):
        report.summaries_built += (await compact(pyr, thread_id)).summaries_built
