"""Claude Code transcripts: `~/.claude/projects/<cwd with / as ->/<session>.jsonl`, one JSON record a line.

A working directory becomes a project thread, each session a task thread under it. User and assistant
text become messages at their original times; the tool calls between two texts become one line
("Tools: Read ×2, Edit, Bash (1 failed); edited planner/frost.py"), never the raw inputs or outputs.
Thinking, sub-agent (sidechain) lines, meta lines and slash-command echoes are skipped.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mainloop_mcp.importers.records import BadRecord, SourceItem, Tally, decode, message, micros, title_of
from mainloop_mcp.model import ThreadType
from mainloop_mcp.store.imports import ImportedMessage, ImportedThread

DEFAULT_ROOT = Path("~/.claude/projects")
COMMAND_ECHOES = ("<command-name>", "<command-message>", "<local-command-stdout>", "<local-command-stderr>")
EDITING_TOOLS = {"Edit", "MultiEdit", "Write", "NotebookEdit"}


def project_key(cwd: str) -> str:
    return f"cc:project:{cwd}"


def session_key(session_id: str) -> str:
    return f"cc:session:{session_id}"


@dataclass
class ToolRun:
    """Tool calls between two texts, folded into one line."""

    key: str
    created_us: int
    names: dict[str, int] = field(default_factory=dict)
    edited: list[str] = field(default_factory=list)
    failed: int = 0

    def line(self) -> str:
        calls = ", ".join(name if n == 1 else f"{name} ×{n}" for name, n in self.names.items())
        text = f"Tools: {calls}" + (f" ({self.failed} failed)" if self.failed else "")
        if self.edited:
            shown = self.edited[:3]
            text += (
                "; edited " + ", ".join(shown) + (f" and {len(self.edited) - 3} more" if len(self.edited) > 3 else "")
            )
        return text


@dataclass
class Session:
    """One session's messages, built line by line."""

    id: str
    cwd: str = ""
    branch: str = ""
    messages: list[ImportedMessage] = field(default_factory=list)
    uuids: set[str] = field(default_factory=set)
    tools: ToolRun | None = None
    last_reply: str | None = None  # message.id of the assistant reply the last message came from

    def feed(self, entry: dict[str, Any], at: int, tally: Tally) -> None:
        uuid = str(entry["uuid"])
        self.uuids.add(uuid)
        self.cwd = self.cwd or str(entry.get("cwd") or "")
        self.branch = self.branch or str(entry.get("gitBranch") or "")
        body = entry.get("message") or {}
        content = body.get("content")
        blocks = [{"type": "text", "text": content}] if isinstance(content, str) else content or []
        role = entry["type"]
        reply = body.get("id") if role == "assistant" else None
        for block in blocks:
            if not isinstance(block, dict):
                continue
            kind = block.get("type")
            if kind == "text" and isinstance(block.get("text"), str):
                self._text(role, block["text"], uuid, at, reply, tally)
            elif kind == "image":
                self._text(role, "[image]", uuid, at, reply, tally)
            elif kind == "tool_use":
                self._tool(block, uuid, at)
                tally["tool calls summarised"] += 1
            elif kind == "tool_result" and block.get("is_error") and self.tools is not None:
                self.tools.failed += 1
            elif kind == "thinking":
                tally["thinking blocks skipped"] += 1

    def _text(self, role: str, text: str, uuid: str, at: int, reply: str | None, tally: Tally) -> None:
        text = text.strip()
        if not text:
            return
        if role == "user" and text.startswith(COMMAND_ECHOES):
            tally["slash-command echoes skipped"] += 1
            return
        self.flush()
        last = self.messages[-1] if self.messages else None
        if reply is not None and last is not None and self.last_reply == reply:
            # One reply streamed over several lines (same message.id): keep it one message.
            self.messages[-1] = message(last.key, last.role, f"{last.content}\n\n{text}", last.created_us)
            return
        self.messages.append(message(f"cc:{self.id}:{uuid}", role, text, at))
        self.last_reply = reply

    def _tool(self, block: dict[str, Any], uuid: str, at: int) -> None:
        if self.tools is None:
            self.tools = ToolRun(key=f"cc:{self.id}:{uuid}:tools", created_us=at)
        name = str(block.get("name") or "tool")
        self.tools.names[name] = self.tools.names.get(name, 0) + 1
        path = (block.get("input") or {}).get("file_path") if isinstance(block.get("input"), dict) else None
        if name in EDITING_TOOLS and isinstance(path, str):
            shown = path.removeprefix(self.cwd.rstrip("/") + "/") if self.cwd else path
            if shown not in self.tools.edited:
                self.tools.edited.append(shown)

    def flush(self) -> None:
        """End the current tool run: it becomes one line."""
        if self.tools is not None:
            run, self.tools = self.tools, None
            calls = sum(run.names.values())
            self.messages.append(
                message(run.key, "assistant", run.line(), run.created_us, kind="tool_calls", calls=calls)
            )
            self.last_reply = None


@dataclass
class Transcript:
    """Sessions read from some transcript lines, the session titles found, and how far reading got."""

    sessions: dict[str, Session] = field(default_factory=dict)
    titles: dict[str, str] = field(default_factory=dict)  # leafUuid -> summary line
    end: int = 0  # byte offset after the last whole line read


def read_transcript(path: Path, tally: Tally, start: int = 0, into: Transcript | None = None) -> Iterator[BadRecord]:
    """Feed every whole line of `path` from byte `start` into a Transcript; yield the bad ones.

    A last line without its newline is left for the next read when the file is still being written
    (the hook) and reported as cut short otherwise."""
    transcript = into if into is not None else Transcript()
    transcript.end = max(transcript.end, start)
    with path.open("rb") as f:
        f.seek(start)
        data = f.read()
    offset, number = start, 0
    for raw in data.splitlines(keepends=True):
        number += 1
        where = f"{path}:{number}" if start == 0 else f"{path}@{offset}"
        whole = raw.endswith(b"\n")
        offset += len(raw)
        if whole:
            transcript.end = offset
        if not raw.strip():
            continue
        try:
            entry = json.loads(decode(raw, tally))
        except ValueError:
            yield BadRecord(where, "a line cut short (the writer stopped mid-record)" if not whole else "not JSON")
            continue
        if not isinstance(entry, dict):
            yield BadRecord(where, f"a JSON {type(entry).__name__}, not a record")
            continue
        problem = _feed(transcript, entry, tally)
        if problem:
            yield BadRecord(where, problem)


def _feed(transcript: Transcript, entry: dict[str, Any], tally: Tally) -> str | None:
    kind = entry.get("type")
    if kind == "summary" and isinstance(entry.get("summary"), str) and entry.get("leafUuid"):
        transcript.titles[str(entry["leafUuid"])] = entry["summary"]
        return None
    if kind not in ("user", "assistant"):
        tally[f"{kind} records skipped"] += 1
        return None
    if entry.get("isSidechain") or entry.get("isMeta"):
        tally["sub-agent and meta records skipped"] += 1
        return None
    if not entry.get("sessionId") or not entry.get("uuid"):
        return "a user/assistant record without sessionId or uuid"
    try:
        at = micros(entry.get("timestamp"))
    except ValueError as exc:
        return f"no usable timestamp: {exc}"
    sid = str(entry["sessionId"])
    session = transcript.sessions.setdefault(sid, Session(sid))
    session.feed(entry, at, tally)
    return None


def threads_of(transcript: Transcript, tally: Tally, positions: dict[str, int] | None = None) -> list[ImportedThread]:
    """Project threads (one per working directory), then one task thread per session with messages."""
    projects: dict[str, ImportedThread] = {}
    tasks: list[ImportedThread] = []
    for session in transcript.sessions.values():
        session.flush()
        if not session.messages:
            tally["sessions without text skipped"] += 1
            continue
        cwd = session.cwd or "(unknown folder)"
        if cwd not in projects:
            projects[cwd] = ImportedThread(
                source_key=project_key(cwd),
                title=title_of(Path(cwd).name or cwd, cwd),
                thread_type=ThreadType.PROJECT,
                context=f"Claude Code project in {cwd}",
            )
        title = next((transcript.titles[u] for u in session.uuids if u in transcript.titles), "")
        first_prompt = next((m.content for m in session.messages if m.role == "user"), "")
        tasks.append(
            ImportedThread(
                source_key=session_key(session.id),
                title=title_of(title or first_prompt, f"Claude Code session {session.id[:8]}"),
                thread_type=ThreadType.TASK,
                parent_key=project_key(cwd),
                context=f"Claude Code session {session.id} in {cwd}"
                + (f" (branch {session.branch})" if session.branch else ""),
                messages=session.messages,
                position=(positions or {}).get(session.id),
            )
        )
    return [*projects.values(), *tasks]


def transcript_files(paths: Iterable[Path]) -> dict[Path, list[Path]]:
    """Session files grouped by their project folder (a session never leaves its folder)."""
    folders: dict[Path, list[Path]] = {}
    for path in paths:
        path = path.expanduser()
        files = sorted(path.rglob("*.jsonl")) if path.is_dir() else [path]
        for file in files:
            folders.setdefault(file.parent, []).append(file)
    return folders


def read(paths: list[Path], tally: Tally) -> Iterator[SourceItem]:
    """Every session under `paths` (default ~/.claude/projects), one project folder at a time."""
    for files in transcript_files(paths or [DEFAULT_ROOT]).values():
        transcript = Transcript()
        positions: dict[str, int] = {}
        for file in files:
            yield from read_transcript(file, tally, into=transcript)
            positions[file.stem] = transcript.end  # the hook resumes <session>.jsonl from here
            transcript.end = 0
        yield from threads_of(transcript, tally, positions)
