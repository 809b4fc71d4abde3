"""Agent backends from config: which MCP server to launch, which tool to call, how to fill its arguments.

claude-code-mcp is the default; any stdio MCP server whose tool runs a prompt (e.g. `claude mcp serve`
wrappers, Codex) can be configured without code.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

from mcp import StdioServerParameters

from mainloop_mcp.config import AgentBackend, Settings
from mainloop_mcp.errors import InvalidInput


@dataclass(frozen=True)
class Backend:
    """A launchable backend: server parameters plus the tool call shape."""

    name: str
    server: StdioServerParameters
    tool: str
    arguments: dict[str, str]
    max_prompt_bytes: int

    def tool_arguments(self, prompt: str, work_folder: Path) -> dict[str, str]:
        values = {"prompt": prompt, "work_folder": str(work_folder)}
        try:
            return {key: template.format_map(values) for key, template in self.arguments.items()}
        except (KeyError, ValueError) as exc:
            raise InvalidInput(
                f"agent_backend.arguments {self.arguments!r} has a bad template ({exc}); "
                "only {prompt} and {work_folder} may appear"
            ) from exc


def resolve_cli(cli: str) -> str:
    """claude-code-mcp wants CLAUDE_CLI_NAME absolute (a bare name loses to ~/.claude/local/claude)."""
    if Path(cli).is_absolute():
        return cli
    found = shutil.which(cli)
    if found is None:
        raise InvalidInput(f"claude_cli {cli!r} is not on PATH; set MAINLOOP_CLAUDE_CLI to the CLI's absolute path")
    return str(Path(found).resolve())


def resolve_backend(settings: Settings) -> Backend:
    """Turn settings into a Backend, filling the claude-code-mcp defaults when no command is configured."""
    config: AgentBackend = settings.agent_backend
    env = dict(config.env)
    if config.command is None:
        server_js = settings.claude_code_mcp
        if not server_js.is_file():
            raise InvalidInput(
                f"claude-code-mcp is not installed at {server_js}; run scripts/setup (it installs the pinned npm "
                "package into node_modules) or set MAINLOOP_CLAUDE_CODE_MCP to its dist/server.js"
            )
        node = shutil.which("node")
        if node is None:
            raise InvalidInput("node is not on PATH; claude-code-mcp needs Node.js 20 or later")
        env.setdefault("CLAUDE_CLI_NAME", resolve_cli(settings.claude_cli))
        command = [node, str(server_js)]
    else:
        command = list(config.command)
    return Backend(
        name=config.name,
        server=StdioServerParameters(command=command[0], args=command[1:], env=env),
        tool=config.tool,
        arguments=dict(config.arguments),
        max_prompt_bytes=config.max_prompt_bytes,
    )


def check_work_folder(folder: str, roots: list[Path]) -> Path:
    """The real path of `folder` if it exists and lies inside an allowed root; symlinks are resolved first.

    Refusals never name the resolved path (where `~` or a symlink leads): that is the server's business."""
    shown = folder if len(folder) <= 200 else f"{folder[:120]}...({len(folder):,} characters)"
    if "\0" in folder:
        raise InvalidInput(f"work_folder {shown!r} contains a NUL character; give a plain absolute path")
    try:
        path = Path(folder).expanduser()
    except RuntimeError:  # ~user of an unknown user
        raise InvalidInput(f"work_folder {shown!r} names an unknown home folder; give an absolute path") from None
    if not path.is_absolute():
        raise InvalidInput(f"work_folder {shown!r} must be an absolute path")
    try:
        real = path.resolve(strict=True)
        is_folder = real.is_dir()
    except OSError as exc:  # missing, name too long, symlink loop, no permission
        reason = "does not exist" if isinstance(exc, FileNotFoundError) else f"can't be used ({exc.strerror})"
        raise InvalidInput(f"work_folder {shown!r} {reason}; give an existing folder inside the work roots") from None
    if not is_folder:
        raise InvalidInput(f"work_folder {shown!r} is not a folder; give an existing folder inside the work roots")
    for root in roots:
        root_real = root.expanduser().resolve()
        if real == root_real or real.is_relative_to(root_real):
            return real
    allowed = ", ".join(str(r) for r in roots)
    raise InvalidInput(
        f"work_folder {shown!r} is outside the allowed agent work roots ({allowed}); "
        "use a folder inside one of them or add a root to agent_work_roots"
    )
