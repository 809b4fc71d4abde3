"""Live updates over MCP: the change feed fanned out to every session, in both protocol eras."""
