"""Agent runs in BigQuery: BigQueryStore's AgentRunStore methods.

BigQuery runs one DML statement atomically, but a parameterised multi-statement transaction is
not something the emulator runs, so a run's writes are separate statements, ordered so that a
failure at any point leaves only states the rules allow:
- create_run: task thread, then its first message (the prompt), then the run, inserted by
  `INSERT ... SELECT ... FROM threads WHERE id = @thread`, so a run never exists without its
  thread. A failure after the thread leaves an ordinary task thread (maybe holding the prompt)
  with no run: visible in list_threads, never in list_runs.
- finish_run / interrupt_unfinished: a conditional UPDATE (`status IN ('queued', 'running')`)
  decides the one finish that counts; only its caller then posts the result and the outcome
  line, so they are posted at most once. A failure between the UPDATE and the post leaves the
  run finished without those two messages (never twice).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from mainloop_mcp.errors import MainloopError, NotFound
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
from mainloop_mcp.store.bigquery.client import array, scalar
from mainloop_mcp.store.bigquery.messages import BigQueryMessages
from mainloop_mcp.store.bigquery.rows import RUN_COLUMNS, after_clause, after_params, bq_column, run_from_row
from mainloop_mcp.store.paging import RUNS
from mainloop_mcp.store.rules import check_finish, check_limit
from mainloop_mcp.store.timestamps import from_micros

UNFINISHED = "status IN ('queued', 'running')"


class BigQueryAgentRuns(BigQueryMessages):
    """AgentRunStore on BigQueryStore."""

    @property
    def _runs(self) -> str:
        return self.bq.target.table("agent_runs")

    async def create_run(self, new: NewAgentRun) -> AgentRun:
        """Four jobs: check the parent, insert the thread, its first message, then the run."""
        thread = await self.new_thread(
            NewThread(thread_type=ThreadType.TASK, title=new.title, parent_id=new.parent_thread_id)
        )
        run = AgentRun(
            id=new_id("run"),
            thread_id=thread.id,
            parent_thread_id=thread.parent_id or new.parent_thread_id,
            title=new.title,
            prompt=new.prompt,
            work_folder=new.work_folder,
            runner=new.runner,
            status=RunStatus.QUEUED,
            owner=new.owner,
            created_at=thread.created_at,
        )
        await self.insert_thread(thread)
        # The prompt lands at the thread's creation instant: updated_at is already right and a new
        # thread has no summaries, so none of after_insert's work is needed.
        first = self._fill(
            NewMessage(
                thread_id=thread.id,
                role=Role.USER,
                content=new.prompt,
                created_at=thread.created_at,
                metadata={"agent_run": run.id, "work_folder": new.work_folder},
            )
        )
        await self.insert_messages([first])
        values = {
            "id": ("STRING", run.id),
            "parent": ("STRING", run.parent_thread_id),
            "title": ("STRING", run.title),
            "prompt": ("STRING", run.prompt),
            "work_folder": ("STRING", run.work_folder),
            "runner": ("STRING", run.runner),
            "owner": ("STRING", run.owner),
        }
        inserted = await self.bq.dml(
            f"INSERT INTO {self._runs} (id, thread_id, parent_thread_id, title, prompt, work_folder, runner, owner,"
            " status, created_at) SELECT @id, t.id, @parent, @title, @prompt, @work_folder, @runner, @owner,"
            f" 'queued', t.created_at FROM {self.bq.target.table('threads')} t WHERE t.id = @thread",
            [scalar("thread", "STRING", thread.id), *(scalar(k, kind, v) for k, (kind, v) in values.items())],
        )
        if not inserted:
            raise MainloopError(f"task thread {thread.id} vanished before its run was stored; spawn the run again")
        return run

    async def get_run(self, run_id: str) -> AgentRun:
        rows = await self.bq.rows(
            f"SELECT {RUN_COLUMNS} FROM {self._runs} WHERE id = @id", [scalar("id", "STRING", run_id)]
        )
        if not rows:
            raise NotFound(f"no agent run with id {run_id!r}; list_agents shows the runs that exist")
        return run_from_row(rows[0])

    async def list_runs(
        self,
        status: RunStatus | None = None,
        parent_thread_id: str | None = None,
        limit: int = 50,
        cursor: str | None = None,
    ) -> AgentRunPage:
        check_limit(limit)
        clauses: list[str] = []
        params: list[Any] = [scalar("limit", "INT64", limit + 1)]
        if status is not None:
            clauses.append("status = @status")
            params.append(scalar("status", "STRING", status.value))
        if parent_thread_id is not None:
            clauses.append("parent_thread_id = @parent")
            params.append(scalar("parent", "STRING", parent_thread_id))
        if (after := RUNS.after(cursor)) is not None:
            clauses.append(after_clause(RUNS, "<"))
            params += after_params(RUNS, after)
        where = f" WHERE {' AND '.join(clauses)}" if clauses else ""
        rows = await self.bq.rows(
            f"SELECT {RUN_COLUMNS} FROM {self._runs}{where} ORDER BY created_at DESC, id DESC LIMIT @limit", params
        )
        rows, next_cursor = RUNS.cut(rows, limit, bq_column)
        return AgentRunPage(runs=[run_from_row(r) for r in rows], next_cursor=next_cursor)

    async def start_run(self, run_id: str, external_id: str | None = None) -> AgentRun:
        await self.bq.dml(
            f"UPDATE {self._runs} SET status = 'running', started_at = COALESCE(started_at, TIMESTAMP_MICROS(@now)),"
            f" external_id = COALESCE(@external_id, external_id) WHERE id = @id AND {UNFINISHED}",
            [
                scalar("now", "INT64", self._now()),
                scalar("external_id", "STRING", external_id),
                scalar("id", "STRING", run_id),
            ],
        )
        return await self.get_run(run_id)

    async def finish_run(
        self, run_id: str, status: RunStatus, result: str | None = None, error: str | None = None, *, posts: RunPosts
    ) -> AgentRun:
        check_finish(status)
        before = await self.get_run(run_id)
        if before.status.finished:
            return before
        now = self._now()
        won = await self.bq.dml(
            f"UPDATE {self._runs} SET status = @status, result = @result, error = @error,"
            f" finished_at = TIMESTAMP_MICROS(@now) WHERE id = @id AND {UNFINISHED}",
            [
                scalar("status", "STRING", status.value),
                scalar("result", "STRING", result),
                scalar("error", "STRING", error),
                scalar("now", "INT64", now),
                scalar("id", "STRING", run_id),
            ],
        )
        if not won:  # another finish got there first; it posts the messages
            return await self.get_run(run_id)
        run = before.model_copy(
            update={"status": status, "result": result, "error": error, "finished_at": from_micros(now)}
        )
        await self._post_outcomes([run], posts)
        return run

    async def interrupt_unfinished(
        self, reason: str, owner_gone: Callable[[str], bool], *, posts: RunPosts
    ) -> list[AgentRun]:
        """One UPDATE for all the gone owners' runs; a token it writes reads back exactly the runs it ended."""
        rows = await self.bq.rows(f"SELECT id, owner FROM {self._runs} WHERE {UNFINISHED}")
        gone = [r["id"] for r in rows if owner_gone(r["owner"] or "")]
        if not gone:
            return []
        token = new_id("fin")
        await self.bq.dml(
            f"UPDATE {self._runs} SET status = 'interrupted', error = @reason, finished_at = TIMESTAMP_MICROS(@now),"
            f" finish_token = @token WHERE id IN UNNEST(@ids) AND {UNFINISHED}",
            [
                scalar("reason", "STRING", reason),
                scalar("now", "INT64", self._now()),
                scalar("token", "STRING", token),
                array("ids", "STRING", gone),
            ],
        )
        ended = await self.bq.rows(
            f"SELECT {RUN_COLUMNS} FROM {self._runs} WHERE finish_token = @token ORDER BY created_at, id",
            [scalar("token", "STRING", token)],
        )
        runs = [run_from_row(r) for r in ended]
        if runs:
            await self._post_outcomes(runs, posts)
        return runs

    async def _post_outcomes(self, runs: list[AgentRun], posts: RunPosts) -> None:
        """Each run's posts (its result into the task thread, an outcome line into the parent): one MERGE."""
        messages = [self._fill(new) for run in runs for new in posts(run)]
        await self.insert_messages(messages)
        await self.after_insert(messages)
