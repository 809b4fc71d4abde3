"""Agent runs in the SQLite file: the `agent_runs` table and SqliteStore's AgentRunStore methods.

A mixin so the thread store stays readable; it relies on SqliteStore's transaction and insert helpers.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from typing import Any, TypeVar

from mainloop_mcp.errors import NotFound
from mainloop_mcp.model import (
    AgentRun,
    AgentRunPage,
    NewAgentRun,
    NewMessage,
    NewThread,
    Role,
    RunStatus,
    ThreadType,
    new_id,
)
from mainloop_mcp.store.base import RunPosts
from mainloop_mcp.store.paging import RUNS
from mainloop_mcp.store.records import AGENT_RUNS
from mainloop_mcp.store.rules import check_finish, check_limit
from mainloop_mcp.store.sqlite.messages import SqliteMessages
from mainloop_mcp.store.timestamps import from_micros

T = TypeVar("T")


class SqliteAgentRuns(SqliteMessages):
    """AgentRunStore on SqliteStore's connection; every method is one transaction."""

    def _get_run(self, run_id: str) -> AgentRun:
        row = self._conn.execute("SELECT * FROM agent_runs WHERE id = ?", (run_id,)).fetchone()
        if row is None:
            raise NotFound(f"no agent run with id {run_id!r}; list_agents shows the runs that exist")
        return AGENT_RUNS.from_row(row)

    async def create_run(self, new: NewAgentRun) -> AgentRun:
        def create() -> AgentRun:
            with self._tx() as c:
                thread = self._create_thread_in(
                    c, NewThread(thread_type=ThreadType.TASK, title=new.title, parent_id=new.parent_thread_id)
                )
                run = AgentRun(
                    id=new_id("run"),
                    thread_id=thread.id,
                    parent_thread_id=new.parent_thread_id,
                    title=new.title,
                    prompt=new.prompt,
                    work_folder=new.work_folder,
                    runner=new.runner,
                    status=RunStatus.QUEUED,
                    owner=new.owner,
                    created_at=from_micros(self._now()),
                )
                run_id = run.id
                c.execute(AGENT_RUNS.insert_sql(), AGENT_RUNS.values(run))
                self._insert(
                    c,
                    [
                        NewMessage(
                            thread_id=thread.id,
                            role=Role.USER,
                            content=new.prompt,
                            metadata={"agent_run": run_id, "work_folder": new.work_folder},
                        )
                    ],
                )
                return self._get_run(run_id)

        return await self._run(create)

    async def get_run(self, run_id: str) -> AgentRun:
        return await self._run(lambda: self._get_run(run_id))

    async def list_runs(
        self,
        status: RunStatus | None = None,
        parent_thread_id: str | None = None,
        limit: int = 50,
        cursor: str | None = None,
    ) -> AgentRunPage:
        check_limit(limit)
        clauses: list[str] = []
        params: list[Any] = []
        if status is not None:
            clauses.append("status = ?")
            params.append(status.value)
        if parent_thread_id is not None:
            clauses.append("parent_thread_id = ?")
            params.append(parent_thread_id)
        if (after := RUNS.after(cursor)) is not None:
            clauses.append("(created_at, id) < (?, ?)")
            params += after
        where = f" WHERE {' AND '.join(clauses)}" if clauses else ""
        sql = f"SELECT * FROM agent_runs{where} ORDER BY created_at DESC, id DESC LIMIT ?"

        def query() -> AgentRunPage:
            rows, next_cursor = RUNS.cut(self._conn.execute(sql, [*params, limit + 1]).fetchall(), limit)
            return AgentRunPage(runs=[AGENT_RUNS.from_row(r) for r in rows], next_cursor=next_cursor)

        return await self._run(query)

    async def start_run(self, run_id: str, external_id: str | None = None) -> AgentRun:
        def start() -> AgentRun:
            with self._tx() as c:
                self._get_run(run_id)
                c.execute(
                    "UPDATE agent_runs SET status = 'running', started_at = coalesce(started_at, ?),"
                    " external_id = coalesce(?, external_id) WHERE id = ? AND status IN ('queued', 'running')",
                    (self._now(), external_id, run_id),
                )
                return self._get_run(run_id)

        return await self._run(start)

    def _finish_in(
        self,
        c: sqlite3.Connection,
        run_id: str,
        status: RunStatus,
        result: str | None,
        error: str | None,
        posts: RunPosts,
    ) -> AgentRun:
        before = self._get_run(run_id)
        if before.status.finished:
            return before
        c.execute(
            "UPDATE agent_runs SET status = ?, result = ?, error = ?, finished_at = ? WHERE id = ?",
            (status.value, result, error, self._now(), run_id),
        )
        run = self._get_run(run_id)
        self._insert(c, posts(run))
        return run

    async def finish_run(
        self, run_id: str, status: RunStatus, result: str | None = None, error: str | None = None, *, posts: RunPosts
    ) -> AgentRun:
        check_finish(status)

        def finish() -> AgentRun:
            with self._tx() as c:
                return self._finish_in(c, run_id, status, result, error, posts)

        return await self._run(finish)

    async def interrupt_unfinished(
        self, reason: str, owner_gone: Callable[[str], bool], *, posts: RunPosts
    ) -> list[AgentRun]:
        def interrupt() -> list[AgentRun]:
            with self._tx() as c:
                rows = c.execute("SELECT id, owner FROM agent_runs WHERE status IN ('queued', 'running')").fetchall()
                gone = [r["id"] for r in rows if owner_gone(r["owner"])]
                return [self._finish_in(c, run_id, RunStatus.INTERRUPTED, None, reason, posts) for run_id in gone]

        return await self._run(interrupt)
