"""A second agent backend for tests: any stdio MCP server with a prompt-running tool can stand in for
claude-code-mcp. Its one tool answers with what it was asked and where."""

from mcp.server import MCPServer

server = MCPServer("echo-backend")


@server.tool()
def run_task(task: str, folder: str) -> str:
    return f"echo-backend did {task!r} in {folder}"


if __name__ == "__main__":
    server.run("stdio")
