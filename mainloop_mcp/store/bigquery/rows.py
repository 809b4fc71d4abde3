"""Columns as read back from BigQuery and their conversion to the shared models.

Times travel as INT64 microseconds (UNIX_MICROS / TIMESTAMP_MICROS), exactly as SQLite keeps
them, so cursors and comparisons behave the same on both backends.
"""

from __future__ import annotations

from typing import Any

from google.cloud.bigquery import ScalarQueryParameter

from mainloop_mcp.model import AgentRun, Message, Summary, Thread
from mainloop_mcp.store.bigquery.schema import BQ_TYPES
from mainloop_mcp.store.paging import Keyset
from mainloop_mcp.store.records import AGENT_RUNS, MESSAGES, SUMMARIES, THREADS, Col, Record

PARAM_TYPES = {**BQ_TYPES, "time": "INT64", "json": "STRING"}  # times as micros, JSON as text

# What the queries call the microsecond columns (field -> column alias).
_BQ_TIME_COLUMNS = {"period_start": "start_us", "period_end": "end_us"}


def bq_column(field: str) -> str:
    if field in _BQ_TIME_COLUMNS or not field.endswith("_at"):
        return _BQ_TIME_COLUMNS.get(field, field)
    return field.removesuffix("_at") + "_us"


def _selected(c: Col) -> str:
    if c.kind == "time":
        return f"UNIX_MICROS({c.name}) AS {bq_column(c.name)}"
    if c.kind == "json":
        return f"TO_JSON_STRING({c.name}) AS {c.name}"
    return c.name


def select_list(record: Record[Any], stored_only: tuple[str, ...] = ("seq",)) -> str:
    """The record's columns as the converters read them (times as micros, JSON as text)."""
    return ", ".join(_selected(c) for c in record.columns if not c.stored_only or c.name in stored_only)


THREAD_COLUMNS = select_list(THREADS)
MESSAGE_COLUMNS = select_list(MESSAGES)
SUMMARY_COLUMNS = select_list(SUMMARIES)
RUN_COLUMNS = select_list(AGENT_RUNS)


def params_row(record: Record[Any], item: Any, **stored: tuple[str, Any]) -> dict[str, tuple[str, Any]]:
    """One row as a STRUCT parameter's fields ({name: (type, value)}), plus store-kept columns."""
    values = dict(zip(record.names, record.values(item), strict=True))
    row = {
        (bq_column(c.name) if c.kind == "time" else c.name): (PARAM_TYPES[c.kind], values[c.name])
        for c in record.fields
    }
    return {**row, **stored}


def _insert_clause(record: Record[Any], stored: tuple[str, ...]) -> str:
    """`(columns) VALUES (S.values)` for rows made by `params_row`, times and JSON converted back."""
    columns = [c for c in record.columns if not c.stored_only or c.name in stored]
    values = []
    for c in columns:
        field = bq_column(c.name) if c.kind == "time" else c.name
        wrap = {"time": "TIMESTAMP_MICROS", "json": "PARSE_JSON"}.get(c.kind)
        values.append(f"{wrap}(S.{field})" if wrap else f"S.{field}")
    return f"({', '.join(c.name for c in columns)}) VALUES ({', '.join(values)})"


def merge_sql(record: Record[Any], table: str, source: str, key: str = "id", stored: tuple[str, ...] = ()) -> str:
    """Insert the rows of `source` (made by `params_row`) whose `key` the table lacks; a NULL key never
    matches, so it always inserts."""
    return f"MERGE {table} T USING ({source}) S ON T.{key} = S.{key} WHEN NOT MATCHED THEN INSERT" + (
        " " + _insert_clause(record, stored)
    )


def insert_sql(record: Record[Any], table: str, row: dict[str, tuple[str, Any]]) -> str:
    """Insert one row given as scalar parameters named like `row`'s fields (see `scalars`)."""
    source = ", ".join(f"@{name} AS {name}" for name in row)
    columns, values = _insert_clause(record, ()).split(" VALUES ")
    return f"INSERT INTO {table} {columns} SELECT {values[1:-1]} FROM (SELECT {source}) S"


def scalars(row: dict[str, tuple[str, Any]]) -> list[ScalarQueryParameter]:
    return [ScalarQueryParameter(name, kind, value) for name, (kind, value) in row.items()]


def thread_from_row(row: dict[str, Any]) -> Thread:
    return THREADS.from_row(row, bq_column)


def message_from_row(row: dict[str, Any]) -> Message:
    return MESSAGES.from_row(row, bq_column)


def summary_from_row(row: dict[str, Any]) -> Summary:
    return SUMMARIES.from_row(row, bq_column)


def run_from_row(row: dict[str, Any]) -> AgentRun:
    return AGENT_RUNS.from_row(row, bq_column)


def after_clause(keyset: Keyset, op: str) -> str:
    """Rows past a cursor's position in keyset order (BigQuery has no row-value comparison)."""
    values = [f"TIMESTAMP_MICROS(@c{i})" if f.endswith("_at") else f"@c{i}" for i, f in enumerate(keyset.fields)]
    ties: list[str] = []
    alternatives: list[str] = []
    for field, value in zip(keyset.fields, values, strict=True):
        alternatives.append("(" + " AND ".join([*ties, f"{field} {op} {value}"]) + ")")
        ties.append(f"{field} = {value}")
    return "(" + " OR ".join(alternatives) + ")"


def after_params(keyset: Keyset, position: list[Any]) -> list[ScalarQueryParameter]:
    kinds = {int: "INT64", str: "STRING"}
    pairs = zip(keyset.shape, position, strict=True)
    return [ScalarQueryParameter(f"c{i}", kinds[kind], value) for i, (kind, value) in enumerate(pairs)]
