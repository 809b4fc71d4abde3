"""A client nobody on the team wrote: the MCP Inspector CLI (npm, pinned in package.json) over stdio."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from mainloop_mcp.model import ThreadFilter, ThreadType
from mainloop_mcp.store import open_store
from tests.conftest import ROOT, VENV_BIN, sqlite_url

INSPECTOR = ROOT / "node_modules" / ".bin" / "mcp-inspector"


def inspect(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    command = [
        str(INSPECTOR),
        "--cli",
        "-e",
        f"MAINLOOP_STORE={sqlite_url(tmp_path)}",
        "-e",
        f"MAINLOOP_CONFIG={tmp_path / 'absent.toml'}",
        str(VENV_BIN / "mainloop"),
        "stdio",
        *args,
        "--format",
        "json",
        "-q",
    ]
    return subprocess.run(command, capture_output=True, text=True, timeout=120)


def test_inspector_lists_tools(tmp_path: Path) -> None:
    done = inspect(tmp_path, "--method", "tools/list")
    assert done.returncode == 0, done.stderr
    tools = {t["name"]: t for t in json.loads(done.stdout)["result"]["tools"]}
    assert {"create_thread", "post_message", "read_messages"} <= set(tools)
    assert "thread_type" in tools["create_thread"]["inputSchema"]["properties"]


@pytest.mark.anyio
async def test_inspector_creates_a_thread_that_is_stored(tmp_path: Path) -> None:
    args = json.dumps({"title": "From the inspector", "thread_type": "project"})
    done = inspect(tmp_path, "--method", "tools/call", "--tool-name", "create_thread", "--tool-args-json", args)
    assert done.returncode == 0, done.stderr
    created = json.loads(done.stdout)["result"]["structuredContent"]
    store = await open_store(sqlite_url(tmp_path))
    try:
        page = await store.list_threads(ThreadFilter(thread_type=ThreadType.PROJECT))
    finally:
        await store.close()
    assert [(t.id, t.title) for t in page.threads] == [(created["id"], "From the inspector")]


def test_inspector_sees_bad_input_as_a_tool_error(tmp_path: Path) -> None:
    args = json.dumps({"title": "orphan", "thread_type": "task"})
    done = inspect(tmp_path, "--method", "tools/call", "--tool-name", "create_thread", "--tool-args-json", args)
    assert done.returncode == 5, (done.stdout, done.stderr)
