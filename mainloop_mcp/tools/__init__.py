"""MCP tools, one module per area; each exports TOOLS, a list that server.py registers."""
