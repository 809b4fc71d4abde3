"""The change feed: committed store changes, fanned out in sequence order."""
