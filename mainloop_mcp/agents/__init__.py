"""Sub-agents: the MCP client to the agent backend, local and Kubernetes runners, and the run service."""
