"""MCP resources and resource templates."""
