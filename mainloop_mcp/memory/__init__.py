"""The temporal pyramid: calendar periods, summaries, zoom and context assembly under a token budget."""
