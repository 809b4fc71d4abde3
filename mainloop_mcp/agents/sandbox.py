"""The bubblewrap sandbox for local agents: the backend server (and the CLI it starts) sees the whole
filesystem read-only, its work folder read-write, a private empty /tmp, fresh /dev and /proc, and its
own pid namespace; it dies with the hub. The network is left as is (the CLI needs its API).

Used when `agent_sandbox = "bubblewrap"` (Debian/Ubuntu package `bubblewrap`, needs user namespaces
or root)."""

from __future__ import annotations

import dataclasses
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from mainloop_mcp.agents.backends import Backend
from mainloop_mcp.errors import InvalidInput


def bwrap_path() -> str:
    """The bwrap binary, checked to run here once (a missing binary or blocked user namespaces say so)."""
    found = shutil.which("bwrap")
    if found is None:
        raise InvalidInput(
            "agent_sandbox is 'bubblewrap' but bwrap is not on PATH; install the 'bubblewrap' package "
            "or set agent_sandbox to 'none'"
        )
    probe = subprocess.run(
        [found, "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc", "--unshare-pid", "true"],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    if probe.returncode != 0:
        reason = probe.stderr.strip().splitlines()[-1] if probe.stderr.strip() else f"exit {probe.returncode}"
        raise InvalidInput(f"agent_sandbox is 'bubblewrap' but bwrap cannot run here ({reason}); set it to 'none'")
    return found


def sandbox_command(bwrap: str, work_folder: Path, writable: list[Path], command: list[str]) -> list[str]:
    """`command` wrapped in bwrap: read-write only in `work_folder` and `writable`, the rest read-only."""
    binds: list[str] = []
    for folder in [work_folder, *writable]:
        binds += ["--bind", str(folder), str(folder)]
    return [
        bwrap,
        "--ro-bind", "/", "/",
        "--dev", "/dev",
        "--proc", "/proc",
        "--tmpfs", "/tmp",
        *binds,
        "--chdir", str(work_folder),
        "--unshare-pid",
        "--die-with-parent",
        "--",
        *command,
    ]  # fmt: skip


@dataclass(frozen=True)
class Sandbox:
    """bwrap plus the folders every sandboxed agent may write besides its own work folder."""

    bwrap: str
    writable: list[Path]

    def wrap(self, backend: Backend, work_folder: Path) -> Backend:
        """The same backend, its server started inside the sandbox for `work_folder`."""
        server = backend.server
        wrapped = sandbox_command(self.bwrap, work_folder, self.writable, [server.command, *server.args])
        update = {"command": wrapped[0], "args": wrapped[1:]}
        return dataclasses.replace(backend, server=server.model_copy(update=update))
