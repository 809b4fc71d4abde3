"""The BigQuery backend: `store.py` holds the store class; the other modules its parts."""
