"""`mainloop hook` as Claude Code runs it: a process, the documented hook JSON on stdin, a real transcript."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
from pathlib import Path

from tests.conftest import VENV_BIN

SESSION = "7c1e2a90-5b3d-4f7e-9a61-0d2c8e4b1f37"
CWD = "/home/ana/src/garden-planner"
TRANSCRIPT = Path(__file__).parent / "fixtures/import/claude_code/-home-ana-src-garden-planner" / f"{SESSION}.jsonl"


def hook(store: Path, event: dict[str, object]) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "MAINLOOP_STORE": f"sqlite:///{store}"}
    return subprocess.run(
        [str(VENV_BIN / "mainloop"), "hook"],
        input=json.dumps(event),
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def event(name: str, transcript: Path, **extra: object) -> dict[str, object]:
    return {
        "session_id": SESSION,
        "transcript_path": str(transcript),
        "cwd": CWD,
        "permission_mode": "default",
        "hook_event_name": name,
        **extra,
    }


def contents(store: Path) -> list[str]:
    with sqlite3.connect(store) as conn:
        return [c for (c,) in conn.execute("SELECT content FROM messages ORDER BY created_at, seq")]


def test_stop_posts_new_turns_once_and_session_start_gives_the_project_context(tmp_path: Path) -> None:
    store, transcript = tmp_path / "m.db", tmp_path / f"{SESSION}.jsonl"
    lines = TRANSCRIPT.read_bytes().splitlines(keepends=True)
    transcript.write_bytes(b"".join(lines[:9]) + lines[9][:40])  # the first turn, and a line being written
    done = hook(store, event("Stop", transcript, stop_hook_active=False))
    assert (done.returncode, done.stdout) == (0, "")
    first = contents(store)
    assert first[0].startswith("The planting calendar puts tomatoes out on March 20")
    assert first[-1] == "Tools: Grep, Read"

    transcript.write_bytes(b"".join(lines))  # the session went on and ended
    assert hook(store, event("Stop", transcript, stop_hook_active=False)).returncode == 0
    assert hook(store, event("SessionEnd", transcript, reason="prompt_input_exit")).returncode == 0
    after = contents(store)
    assert after[: len(first)] == first and len(after) == len(set(after))  # only the new turns, each once
    assert after[-1].startswith("Done: the month header now reads")

    started = hook(tmp_path / "m.db", event("SessionStart", tmp_path / "new.jsonl", source="startup"))
    output = json.loads(started.stdout)["hookSpecificOutput"]
    assert output["hookEventName"] == "SessionStart"
    assert f"Claude Code project in {CWD}" in output["additionalContext"]
    assert "The planting calendar puts tomatoes out" in output["additionalContext"]  # the latest session, listed


def test_an_unavailable_store_fails_quietly_and_the_next_run_posts_the_turns(tmp_path: Path) -> None:
    blocked = tmp_path / "not-a-file"
    blocked.mkdir()  # a directory where the store file should be: SQLite can't open it
    failed = hook(blocked, event("Stop", TRANSCRIPT))
    assert failed.returncode == 0 and failed.stdout == ""
    assert failed.stderr.startswith("mainloop hook: ") and "next run" in failed.stderr
    assert len(failed.stderr.splitlines()) == 1

    store = tmp_path / "m.db"
    assert hook(store, event("Stop", TRANSCRIPT)).returncode == 0
    assert contents(store)[-1].startswith("Done: the month header now reads")
    assert hook(store, {"hook_event_name": "Stop"}).returncode == 0  # malformed input: quiet too
