"""mainloop: one MCP hub for threads, memory and sub-agents."""

__version__ = "0.1.0"
