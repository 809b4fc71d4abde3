"""Helpers for the agent tests: settings that point the real claude-code-mcp at tests/fake_claude/claude,
and readers for the records the stand-in CLI writes (start/end times, pids)."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

from mainloop_mcp.config import AgentBackend, Settings

FAKE_CLAUDE = Path(__file__).resolve().parent / "fake_claude" / "claude"


def agent_settings(tmp_path: Path, **overrides: Any) -> Settings:
    work = tmp_path / "work"
    record = tmp_path / "claude-records"
    work.mkdir(exist_ok=True)
    record.mkdir(exist_ok=True)
    fields: dict[str, Any] = {
        "store": f"sqlite:///{tmp_path / 'mainloop.db'}",
        "agent_work_roots": [work],
        "claude_cli": str(FAKE_CLAUDE),
        "agent_concurrency": 3,
        "agent_queue_limit": 100,
        "agent_timeout_seconds": 60,
        "agent_backend": AgentBackend(env={"FAKE_CLAUDE_DIR": str(record)}),
    }
    fields.update(overrides)
    return Settings(**fields)


def records(tmp_path: Path) -> Path:
    return tmp_path / "claude-records"


def started_pids(tmp_path: Path) -> list[int]:
    return sorted(int(p.stem) for p in records(tmp_path).glob("*.start"))


def intervals(tmp_path: Path) -> list[tuple[float, float]]:
    spans = []
    for start in records(tmp_path).glob("*.start"):
        end = start.with_suffix(".end")
        spans.append((float(start.read_text().split()[0]), float(end.read_text().split()[0])))
    return spans


def max_overlap(spans: list[tuple[float, float]]) -> int:
    events = sorted([(s, 1) for s, _ in spans] + [(e, -1) for _, e in spans])
    live = peak = 0
    for _, delta in events:
        live += delta
        peak = max(peak, live)
    return peak


def alive(pid: int) -> bool:
    """True while the process exists and is not a zombie (nobody may reap orphans in a container)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return False
    return state != "Z"


def wait_for(predicate: Any, timeout: float = 20.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def parent_pid(pid: int) -> int:
    return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])


def kill_tree_of(pid: int) -> None:
    """Clean-up after a simulated crash: kill the orphaned server's process group (its pid is the pgid)."""
    try:
        os.killpg(pid, 9)
    except ProcessLookupError:
        pass
