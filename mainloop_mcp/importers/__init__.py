"""Importers: Claude Code transcripts, claude.ai and ChatGPT exports, generic JSONL; and the Claude Code hook."""
