"""MCP prompts: ready-made requests a client can put in front of its model."""
