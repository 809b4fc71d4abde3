"""Domain errors, raised low and turned into tool errors / HTTP 4xx once, at the edge."""

from __future__ import annotations


class MainloopError(Exception):
    """Base of every error a person should read; the message says what was wrong and what to do."""


class NotFound(MainloopError):
    """A thread, message or other record does not exist."""


class InvalidInput(MainloopError):
    """The request breaks a rule (wrong parent type, oversized content, bad cursor...)."""


class Conflict(MainloopError):
    """The request contradicts stored state (e.g. an idempotency key reused for other content)."""


class AgentFailed(MainloopError):
    """The agent backend ran but did not produce an answer (CLI failed, server died, protocol error)."""


class StoreFailure(MainloopError):
    """The store could not do it: disk full, read-only or corrupt file, unreachable service. Nothing was written."""


class TooLarge(MainloopError):
    """The answer would be larger than an MCP client accepts; ask for less."""
