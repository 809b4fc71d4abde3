"""The agent service: spawns runs into the hub's task group, records them, cancels them, answers chats.

It lives as long as the Hub. Every run ends in exactly one recorded outcome, even when the hub
stops (interrupted) or dies (marked interrupted at the next start).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import anyio
import anyio.abc

from mainloop_mcp.agents.backends import Backend, check_work_folder, resolve_backend
from mainloop_mcp.agents.chat_history import HistorySource, chat_prompt, transcript_history
from mainloop_mcp.agents.claude_code import AgentConnection
from mainloop_mcp.agents.owner import owner_gone, this_process
from mainloop_mcp.agents.reports import run_posts
from mainloop_mcp.agents.runner import AgentJob, LocalRunner, Runner
from mainloop_mcp.agents.sandbox import Sandbox, bwrap_path
from mainloop_mcp.config import Settings
from mainloop_mcp.errors import AgentFailed, Conflict, InvalidInput
from mainloop_mcp.model import (
    MAX_RESPONSE_BYTES,
    AgentRun,
    AgentRunPage,
    Message,
    NewAgentRun,
    NewMessage,
    Role,
    RunStatus,
    clip,
)
from mainloop_mcp.store import Store
from mainloop_mcp.store.base import AgentRunStore
from mainloop_mcp.store.byte_pages import fit_page

log = logging.getLogger(__name__)

RESTART_REASON = "the hub restarted while this run was in flight; spawn it again if it is still needed"
SHUTDOWN_REASON = "the hub shut down while this run was in flight; spawn it again if it is still needed"
Progress = Callable[[str], Awaitable[None]]
HEARTBEAT_SECONDS = 5.0
PREVIEW_CHARS = 300


class RunsStore(Store, AgentRunStore, Protocol):
    """What the service needs from the store: threads and runs in one file."""


@dataclass
class _Live:
    scope: anyio.CancelScope = field(default_factory=anyio.CancelScope)
    done: anyio.Event = field(default_factory=anyio.Event)
    cancelled: bool = False


class AgentService:
    def __init__(self, settings: Settings, store: RunsStore, task_group: anyio.abc.TaskGroup) -> None:
        self._settings = settings
        self._store = store
        self._tg = task_group
        self._live: dict[str, _Live] = {}
        self._reserved = 0
        self._closing = False
        self._backend: Backend | None = None
        self._runner: Runner | None = None
        self._sandbox: Sandbox | None = None
        self._connection: AgentConnection | None = None
        self._history: HistorySource | None = None

    # set-up --------------------------------------------------------------------------------

    def use_history(self, history: HistorySource) -> None:
        """Where chat replies get the thread's history from (the hub passes the memory pyramid)."""
        self._history = history

    async def start(self) -> list[AgentRun]:
        """Runs left queued or running by a previous hub process can't be resumed: record them interrupted."""
        interrupted = await self._store.interrupt_unfinished(RESTART_REASON, owner_gone, posts=run_posts)
        if interrupted:
            log.warning("marked %d agent runs interrupted after a restart", len(interrupted))
        return interrupted

    def backend(self) -> Backend:
        """Resolved on first use, so a hub without node or a CLI still serves everything else."""
        if self._backend is None:
            self._backend = resolve_backend(self._settings)
        return self._backend

    def runner(self) -> Runner:
        if self._runner is None:
            s = self._settings
            if s.agent_runner == "kubernetes":
                from mainloop_mcp.agents.k8s import KubernetesRunner

                self._runner = KubernetesRunner.from_settings(s)
            else:
                runner = LocalRunner(self.backend(), s.agent_concurrency, s.agent_timeout_seconds, self.sandbox())
                self._runner = runner
        return self._runner

    def sandbox(self) -> Sandbox | None:
        """The bubblewrap sandbox for local agents (chat replies and spawned runs), when configured."""
        s = self._settings
        if s.agent_sandbox == "none":
            return None
        if self._sandbox is None:
            self._sandbox = Sandbox(bwrap_path(), [p.expanduser() for p in s.agent_sandbox_writable])
        return self._sandbox

    def connection(self) -> AgentConnection:
        if self._connection is None:
            sandbox = self.sandbox()
            backend = self.backend() if sandbox is None else sandbox.wrap(self.backend(), self.chat_folder())
            self._connection = AgentConnection(backend, self._tg)
        return self._connection

    def chat_folder(self) -> Path:
        root = self._settings.agent_work_roots[0].expanduser()
        root.mkdir(parents=True, exist_ok=True)
        return root.resolve()

    # runs ----------------------------------------------------------------------------------

    @property
    def capacity(self) -> int:
        return self._settings.agent_concurrency + self._settings.agent_queue_limit

    async def spawn(self, prompt: str, parent_thread_id: str, work_folder: str, title: str | None) -> AgentRun:
        """Validate everything, then create thread + run together and start it in the background."""
        if self._closing:
            raise Conflict("the hub is shutting down; spawn the agent again after it restarts")
        folder = check_work_folder(work_folder, self._settings.agent_work_roots)
        new = NewAgentRun(
            parent_thread_id=parent_thread_id,
            title=title if title is not None else _title_from(prompt),
            prompt=prompt,
            work_folder=str(folder),
            runner=self._settings.agent_runner,
            owner=this_process(),
        )
        taken = len(self._live) + self._reserved
        if taken >= self.capacity:
            raise Conflict(
                f"{taken} agent runs are already queued or running, the limit "
                f"(agent_concurrency {self._settings.agent_concurrency} + agent_queue_limit "
                f"{self._settings.agent_queue_limit}); wait for one to finish or cancel one with cancel_agent"
            )
        runner = self.runner()  # a misconfigured runner fails here, before anything is stored
        self._reserved += 1  # holds the slot across the await, so concurrent spawns can't overshoot
        try:
            run = await self._store.create_run(new)
        finally:
            self._reserved -= 1
        live = _Live()
        self._live[run.id] = live
        self._tg.start_soon(self._execute, runner, run, folder, live)
        return run

    async def _execute(self, runner: Runner, run: AgentRun, folder: Path, live: _Live) -> None:
        status: RunStatus = RunStatus.INTERRUPTED
        result: str | None = None
        error: str | None = SHUTDOWN_REASON

        async def started(external_id: str | None) -> AgentRun:
            # The folder may have gone (or been swapped for a symlink) while the run waited for a slot.
            try:
                check_work_folder(str(folder), self._settings.agent_work_roots)
            except InvalidInput as exc:
                raise AgentFailed(f"the run did not start: when its turn came, {exc}") from exc
            return await self._store.start_run(run.id, external_id)

        try:
            with live.scope:
                answer = await runner.run(AgentJob(run_id=run.id, prompt=run.prompt, work_folder=folder), started)
                result = clip(answer)
                status, error = RunStatus.SUCCEEDED, None
            if live.scope.cancel_called and status is not RunStatus.SUCCEEDED:
                if live.cancelled:
                    status, error = RunStatus.CANCELLED, "cancelled with cancel_agent; its processes were stopped"
        except TimeoutError:
            limit = self._settings.agent_timeout_seconds
            status, error = RunStatus.TIMED_OUT, f"stopped after the {limit:g} s limit (agent_timeout_seconds)"
        except AgentFailed as exc:
            status, error = RunStatus.FAILED, str(exc)
        except Exception as exc:
            log.exception("agent run %s crashed", run.id)
            status, error = RunStatus.FAILED, f"{type(exc).__name__}: {exc}"
        finally:
            with anyio.CancelScope(shield=True):
                try:
                    await self._store.finish_run(run.id, status, result=result, error=error, posts=run_posts)
                finally:
                    self._live.pop(run.id, None)
                    live.done.set()

    async def cancel(self, run_id: str) -> AgentRun:
        """Stop a run and wait until its processes are gone; a finished run is returned as it is."""
        live = self._live.get(run_id)
        if live is None:
            return await self._store.get_run(run_id)
        live.cancelled = True
        live.scope.cancel()
        await live.done.wait()
        return await self._store.get_run(run_id)

    async def get(self, run_id: str) -> AgentRun:
        """One run whole; a prompt too long to travel beside the result is cut (the task thread keeps it)."""
        run = await self._store.get_run(run_id)
        if 2 * len(run.model_dump_json().encode("utf-8", "surrogatepass")) > MAX_RESPONSE_BYTES:
            return run.model_copy(update={"prompt": _cut(run.prompt, "too long to send beside the result")})
        return run

    async def list(
        self, status: RunStatus | None, parent_thread_id: str | None, limit: int, cursor: str | None
    ) -> AgentRunPage:
        async def fetch(n: int) -> AgentRunPage:
            page = await self._store.list_runs(status=status, parent_thread_id=parent_thread_id, limit=n, cursor=cursor)
            return AgentRunPage(runs=[preview(run) for run in page.runs], next_cursor=page.next_cursor)

        return await fit_page(fetch, lambda page: page.runs, limit)

    async def wait(self, run_id: str) -> AgentRun:
        """Until the run has its outcome recorded (tests, benchmarks, and anyone who wants to block)."""
        live = self._live.get(run_id)
        if live is not None:
            await live.done.wait()
        return await self._store.get_run(run_id)

    # chat ----------------------------------------------------------------------------------

    async def chat(self, thread_id: str, content: str, progress: Progress) -> tuple[Message, Message]:
        """Post the user's message, ask the agent with the thread's context, post its answer."""
        thread = await self._store.get_thread(thread_id)
        connection = self.connection()
        user = await self._store.post_message(NewMessage(thread_id=thread_id, role=Role.USER, content=content))
        history = await self._history(thread) if self._history else await transcript_history(self._store, thread)
        prompt = chat_prompt(thread, history)
        await progress(f"asking {connection.backend.name}")
        answer, failure = "", None
        async with anyio.create_task_group() as beats:  # raises groups: keep the agent's error out of it
            beats.start_soon(_heartbeat, progress)
            try:
                answer = await self.ask(prompt)
            except (AgentFailed, TimeoutError) as exc:
                failure = exc
            finally:
                beats.cancel_scope.cancel()
        if isinstance(failure, TimeoutError):
            limit = self._settings.agent_timeout_seconds
            raise AgentFailed(f"{connection.backend.name} gave no answer within {limit:g} s (agent_timeout_seconds)")
        if failure is not None:
            raise failure
        if not answer.strip():
            raise AgentFailed(f"{connection.backend.name} returned an empty answer; nothing was posted as a reply")
        reply = await self._store.post_message(
            NewMessage(
                thread_id=thread_id,
                role=Role.ASSISTANT,
                content=clip(answer),
                metadata={"reply_to": user.id, "agent": connection.backend.name},
            )
        )
        return user, reply

    async def ask(self, prompt: str) -> str:
        """One prompt, one answer, nothing stored: for the memory pyramid's LLM summariser and similar helpers."""
        with anyio.fail_after(self._settings.agent_timeout_seconds):
            return await self.connection().ask(prompt, self.chat_folder())

    async def health(self) -> str:
        return await self.connection().health(self.chat_folder())

    def stop_accepting(self) -> None:
        """Refuse new spawns (the hub is shutting down); running ones go on until aclose."""
        self._closing = True

    async def aclose(self) -> None:
        """Stop every live run (recorded interrupted) and the shared connection."""
        self._closing = True
        for live in list(self._live.values()):
            live.scope.cancel()
        for live in list(self._live.values()):
            await live.done.wait()
        if self._connection is not None:
            await self._connection.aclose()


async def _heartbeat(progress: Progress) -> None:
    waited = 0.0
    while True:
        await anyio.sleep(HEARTBEAT_SECONDS)
        waited += HEARTBEAT_SECONDS
        await progress(f"still working ({waited:g} s)")


def _cut(text: str | None, whole: str = "get_agent has it whole") -> str | None:
    if text is None or len(text) <= PREVIEW_CHARS:
        return text
    return f"{text[:PREVIEW_CHARS]}... [{len(text):,} characters; {whole}]"


def preview(run: AgentRun) -> AgentRun:
    """A run as lists show it: prompt and result cut to a preview, so a page of runs stays small."""
    return run.model_copy(update={"prompt": _cut(run.prompt), "result": _cut(run.result)})


def _title_from(prompt: str) -> str:
    first = next((line.strip() for line in prompt.splitlines() if line.strip()), "agent run")
    return first if len(first) <= 80 else first[:77] + "..."
