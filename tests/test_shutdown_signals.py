"""SIGTERM / SIGINT on a real `mainloop serve` or `mainloop stdio` with an agent running: the hub kills the
run's whole process tree, records the run interrupted and exits 0 (Kubernetes stops pods with SIGTERM)."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import sys
from pathlib import Path

import anyio
import pytest
from mcp import Client

from tests.agent_support import FAKE_CLAUDE, alive, records, started_pids, wait_for
from tests.conftest import sqlite_url, start_hub, stop_hub

pytestmark = pytest.mark.anyio


def agent_env(tmp_path: Path) -> dict[str, str]:
    (tmp_path / "work").mkdir(exist_ok=True)
    records(tmp_path).mkdir(exist_ok=True)
    return {
        "MAINLOOP_AGENT_WORK_ROOTS": json.dumps([str(tmp_path / "work")]),
        "MAINLOOP_CLAUDE_CLI": str(FAKE_CLAUDE),
        "MAINLOOP_AGENT_BACKEND": json.dumps({"env": {"FAKE_CLAUDE_DIR": str(records(tmp_path))}}),
        "MAINLOOP_LOG_LEVEL": "WARNING",
    }


async def spawn(client: Client, tmp_path: Path) -> tuple[str, int]:
    """A run that sleeps and leaves a setsid grandchild: (run id, pid of the hub that owns it)."""
    project = await client.call_tool("create_thread", {"title": "P", "thread_type": "project"})
    assert project.structured_content is not None
    run = await client.call_tool(
        "spawn_agent",
        {
            "prompt": "ORPHAN=120 SLEEP=120",
            "parent_thread_id": project.structured_content["id"],
            "work_folder": str(tmp_path / "work"),
        },
    )
    assert run.structured_content is not None, run.content
    return str(run.structured_content["id"]), int(run.structured_content["owner"].split("/")[1])


def run_status(tmp_path: Path, run_id: str) -> tuple[str, str]:
    with sqlite3.connect(tmp_path / "mainloop.db") as db:
        status, error = db.execute("SELECT status, error FROM agent_runs WHERE id = ?", (run_id,)).fetchone()
    db.close()
    return status, error


def processes_of_the_run(tmp_path: Path) -> list[int]:
    wait_for(lambda: list(records(tmp_path).glob("*.orphan")), what="the stand-in CLI and its grandchild")
    cli = started_pids(tmp_path)[0]
    orphan = int(next(records(tmp_path).glob("*.orphan")).read_text())
    assert alive(cli) and alive(orphan)
    return [cli, orphan]


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
async def test_serve_stops_runs_marks_them_interrupted_and_exits(tmp_path: Path, signum: int) -> None:
    served = start_hub(tmp_path, env=agent_env(tmp_path))
    try:
        async with Client(served.mcp_url) as client:
            run_id, _ = await spawn(client, tmp_path)
            pids = processes_of_the_run(tmp_path)
            served.proc.send_signal(signum)
            code = await anyio.to_thread.run_sync(lambda: served.proc.wait(timeout=15))
    finally:
        stop_hub(served)
    assert code == 0, served.log.read_text()
    for pid in pids:
        wait_for(lambda: not alive(pid), 5, f"process {pid} of the run to end")  # noqa: B023
    status, error = run_status(tmp_path, run_id)
    assert status == "interrupted" and "shut down" in error


async def test_stdio_stops_runs_marks_them_interrupted_and_exits(tmp_path: Path) -> None:
    from mcp import StdioServerParameters

    env = {"MAINLOOP_STORE": sqlite_url(tmp_path), "MAINLOOP_CONFIG": str(tmp_path / "absent.toml")}
    params = StdioServerParameters(
        command=str(Path(sys.executable).parent / "mainloop"), args=["stdio"], env={**env, **agent_env(tmp_path)}
    )
    async with Client(params, mode="legacy") as client:
        run_id, hub_pid = await spawn(client, tmp_path)
        pids = processes_of_the_run(tmp_path)
        os.kill(hub_pid, signal.SIGTERM)
        await anyio.to_thread.run_sync(lambda: wait_for(lambda: not alive(hub_pid), 10, "the stdio hub to exit"))
    for pid in pids:
        wait_for(lambda: not alive(pid), 5, f"process {pid} of the run to end")  # noqa: B023
    status, error = run_status(tmp_path, run_id)
    assert status == "interrupted" and "shut down" in error
