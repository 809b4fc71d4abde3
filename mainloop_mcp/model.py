"""Records that cross the edges: what tools return and what the store keeps."""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Callable
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

# The official MCP clients drop the session on a server-sent event over 1 MiB (httpx-sse's limit in the
# Python SDK), and a tool result carries its JSON twice (text and structuredContent). So an answer is
# kept under MAX_RESPONSE_BYTES, a page of items under PAGE_BUDGET_BYTES, and one message's content,
# measured as JSON (escapes included), under MAX_CONTENT_BYTES: one whole message always fits a page.
MAX_RESPONSE_BYTES = 1024 * 1024 - 16 * 1024
PAGE_BUDGET_BYTES = MAX_RESPONSE_BYTES // 2 - 8 * 1024
MAX_CONTENT_BYTES = 480 * 1024
MAX_TITLE_CHARS = 200
MAX_CONTEXT_BYTES = 256 * 1024
MAX_METADATA_BYTES = 64 * 1024
MAX_IDEMPOTENCY_KEY_CHARS = 200
MAX_PAGE_SIZE = 500

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


def new_id(prefix: str) -> str:
    """Time-ordered id: 12 hex digits of milliseconds, then 10 random hex digits."""
    return f"{prefix}_{int(time.time() * 1000):012x}{secrets.token_hex(5)}"


def new_ids(prefix: str, n: int) -> list[str]:
    """`n` ids in new_id's form, made at once for bulk imports: one clock read, one draw of random bytes."""
    head, tail = f"{prefix}_{int(time.time() * 1000):012x}", secrets.token_hex(5 * n)
    return [head + tail[i : i + 10] for i in range(0, 10 * n, 10)]


class ThreadType(StrEnum):
    MAIN = "main"
    PROJECT = "project"
    TASK = "task"


class ThreadStatus(StrEnum):
    ACTIVE = "active"
    ARCHIVED = "archived"


class Role(StrEnum):
    USER = "user"
    ASSISTANT = "assistant"
    AGENT = "agent"
    SYSTEM = "system"
    SUMMARY = "summary"


class Order(StrEnum):
    NEWEST = "newest"
    OLDEST = "oldest"


def _utf8_len(text: str) -> int:
    return len(text.encode("utf-8"))


class Thread(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: str
    parent_id: str | None = None
    thread_type: ThreadType
    title: str
    thread_context: str = ""
    status: ThreadStatus
    created_at: datetime
    updated_at: datetime


class Message(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: str
    thread_id: str
    role: Role
    content: str
    created_at: datetime
    idempotency_key: str | None = None
    metadata: dict[str, Any] = Field(default_factory=dict)


class NewThread(BaseModel):
    """A thread as asked for; the store fills id, status and times."""

    thread_type: ThreadType
    title: str
    parent_id: str | None = None
    thread_context: str = ""

    @field_validator("title")
    @classmethod
    def _title(cls, v: str) -> str:
        return check_title(v)

    @field_validator("thread_context")
    @classmethod
    def _context(cls, v: str) -> str:
        return check_thread_context(v)


def check_title(v: str) -> str:
    v = v.strip()
    if not v:
        raise ValueError("title must not be empty")
    if len(v) > MAX_TITLE_CHARS:
        raise ValueError(f"title is {len(v)} characters; the limit is {MAX_TITLE_CHARS}")
    return v


def json_len(text: str) -> int:
    """Bytes `text` takes inside a JSON answer (control characters become 6-byte escapes)."""
    return len(json.dumps(text, ensure_ascii=False).encode("utf-8", "surrogatepass")) - 2


def check_text(name: str, v: str, limit_bytes: int, hint: str = "") -> str:
    """Message-like text: not blank, and within its byte limit as JSON (so an answer holding it fits a client)."""
    if not v.strip():
        raise ValueError(f"{name} must not be empty{hint}")
    size = json_len(v) if len(v) * 6 > limit_bytes else len(v)  # short text can't be over, skip the dump
    if size > limit_bytes:
        raise ValueError(
            f"{name} is {size:,} bytes as JSON; the limit is {limit_bytes:,} bytes ({limit_bytes // 1024} KiB), "
            "so that an answer holding it fits the 1 MiB MCP clients accept; split it into several messages"
        )
    return v


def check_thread_context(v: str) -> str:
    if _utf8_len(v) > MAX_CONTEXT_BYTES:
        raise ValueError(f"thread_context is {_utf8_len(v):,} bytes; the limit is {MAX_CONTEXT_BYTES:,} bytes")
    return v


class NewMessage(BaseModel):
    """A message as posted; `created_at` is set only by imports and benchmarks, else by the clock."""

    thread_id: str
    role: Role = Role.USER
    content: str
    idempotency_key: str | None = None
    metadata: dict[str, Any] = Field(default_factory=dict)
    created_at: datetime | None = None

    @field_validator("content")
    @classmethod
    def _content(cls, v: str) -> str:
        return check_text("content", v, MAX_CONTENT_BYTES)

    @field_validator("idempotency_key")
    @classmethod
    def _key(cls, v: str | None) -> str | None:
        if v is None:
            return None
        if not v.strip():
            raise ValueError("idempotency_key must not be blank; omit it instead")
        if len(v) > MAX_IDEMPOTENCY_KEY_CHARS:
            raise ValueError(f"idempotency_key is {len(v)} characters; the limit is {MAX_IDEMPOTENCY_KEY_CHARS}")
        return v

    @field_validator("metadata")
    @classmethod
    def _metadata(cls, v: dict[str, Any]) -> dict[str, Any]:
        size = _utf8_len(json.dumps(v))
        if size > MAX_METADATA_BYTES:
            raise ValueError(f"metadata is {size:,} bytes as JSON; the limit is {MAX_METADATA_BYTES:,} bytes")
        return v

    @field_validator("created_at")
    @classmethod
    def _aware(cls, v: datetime | None) -> datetime | None:
        if v is not None and v.tzinfo is None:
            raise ValueError("created_at must carry a time zone")
        return v


class ThreadFilter(BaseModel):
    thread_type: ThreadType | None = None
    status: ThreadStatus | None = ThreadStatus.ACTIVE
    parent_id: str | None = None


class ThreadPage(BaseModel):
    threads: list[Thread]
    next_cursor: str | None = Field(
        default=None, description="Pass back as `cursor` for the next page; absent at the end"
    )


class ListedThread(BaseModel):
    """A thread as list_threads shows it: no standing context (get_thread has it) and no creation
    time; `status` only when archived. Claude Code hands the model this JSON, so it is kept lean."""

    id: str
    parent_id: str | None = None
    thread_type: ThreadType
    title: str
    status: ThreadStatus = ThreadStatus.ACTIVE
    updated_at: datetime


class FoundThreads(BaseModel):
    """One page of list_threads."""

    threads: list[ListedThread]
    next_cursor: str | None = Field(
        default=None, description="Pass back as `cursor` for the next page; absent at the end"
    )


class MessagePage(BaseModel):
    messages: list[Message]
    next_cursor: str | None = Field(
        default=None, description="Pass back as `cursor` for the next page; absent at the end"
    )


class ListedMessage(BaseModel):
    """A message as listed under its thread (the thread id is said once, on the page)."""

    id: str
    role: Role
    content: str
    created_at: datetime
    idempotency_key: str | None = None
    metadata: dict[str, Any] = Field(default_factory=dict)


class ThreadMessages(BaseModel):
    """One page of one thread's messages, as read_messages answers it."""

    thread_id: str
    messages: list[ListedMessage]
    next_cursor: str | None = Field(default=None, description="Pass back as `cursor` for the next page")

    @classmethod
    def of(cls, thread_id: str, page: MessagePage) -> ThreadMessages:
        listed = [ListedMessage(**m.model_dump(exclude={"thread_id"})) for m in page.messages]
        return cls(thread_id=thread_id, messages=listed, next_cursor=page.next_cursor)


# agent runs ----------------------------------------------------------------------------------

MAX_PROMPT_BYTES = MAX_CONTENT_BYTES


class RunStatus(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"
    TIMED_OUT = "timed_out"
    INTERRUPTED = "interrupted"

    @property
    def finished(self) -> bool:
        return self not in (RunStatus.QUEUED, RunStatus.RUNNING)


class AgentRun(BaseModel):
    """One sub-agent run: its task thread, where it works, and how it ended."""

    model_config = ConfigDict(frozen=True)

    id: str
    thread_id: str = Field(description="The task thread the result lands in")
    parent_thread_id: str
    title: str
    prompt: str
    work_folder: str
    runner: str = Field(description="local or kubernetes")
    status: RunStatus
    result: str | None = None
    error: str | None = None
    external_id: str | None = Field(default=None, description="Runner's own handle, e.g. the Kubernetes Job name")
    owner: str = Field(description="The hub process running it (host/pid/start); decides who may mark it interrupted")
    created_at: datetime
    started_at: datetime | None = None
    finished_at: datetime | None = None


class NewAgentRun(BaseModel):
    """A run as asked for; the store creates its task thread and the run record together."""

    parent_thread_id: str
    title: str
    prompt: str
    work_folder: str
    runner: str
    owner: str

    @field_validator("prompt")
    @classmethod
    def _prompt(cls, v: str) -> str:
        return check_text("prompt", v, MAX_PROMPT_BYTES, hint="; say what the agent should do")

    @field_validator("title")
    @classmethod
    def _title(cls, v: str) -> str:
        return check_title(v)


class AgentRunPage(BaseModel):
    runs: list[AgentRun]
    next_cursor: str | None = Field(
        default=None, description="Pass back as `cursor` for the next page; absent at the end"
    )


# memory: the temporal pyramid ------------------------------------------------------------


class Granularity(StrEnum):
    """How much time one summary covers; `MESSAGE` names a full message in assembled context."""

    MESSAGE = "message"
    DAY = "day"
    WEEK = "week"
    MONTH = "month"


class NewSummary(BaseModel):
    """A summary as built; the store fills id, created_at and the stale flag."""

    thread_id: str
    granularity: Granularity
    period_start: datetime
    period_end: datetime
    content: str
    source_message_count: int = Field(ge=0)
    token_count: int = Field(ge=0)
    summariser: str


class Summary(NewSummary):
    """One stored summary of one thread over one calendar period ([period_start, period_end))."""

    model_config = ConfigDict(frozen=True)

    id: str
    created_at: datetime
    stale: bool = Field(description="True when messages arrived in the period after this summary was made")


class SearchHit(BaseModel):
    """One full-text match: a message, a summary or a thread (by title or standing context)."""

    kind: str = Field(description="message, summary or thread")
    id: str
    thread_id: str
    granularity: Granularity
    period_start: datetime
    period_end: datetime
    snippet: str = Field(description="Matched words in [brackets]; a backend may leave it to the search layer")
    score: float = Field(description="BM25 relevance; higher is better")
    thread_title: str = ""
    text: str = Field(default="", description="The matched text (clipped), for re-ranking; not shown")


class QueryTerm(BaseModel):
    """One term of a parsed query: a word, a compound token (`a.b`, `x@y.z`) or a quoted phrase."""

    model_config = ConfigDict(frozen=True)

    text: str
    prefix: bool = False


class TextQuery(BaseModel):
    """What to look for: `should` terms rank (any may match), `must` terms are required, `must_not`
    terms exclude. Built by mainloop_mcp.search.query from any text; backends render it safely."""

    model_config = ConfigDict(frozen=True)

    should: tuple[QueryTerm, ...] = ()
    must: tuple[QueryTerm, ...] = ()
    must_not: tuple[QueryTerm, ...] = ()

    @property
    def positive(self) -> tuple[QueryTerm, ...]:
        return self.must + self.should


TRUNCATION_NOTE = "\n\n[... output truncated: it was {size:,} bytes; the message limit is 480 KiB]"


def clip(text: str, limit: int = MAX_CONTENT_BYTES - 200) -> str:
    """Fit text into one message: keep the head and say how much was cut."""
    raw = text.encode("utf-8", "surrogatepass")
    if len(raw) <= limit and json_len(text) <= limit:
        return text
    note = TRUNCATION_NOTE.format(size=len(raw))  # counted in the limit, so clipping twice changes nothing
    room = limit - len(note.encode())
    head = raw[:room].decode("utf-8", errors="ignore")
    while json_len(head) > room:  # escapes (control characters) make the JSON longer than the text
        head = head[: len(head) * room // json_len(head)]
    return head + note
