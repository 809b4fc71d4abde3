"""The bubblewrap sandbox (agent_sandbox=bubblewrap): a local agent writes inside its work folder and
nowhere else. Real claude-code-mcp and the stand-in CLI, real bwrap; skipped where bwrap cannot run."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from mcp import Client

from mainloop_mcp.agents.backends import resolve_backend
from mainloop_mcp.agents.runner import AgentJob, LocalRunner
from mainloop_mcp.agents.sandbox import Sandbox, bwrap_path
from mainloop_mcp.config import AgentBackend
from mainloop_mcp.errors import InvalidInput
from mainloop_mcp.hub import open_hub
from mainloop_mcp.model import NewThread, RunStatus, ThreadType
from mainloop_mcp.server import create_server
from tests.agent_support import agent_settings

pytestmark = pytest.mark.anyio


def bwrap_problem() -> str | None:
    """Why bwrap can't run here (the same check the hub makes at the first sandboxed run), or None."""
    try:
        bwrap_path()
    except InvalidInput as exc:
        return str(exc)
    return None


PROBLEM = bwrap_problem()


async def run_agent(tmp_path: Path, prompt: str, sandbox: Sandbox | None) -> str:
    settings = agent_settings(tmp_path, agent_backend=AgentBackend())
    runner = LocalRunner(resolve_backend(settings), 1, 60, sandbox)

    async def started(_: str | None) -> None:
        return None

    return await runner.run(AgentJob("run_test", prompt, (tmp_path / "work").resolve()), started)


@pytest.mark.skipif(PROBLEM is not None, reason=PROBLEM or "")
async def test_sandboxed_agent_writes_only_inside_its_work_folder(tmp_path: Path) -> None:
    work, outside, extra = tmp_path / "work", tmp_path / "outside", tmp_path / "extra"
    for folder in (work, outside, extra):
        folder.mkdir(exist_ok=True)
    targets = {"inside": work / "inside.txt", "outside": outside / "escape.txt", "extra": extra / "allowed.txt"}
    on_disk = Path(__file__).parent / f".sandbox-probe-{tmp_path.name}"  # outside /tmp: exists, read-only inside
    prompt = " ".join(f"WRITE={path}" for path in [*targets.values(), on_disk])

    try:
        answer = await run_agent(tmp_path, prompt, Sandbox(shutil.which("bwrap") or "", [extra]))
        assert f"write refused {on_disk}: Read-only file system" in answer
        assert not on_disk.exists()
    finally:
        on_disk.unlink(missing_ok=True)

    assert f"wrote {targets['inside']}" in answer
    assert f"wrote {targets['extra']}" in answer
    # under /tmp the folder is absent (private /tmp), elsewhere read-only: refused either way
    assert f"write refused {targets['outside']}: " in answer
    assert targets["inside"].is_file() and targets["extra"].is_file()
    assert not targets["outside"].exists()


async def test_without_the_sandbox_the_same_agent_writes_outside(tmp_path: Path) -> None:
    """The baseline the sandbox test is measured against: the plain local runner confines nothing."""
    outside = tmp_path / "outside"
    outside.mkdir()
    answer = await run_agent(tmp_path, f"WRITE={outside / 'escape.txt'}", None)
    assert f"wrote {outside / 'escape.txt'}" in answer
    assert (outside / "escape.txt").is_file()


@pytest.mark.skipif(PROBLEM is not None, reason=PROBLEM or "")
async def test_spawn_agent_runs_sandboxed_when_the_setting_says_so(tmp_path: Path) -> None:
    settings = agent_settings(tmp_path, agent_backend=AgentBackend(), agent_sandbox="bubblewrap")
    (tmp_path / "outside").mkdir()
    escape = tmp_path / "outside" / "escape.txt"
    async with open_hub(settings) as hub, Client(create_server(hub), mode="legacy") as client:
        parent = (await hub.store.create_thread(NewThread(thread_type=ThreadType.PROJECT, title="P"))).id
        args = {"prompt": f"WRITE={escape}", "parent_thread_id": parent, "work_folder": str(tmp_path / "work")}
        run = (await client.call_tool("spawn_agent", args)).structured_content
        assert run is not None
        done = await hub.agents.wait(run["id"])
    assert done.status is RunStatus.SUCCEEDED, done.error
    assert f"write refused {escape}" in (done.result or "")
    assert not escape.exists()
