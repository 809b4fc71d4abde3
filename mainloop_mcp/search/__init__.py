"""Cross-thread queries: BM25 full-text search over messages and summaries, and ask_status."""
