"""One record spec per table: its columns, in order, and what kind of value each holds.

Everything that lists a table's columns derives them from here: row -> model converters (both
backends), SQLite inserts, BigQuery's schema, select lists, parameters and MERGE inserts, and both
sides of `mainloop migrate`. Add a column here and every one of those follows.

Both backends keep instants as integer microseconds in their queries; `time` columns are converted
with from_micros / to_micros, `json` columns travel as JSON text.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from functools import cached_property
from typing import Any, Generic, Literal, Protocol, TypeVar

from pydantic import BaseModel

from mainloop_mcp.model import AgentRun, Message, Summary, Thread
from mainloop_mcp.store.timestamps import from_micros, maybe_from_micros, maybe_to_micros, to_micros

Kind = Literal["text", "int", "time", "json", "bool"]
Model = TypeVar("Model", bound=BaseModel)
Column = Callable[[str], str]  # a field's name -> what a query calls its column


class Row(Protocol):
    """sqlite3.Row or a dict: anything readable by column name."""

    def __getitem__(self, key: str) -> Any: ...


def same_name(field: str) -> str:
    return field


@dataclass(frozen=True)
class Col:
    name: str
    kind: Kind = "text"
    required: bool = True
    stored_only: bool = False  # kept by the store for its own use (a message's seq), not in the model
    null_as: Any = None  # what a stored NULL reads as (rows written before the column was filled)


def _read(col: Col) -> Callable[[Any], Any]:
    if col.kind == "time":
        return from_micros if col.required else maybe_from_micros
    if col.kind == "json":
        return lambda v: json.loads(v) if v else {}
    if col.kind == "bool":
        return bool
    if col.null_as is not None:
        return lambda v: col.null_as if v is None else v
    return lambda v: v


def _stored(col: Col) -> Callable[[Any], Any]:
    if col.kind == "time":
        return to_micros if col.required else maybe_to_micros
    if col.kind == "json":
        return json.dumps
    return lambda v: v.value if isinstance(v, Enum) else v


@dataclass(frozen=True)
class Record(Generic[Model]):
    table: str
    model: type[Model]
    columns: tuple[Col, ...]

    @cached_property
    def fields(self) -> tuple[Col, ...]:
        """The columns the model has, in table order."""
        return tuple(c for c in self.columns if not c.stored_only)

    @cached_property
    def names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.fields)

    @cached_property
    def _readers(self) -> tuple[tuple[str, bool, Callable[[Any], Any]], ...]:
        return tuple((c.name, c.kind == "time", _read(c)) for c in self.fields)

    @cached_property
    def _writers(self) -> tuple[tuple[str, Callable[[Any], Any]], ...]:
        return tuple((c.name, _stored(c)) for c in self.fields)

    def from_row(self, row: Row, column: Column = same_name) -> Model:
        """The model from a stored row; `column` names the time columns as the query called them."""
        return self.model(**{n: read(row[column(n) if is_time else n]) for n, is_time, read in self._readers})

    def values(self, item: Model) -> tuple[Any, ...]:
        """The model's fields as stored (micros, JSON text, enum values), in `names` order."""
        return tuple(write(getattr(item, n)) for n, write in self._writers)

    def insert_sql(self, verb: str = "INSERT") -> str:
        """SQLite: insert every model field, `?` placeholders in `names` order."""
        return f"{verb} INTO {self.table} ({', '.join(self.names)}) VALUES ({', '.join('?' * len(self.names))})"


THREADS = Record(
    "threads",
    Thread,
    (
        Col("id"),
        Col("parent_id", required=False),
        Col("thread_type"),
        Col("title"),
        Col("thread_context"),
        Col("status"),
        Col("created_at", "time"),
        Col("updated_at", "time"),
    ),
)
MESSAGES = Record(
    "messages",
    Message,
    (
        Col("id"),
        Col("thread_id"),
        Col("seq", "int", stored_only=True),  # post order among equal times
        Col("role"),
        Col("content"),
        Col("created_at", "time"),
        Col("idempotency_key", required=False),
        Col("metadata", "json", required=False),
    ),
)
SUMMARIES = Record(
    "summaries",
    Summary,
    (
        Col("id"),
        Col("thread_id"),
        Col("granularity"),
        Col("period_start", "time"),
        Col("period_end", "time"),
        Col("content"),
        Col("source_message_count", "int"),
        Col("token_count", "int"),
        Col("summariser"),
        Col("created_at", "time"),
        Col("stale", "bool"),
    ),
)
AGENT_RUNS = Record(
    "agent_runs",
    AgentRun,
    (
        Col("id"),
        Col("thread_id"),
        Col("parent_thread_id"),
        Col("title"),
        Col("prompt"),
        Col("work_folder"),
        Col("runner"),
        Col("status"),
        Col("result", required=False),
        Col("error", required=False),
        Col("external_id", required=False),
        Col("owner", null_as=""),
        Col("created_at", "time"),
        Col("started_at", "time", required=False),
        Col("finished_at", "time", required=False),
        # Set by interrupt_unfinished's one UPDATE so it can read back exactly the runs it ended.
        Col("finish_token", required=False, stored_only=True),
    ),
)
RECORDS: tuple[Record[Any], ...] = (THREADS, MESSAGES, SUMMARIES, AGENT_RUNS)
