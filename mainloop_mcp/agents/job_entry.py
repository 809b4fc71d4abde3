"""`mainloop agent-run`: what a Kubernetes Job's container runs. One prompt, one result line on stdout."""

from __future__ import annotations

import sys
from pathlib import Path

import anyio

from mainloop_mcp.agents.backends import resolve_backend
from mainloop_mcp.agents.claude_code import ask_once
from mainloop_mcp.agents.k8s import result_line
from mainloop_mcp.config import Settings
from mainloop_mcp.errors import MainloopError


async def agent_run(settings: Settings, prompt_file: Path, work_folder: Path) -> int:
    """Run the prompt on the configured backend; print the marker line the runner parses from the pod log."""
    try:
        prompt = await anyio.Path(prompt_file).read_text(encoding="utf-8")
        folder = Path(await anyio.Path(work_folder).resolve())
        output = await ask_once(resolve_backend(settings), prompt, folder)
    except (MainloopError, OSError) as exc:
        print(result_line(False, str(exc)), flush=True)
        return 1
    sys.stdout.write(result_line(True, output) + "\n")
    sys.stdout.flush()
    return 0
