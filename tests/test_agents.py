"""Sub-agents end to end: the real claude-code-mcp from npm driving the scripted stand-in CLI."""

from __future__ import annotations

import hashlib
import json
import os
import signal
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any, cast

import anyio
import pytest
from mcp import Client

from mainloop_mcp.config import AgentBackend, Settings
from mainloop_mcp.errors import AgentFailed
from mainloop_mcp.hub import Hub, open_hub
from mainloop_mcp.model import MAX_CONTENT_BYTES, NewThread, Order, Role, RunStatus, ThreadType
from mainloop_mcp.server import create_server
from tests.agent_support import FAKE_CLAUDE, agent_settings, alive, intervals, max_overlap, started_pids

pytestmark = pytest.mark.anyio


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return agent_settings(tmp_path)


@pytest.fixture
async def hub(settings: Settings) -> AsyncIterator[Hub]:
    async with open_hub(settings) as h:
        yield h


@pytest.fixture
async def client(hub: Hub) -> AsyncIterator[Client]:
    async with Client(create_server(hub), mode="legacy") as c:
        yield c


async def project(hub: Hub, title: str = "Project") -> str:
    return (await hub.store.create_thread(NewThread(thread_type=ThreadType.PROJECT, title=title))).id


async def call(client: Client, tool: str, **args: Any) -> dict[str, Any]:
    result = await client.call_tool(tool, args)
    assert not result.is_error, result.content
    assert result.structured_content is not None
    return cast(dict[str, Any], result.structured_content)


async def call_error(client: Client, tool: str, **args: Any) -> str:
    result = await client.call_tool(tool, args)
    assert result.is_error, result.structured_content
    return "".join(getattr(c, "text", "") for c in result.content)


async def messages(hub: Hub, thread_id: str) -> list[Any]:
    return (await hub.store.read_messages(thread_id, limit=500, order=Order.OLDEST)).messages


# chat ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["legacy", "auto"])
async def test_chat_reply_lands_in_the_thread_as_assistant_message(hub: Hub, tmp_path: Path, mode: str) -> None:
    thread_id = await project(hub)
    notes: list[tuple[float, str | None]] = []

    async def on_progress(progress: float, total: float | None, message: str | None) -> None:
        notes.append((progress, message))

    async with Client(create_server(hub), mode=mode) as c:
        earlier = await call(c, "post_message", thread_id=thread_id, content="remember the colour teal", role="user")
        result = await c.call_tool(
            "chat", {"thread_id": thread_id, "content": "what colour?"}, progress_callback=on_progress
        )
    assert not result.is_error, result.content
    reply = result.structured_content["reply"]
    assert reply["role"] == "assistant"
    stored = await messages(hub, thread_id)
    assert [m.role for m in stored] == [Role.USER, Role.USER, Role.ASSISTANT]
    assert stored[-1].id == reply["id"] and stored[-1].metadata["reply_to"] == stored[1].id
    # The stand-in echoes what it was given: the thread's earlier message was in the context,
    # the new message came last, it ran in the first work root with the bypass flag.
    assert "last: " in reply["content"] and reply["content"].rstrip().endswith("user: what colour?")
    assert "flags: --dangerously-skip-permissions" in reply["content"]
    assert f"cwd: {(tmp_path / 'work').resolve()}" in reply["content"]
    assert earlier["id"] in [m.id for m in stored]
    assert notes and notes[0] == (1, "asking claude-code-mcp")
    assert [p for p, _ in notes] == sorted({p for p, _ in notes})  # strictly increasing


async def test_chat_includes_earlier_messages_in_the_prompt(hub: Hub) -> None:
    thread_id = await project(hub)
    for text in ("alpha", "beta"):
        await hub.agents.chat(thread_id, text, _no_progress)
    _, reply = await hub.agents.chat(thread_id, "gamma", _no_progress)
    # bytes= grows with the transcript: 3 user + 2 assistant messages went into the third prompt.
    first = await messages(hub, thread_id)
    sizes = [int(m.content.split("bytes=")[1].split()[0]) for m in first if m.role is Role.ASSISTANT]
    assert sizes == sorted(sizes) and sizes[0] < sizes[-1]


async def test_chat_reconnects_after_the_backend_server_dies(hub: Hub, tmp_path: Path) -> None:
    thread_id = await project(hub)
    await hub.agents.chat(thread_id, "one", _no_progress)
    servers = _my_backend_servers()
    assert len(servers) == 1
    os.kill(servers[0], signal.SIGKILL)
    await _wait_dead(servers[0])
    _, reply = await hub.agents.chat(thread_id, "two", _no_progress)
    assert reply.content.rstrip().endswith("user: two")
    assert len(_my_backend_servers()) == 1 and _my_backend_servers() != servers


async def test_health_check_makes_a_real_call(tmp_path: Path) -> None:
    good = agent_settings(tmp_path)
    async with open_hub(good) as hub:
        assert "last: Reply with the single word: ok" in await hub.agents.health()
    missing = agent_settings(tmp_path, claude_cli=str(tmp_path / "no-such-claude"))
    async with open_hub(missing) as hub:
        # The server itself starts fine without a CLI; only a real call shows it is unusable.
        with pytest.raises(AgentFailed, match="ENOENT"):
            await hub.agents.health()


# spawn ---------------------------------------------------------------------------------------


async def test_spawn_returns_at_once_and_the_result_lands_in_the_task_thread(
    hub: Hub, client: Client, tmp_path: Path
) -> None:
    parent = await project(hub)
    work = str(tmp_path / "work")
    run = await call(
        client,
        "spawn_agent",
        prompt="Write the summary\nSLEEP=0.3",
        parent_thread_id=parent,
        work_folder=work,
        title="Summary",
    )
    assert run["status"] == "queued" and run["title"] == "Summary"
    done = await hub.agents.wait(run["id"])
    assert done.status is RunStatus.SUCCEEDED and done.started_at and done.finished_at
    assert done.result and "last: SLEEP=0.3" in done.result

    task = await hub.store.get_thread(done.thread_id)
    assert task.thread_type is ThreadType.TASK and task.parent_id == parent and task.title == "Summary"
    in_task = await messages(hub, task.id)
    assert [m.role for m in in_task] == [Role.USER, Role.AGENT]
    assert in_task[0].content == "Write the summary\nSLEEP=0.3" and in_task[1].content == done.result
    in_parent = await messages(hub, parent)
    assert len(in_parent) == 1 and in_parent[0].role is Role.SYSTEM
    assert in_parent[0].content.startswith(f"Agent run {done.id} ('Summary') succeeded: fake-claude ")
    assert "\n" not in in_parent[0].content

    got = await call(client, "get_agent", run_id=run["id"])
    assert got["status"] == "succeeded"
    resource = await client.read_resource(f"agent://{run['id']}")
    assert json.loads(resource.contents[0].text)["status"] == "succeeded"  # type: ignore[union-attr]
    listed = await call(client, "list_agents", parent_thread_id=parent)
    assert [r["id"] for r in listed["runs"]] == [run["id"]]


async def test_twenty_parallel_spawns_stay_within_the_concurrency_bound(tmp_path: Path) -> None:
    settings = agent_settings(tmp_path, agent_concurrency=4)
    async with open_hub(settings) as hub:
        parent = await project(hub)
        runs = [await hub.agents.spawn(f"job {i}\nSLEEP=0.2", parent, str(tmp_path / "work"), None) for i in range(20)]
        done = [await hub.agents.wait(r.id) for r in runs]
    assert {r.status for r in done} == {RunStatus.SUCCEEDED}
    assert sorted(r.result.splitlines()[-1] for r in done if r.result) == sorted("last: SLEEP=0.2" for _ in range(20))
    spans = intervals(tmp_path)
    assert len(spans) == 20
    peak = max_overlap(spans)
    assert peak <= 4, f"{peak} stand-in CLIs ran at once; the bound is 4"
    assert peak >= 2, "runs never overlapped: the pool ran them one by one"


async def test_cancel_kills_the_child_and_records_cancelled(hub: Hub, client: Client, tmp_path: Path) -> None:
    parent = await project(hub)
    run = await call(
        client, "spawn_agent", prompt="long job SLEEP=60", parent_thread_id=parent, work_folder=str(tmp_path / "work")
    )
    await _wait_started(tmp_path, 1)
    pid = started_pids(tmp_path)[0]
    assert alive(pid)
    cancelled = await call(client, "cancel_agent", run_id=run["id"])
    assert cancelled["status"] == "cancelled"
    await _wait_dead(pid)
    assert not (tmp_path / "claude-records" / f"{pid}.end").exists()
    in_task = await messages(hub, cancelled["thread_id"])
    assert in_task[-1].role is Role.AGENT and "cancelled" in in_task[-1].content
    again = await call(client, "cancel_agent", run_id=run["id"])
    assert again["status"] == "cancelled" and again["finished_at"] == cancelled["finished_at"]


async def test_cancel_a_queued_run_before_it_starts(tmp_path: Path) -> None:
    async with open_hub(agent_settings(tmp_path, agent_concurrency=1)) as hub:
        parent = await project(hub)
        first = await hub.agents.spawn("SLEEP=60", parent, str(tmp_path / "work"), None)
        await _wait_started(tmp_path, 1)
        second = await hub.agents.spawn("never runs", parent, str(tmp_path / "work"), None)
        cancelled = await hub.agents.cancel(second.id)
        assert cancelled.status is RunStatus.CANCELLED and cancelled.started_at is None
        await hub.agents.cancel(first.id)
    assert len(started_pids(tmp_path)) == 1


async def test_agent_failure_is_recorded_as_an_error_message(hub: Hub, tmp_path: Path) -> None:
    parent = await project(hub)
    run = await hub.agents.spawn("please FAIL now", parent, str(tmp_path / "work"), "Doomed")
    done = await hub.agents.wait(run.id)
    assert done.status is RunStatus.FAILED and done.result is None
    assert done.error and "exit code 3" in done.error and "simulated failure (FAIL marker)" in done.error
    in_task = await messages(hub, done.thread_id)
    assert in_task[-1].role is Role.AGENT and in_task[-1].content.startswith("Agent run failed: claude-code-mcp")
    assert in_task[-1].metadata == {"agent_run": run.id, "status": "failed"}
    outcome = (await messages(hub, parent))[-1].content
    assert outcome.startswith(f"Agent run {run.id} ('Doomed') failed: ")


async def test_a_run_over_the_time_limit_is_stopped(tmp_path: Path) -> None:
    # The limit covers starting the backend server too (over a second on a loaded machine).
    async with open_hub(agent_settings(tmp_path, agent_timeout_seconds=5)) as hub:
        parent = await project(hub)
        run = await hub.agents.spawn("SLEEP=60", parent, str(tmp_path / "work"), None)
        done = await hub.agents.wait(run.id)
    assert done.status is RunStatus.TIMED_OUT and "5 s limit" in (done.error or "")
    await _wait_dead(started_pids(tmp_path)[0])


async def test_lots_of_output_is_clipped_to_one_message(hub: Hub, tmp_path: Path) -> None:
    parent = await project(hub)
    run = await hub.agents.spawn("BIG=1500000", parent, str(tmp_path / "work"), None)
    done = await hub.agents.wait(run.id)
    assert done.status is RunStatus.SUCCEEDED and (done.result or "").startswith("x" * (MAX_CONTENT_BYTES - 64 * 1024))
    assert len((done.result or "").encode()) <= MAX_CONTENT_BYTES
    posted = (await messages(hub, done.thread_id))[-1].content
    assert "the agent's output was 1,500,0" in posted and posted.endswith("bytes were read]")
    assert len(posted.encode()) <= 1024 * 1024


async def test_oversized_prompt_travels_through_a_file_in_the_work_folder(hub: Hub, tmp_path: Path) -> None:
    parent = await project(hub)
    prompt = "context line é\n" * 14_000 + "the actual question"  # ~224 KB of UTF-8, over the 128 KiB argv cap
    assert len(prompt.encode()) > 128 * 1024
    run = await hub.agents.spawn(prompt, parent, str(tmp_path / "work"), "Big")
    done = await hub.agents.wait(run.id)
    assert done.status is RunStatus.SUCCEEDED, done.error
    digest = hashlib.sha256(prompt.encode()).hexdigest()[:12]
    assert f"fake-claude {digest} bytes={len(prompt.encode())} via=file" in (done.result or "")
    assert "last: the actual question" in (done.result or "")
    assert list((tmp_path / "work" / ".mainloop").iterdir()) == []  # the context file is removed afterwards


async def test_without_the_file_path_the_same_prompt_fails_with_e2big(tmp_path: Path) -> None:
    backend = AgentBackend(env={"FAKE_CLAUDE_DIR": str(tmp_path / "claude-records")}, max_prompt_bytes=10**7)
    async with open_hub(agent_settings(tmp_path, agent_backend=backend)) as hub:
        parent = await project(hub)
        run = await hub.agents.spawn("y" * 131_072, parent, str(tmp_path / "work"), None)
        done = await hub.agents.wait(run.id)
    assert done.status is RunStatus.FAILED and "E2BIG" in (done.error or "")


# lifecycle -----------------------------------------------------------------------------------


async def test_hub_shutdown_interrupts_runs_and_kills_their_children(tmp_path: Path) -> None:
    settings = agent_settings(tmp_path)
    async with open_hub(settings) as hub:
        parent = await project(hub)
        run = await hub.agents.spawn("SLEEP=60", parent, str(tmp_path / "work"), None)
        await _wait_started(tmp_path, 1)
    await _wait_dead(started_pids(tmp_path)[0])
    async with open_hub(settings) as hub:
        after = await hub.agents.get(run.id)
        assert after.status is RunStatus.INTERRUPTED and "shut down" in (after.error or "")


# bad input -----------------------------------------------------------------------------------


async def _nothing_created(hub: Hub) -> None:
    assert (await hub.agents.list(None, None, 50, None)).runs == []
    tasks = await hub.store.list_threads(where=_task_filter())
    assert tasks.threads == []


def _task_filter() -> Any:
    from mainloop_mcp.model import ThreadFilter

    return ThreadFilter(thread_type=ThreadType.TASK, status=None)


async def test_bad_spawns_are_refused_clearly_and_create_nothing(hub: Hub, client: Client, tmp_path: Path) -> None:
    parent = await project(hub)
    work = tmp_path / "work"
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (work / "escape").symlink_to(outside)
    task = await hub.store.create_thread(NewThread(thread_type=ThreadType.TASK, title="t", parent_id=parent))
    cases = {
        "unknown parent": (dict(parent_thread_id="thr_nope", work_folder=str(work)), "'thr_nope'"),
        "task parent": (dict(parent_thread_id=task.id, work_folder=str(work)), "is a task"),
        "missing folder": (dict(parent_thread_id=parent, work_folder=str(work / "gone")), "does not exist"),
        "outside roots": (dict(parent_thread_id=parent, work_folder=str(outside)), "outside the allowed"),
        "symlink out": (dict(parent_thread_id=parent, work_folder=str(work / "escape")), "outside the allowed"),
        "relative": (dict(parent_thread_id=parent, work_folder="work"), "must be an absolute path"),
    }
    for name, (args, expected) in cases.items():
        text = await call_error(client, "spawn_agent", prompt="do it", **args)
        assert expected in text, (name, text)
    text = await call_error(client, "spawn_agent", prompt="   ", parent_thread_id=parent, work_folder=str(work))
    assert "prompt must not be empty" in text
    await hub.store.archive_thread(task.id)  # the only task thread is the one this test made on purpose
    runs = (await hub.agents.list(None, None, 50, None)).runs
    assert runs == []
    threads = (await hub.store.list_threads(where=_task_filter())).threads
    assert [t.id for t in threads] == [task.id]
    assert started_pids(tmp_path) == []


async def test_spawn_beyond_concurrency_and_queue_is_refused(tmp_path: Path) -> None:
    async with open_hub(agent_settings(tmp_path, agent_concurrency=1, agent_queue_limit=1)) as hub:
        async with Client(create_server(hub), mode="legacy") as c:
            parent = await project(hub)
            work = str(tmp_path / "work")
            first = await call(c, "spawn_agent", prompt="SLEEP=60", parent_thread_id=parent, work_folder=work)
            await call(c, "spawn_agent", prompt="SLEEP=60", parent_thread_id=parent, work_folder=work)
            text = await call_error(c, "spawn_agent", prompt="third", parent_thread_id=parent, work_folder=work)
            assert "2 agent runs are already queued or running" in text and "cancel_agent" in text
            assert len((await hub.agents.list(None, None, 50, None)).runs) == 2
            await call(c, "cancel_agent", run_id=first["id"])
            third = await call(c, "spawn_agent", prompt="third", parent_thread_id=parent, work_folder=work)
            assert third["status"] == "queued"


async def test_unknown_run_ids_are_clear_errors(client: Client) -> None:
    for tool in ("get_agent", "cancel_agent"):
        assert "no agent run with id 'run_nope'" in await call_error(client, tool, run_id="run_nope")


# pluggable backends --------------------------------------------------------------------------


async def test_any_mcp_server_can_be_the_backend(tmp_path: Path) -> None:
    import sys

    backend = AgentBackend(
        name="echo-backend",
        command=[sys.executable, str(Path(__file__).parent / "fake_claude" / "echo_server.py")],
        tool="run_task",
        arguments={"task": "Task: {prompt}", "folder": "{work_folder}"},
    )
    async with open_hub(agent_settings(tmp_path, agent_backend=backend)) as hub:
        parent = await project(hub)
        run = await hub.agents.spawn("count the files", parent, str(tmp_path / "work"), None)
        done = await hub.agents.wait(run.id)
    assert done.status is RunStatus.SUCCEEDED, done.error
    assert done.result == f"echo-backend did 'Task: count the files' in {(tmp_path / 'work').resolve()}"


# helpers -------------------------------------------------------------------------------------


async def _no_progress(_: str) -> None:
    return None


async def _poll(condition: Callable[[], bool], seconds: float, what: str) -> None:
    for _ in range(int(seconds / 0.05)):
        if condition():
            return
        await anyio.sleep(0.05)
    raise AssertionError(f"timed out after {seconds} s waiting for {what}")


async def _wait_started(tmp_path: Path, count: int) -> None:
    await _poll(lambda: len(started_pids(tmp_path)) >= count, 20, f"{count} stand-in CLIs to start")


async def _wait_dead(pid: int) -> None:
    await _poll(lambda: not alive(pid), 10, f"process {pid} to end")


def _my_backend_servers() -> list[int]:
    """claude-code-mcp processes this test process started (and that are still alive)."""
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            cmdline = (proc / "cmdline").read_bytes()
            ppid = int((proc / "stat").read_text().rsplit(")", 1)[1].split()[1])
        except (FileNotFoundError, ProcessLookupError):
            continue
        if ppid == os.getpid() and b"claude-code-mcp" in cmdline and alive(int(proc.name)):
            found.append(int(proc.name))
    return found


assert FAKE_CLAUDE.is_file()


async def test_a_crashed_hub_marks_in_flight_runs_interrupted_at_next_start(tmp_path: Path) -> None:
    from tests.agent_support import kill_tree_of, parent_pid
    from tests.conftest import start_hub, stop_hub

    env = {
        "MAINLOOP_AGENT_WORK_ROOTS": json.dumps([str(tmp_path / "work")]),
        "MAINLOOP_CLAUDE_CLI": str(FAKE_CLAUDE),
        "MAINLOOP_AGENT_BACKEND": json.dumps({"env": {"FAKE_CLAUDE_DIR": str(tmp_path / "claude-records")}}),
    }
    agent_settings(tmp_path)  # makes the work and record folders
    served = start_hub(tmp_path, env=env)
    try:
        async with Client(served.mcp_url) as c:
            parent = await call(c, "create_thread", title="P", thread_type="project")
            run = await call(
                c, "spawn_agent", prompt="SLEEP=60", parent_thread_id=parent["id"], work_folder=str(tmp_path / "work")
            )
            await _wait_started(tmp_path, 1)
            assert (await call(c, "get_agent", run_id=run["id"]))["status"] == "running"
        served.proc.kill()  # a crash: no shutdown code runs
        served.proc.wait()
    finally:
        stop_hub(served)
        orphan = started_pids(tmp_path)[0]
        if alive(orphan):  # the backend server sits in its own session; end what the crash left behind
            kill_tree_of(parent_pid(orphan))
    served = start_hub(tmp_path, env=env)
    try:
        async with Client(served.mcp_url) as c:
            after = await call(c, "get_agent", run_id=run["id"])
            task = await call(c, "read_messages", thread_id=run["thread_id"])
            outcome = await call(c, "read_messages", thread_id=parent["id"])
    finally:
        stop_hub(served)
    assert after["status"] == "interrupted" and "hub restarted" in after["error"]
    assert task["messages"][0]["role"] == "agent" and "interrupted" in task["messages"][0]["content"]
    assert outcome["messages"][0]["content"].startswith(f"Agent run {run['id']} ('SLEEP=60') interrupted")


async def test_a_second_hub_on_the_same_file_leaves_live_runs_alone(tmp_path: Path) -> None:
    """`mainloop serve` runs an agent while `mainloop stdio` (here: a hub in this process) starts on the same file."""
    from tests.conftest import start_hub, stop_hub

    settings = agent_settings(tmp_path)
    env = {
        "MAINLOOP_AGENT_WORK_ROOTS": json.dumps([str(tmp_path / "work")]),
        "MAINLOOP_CLAUDE_CLI": str(FAKE_CLAUDE),
    }
    served = start_hub(tmp_path, env=env)
    try:
        async with Client(served.mcp_url) as c:
            parent = await call(c, "create_thread", title="P", thread_type="project")
            run = await call(
                c, "spawn_agent", prompt="SLEEP=2", parent_thread_id=parent["id"], work_folder=str(tmp_path / "work")
            )
            async with open_hub(settings) as second:
                assert (await second.agents.get(run["id"])).status in (RunStatus.QUEUED, RunStatus.RUNNING)
            for _ in range(200):
                got = await call(c, "get_agent", run_id=run["id"])
                if got["status"] != "running":
                    break
                await anyio.sleep(0.1)
    finally:
        stop_hub(served)
    assert got["status"] == "succeeded", got


def test_owner_gone_tells_live_hub_processes_from_dead_ones(tmp_path: Path) -> None:
    import socket
    import subprocess

    from mainloop_mcp.agents.owner import owner_gone, start_mark, this_process

    assert not owner_gone(this_process())
    host = socket.gethostname()
    sleeper = subprocess.Popen(["sleep", "30"])
    try:
        started = start_mark(sleeper.pid)
        assert started is not None
        assert not owner_gone(f"{host}/{sleeper.pid}/{started}")
        assert owner_gone(f"{host}/{sleeper.pid}/{int(started) + 1}")  # same pid, another process: reused
        assert owner_gone(f"another-host/{sleeper.pid}/{started}")
    finally:
        sleeper.kill()
        sleeper.wait()
    assert owner_gone(f"{host}/{sleeper.pid}/{started}")
    assert owner_gone("garbage")


async def test_a_failed_chat_is_a_clear_tool_error_and_keeps_only_the_users_message(hub: Hub, client: Client) -> None:
    thread_id = await project(hub)
    text = await call_error(client, "chat", thread_id=thread_id, content="this will FAIL")
    assert "simulated failure (FAIL marker)" in text and "exit code 3" in text
    assert [m.role for m in await messages(hub, thread_id)] == [Role.USER]
    assert "no thread with id 'thr_nope'" in await call_error(client, "chat", thread_id="thr_nope", content="hi")
    assert "content must not be empty" in await call_error(client, "chat", thread_id=thread_id, content=" ")
    assert len(await messages(hub, thread_id)) == 1


async def test_ask_answers_without_storing_anything(hub: Hub) -> None:
    answer = await hub.agents.ask("Summarise the day.\nAll went well.")
    assert "last: All went well." in answer and "bytes=33" in answer
    assert (await hub.agents.list(None, None, 50, None)).runs == []


async def test_a_chat_over_the_time_limit_fails_clearly_and_its_child_is_killed(tmp_path: Path) -> None:
    async with open_hub(agent_settings(tmp_path, agent_timeout_seconds=4)) as hub:  # server start counts too
        async with Client(create_server(hub), mode="legacy") as c:
            thread_id = await project(hub)
            text = await call_error(c, "chat", thread_id=thread_id, content="slow one SLEEP=30")
            assert "gave no answer within 4 s" in text
            await _wait_dead(started_pids(tmp_path)[0])
            other = await project(hub, "fresh")
            reply = await call(c, "chat", thread_id=other, content="quick")
            assert reply["reply"]["content"].rstrip().endswith("user: quick")


async def test_a_slow_chat_sends_heartbeat_progress(hub: Hub, monkeypatch: pytest.MonkeyPatch) -> None:
    from mainloop_mcp.agents import service

    monkeypatch.setattr(service, "HEARTBEAT_SECONDS", 0.2)
    thread_id = await project(hub)
    notes: list[tuple[float, str | None]] = []

    async def on_progress(progress: float, total: float | None, message: str | None) -> None:
        notes.append((progress, message))

    async with Client(create_server(hub), mode="legacy") as c:
        result = await c.call_tool(
            "chat", {"thread_id": thread_id, "content": "think SLEEP=1.2"}, progress_callback=on_progress
        )
    assert not result.is_error
    beats = [m for _, m in notes if m and m.startswith("still working")]
    assert len(beats) >= 3, notes
    assert [p for p, _ in notes] == list(range(1, len(notes) + 1))


async def test_mainloop_stdio_runs_agents_in_the_background_too(tmp_path: Path) -> None:
    import sys

    from mcp import StdioServerParameters

    agent_settings(tmp_path)
    params = StdioServerParameters(
        command=str(Path(sys.executable).parent / "mainloop"),
        args=["stdio"],
        env={
            "MAINLOOP_STORE": f"sqlite:///{tmp_path / 'mainloop.db'}",
            "MAINLOOP_CONFIG": str(tmp_path / "absent.toml"),
            "MAINLOOP_AGENT_WORK_ROOTS": json.dumps([str(tmp_path / "work")]),
            "MAINLOOP_CLAUDE_CLI": str(FAKE_CLAUDE),
            "MAINLOOP_LOG_LEVEL": "WARNING",
        },
    )
    async with Client(params, mode="legacy") as c:
        parent = await call(c, "create_thread", title="P", thread_type="project")
        run = await call(
            c, "spawn_agent", prompt="from stdio", parent_thread_id=parent["id"], work_folder=str(tmp_path / "work")
        )
        for _ in range(200):
            got = await call(c, "get_agent", run_id=run["id"])
            if got["status"] not in ("queued", "running"):
                break
            await anyio.sleep(0.1)
    assert got["status"] == "succeeded" and "last: from stdio" in got["result"]


async def test_concurrent_spawns_cannot_overshoot_the_limit(tmp_path: Path) -> None:
    from mainloop_mcp.errors import Conflict

    async with open_hub(agent_settings(tmp_path, agent_concurrency=1, agent_queue_limit=2)) as hub:
        parent = await project(hub)
        outcomes: list[str] = []

        async def spawn(i: int) -> None:
            try:
                await hub.agents.spawn(f"SLEEP=30 #{i}", parent, str(tmp_path / "work"), None)
                outcomes.append("ok")
            except Conflict:
                outcomes.append("refused")

        async with anyio.create_task_group() as tg:
            for i in range(8):
                tg.start_soon(spawn, i)
        assert sorted(outcomes) == ["ok"] * 3 + ["refused"] * 5
        for run in (await hub.agents.list(None, None, 50, None)).runs:
            await hub.agents.cancel(run.id)
