"""BigQuery connection settings (from the store URL) and the table layout.

Kept apart from the store so the migrate command and the benchmark can read the same facts.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import parse_qsl, urlsplit

from mainloop_mcp.errors import InvalidInput
from mainloop_mcp.store.records import RECORDS

if TYPE_CHECKING:
    from google.cloud import bigquery

URL_OPTIONS = {
    "location": "dataset location, e.g. US or EU (checked against an existing dataset; used to create a new one)",
    "endpoint": "API endpoint of a local emulator, e.g. http://127.0.0.1:9050 (anonymous credentials)",
    "timeout": "seconds each BigQuery call may take, retries included (default 60)",
    "search": "function (default: SEARCH() and search indexes) or like (words matched in plain SQL; emulator)",
    "vectors": "search (default: VECTOR_SEARCH) or exact (a cosine in plain SQL; emulator), for semantic search",
    "changes": "seconds between polls for changes other clients made (default 10; 0 turns live updates off)",
}
SEARCH_MODES = ("function", "like")
VECTOR_MODES = ("search", "exact")
DEFAULT_LOCATION = "US"
DEFAULT_TIMEOUT = 60.0
DEFAULT_CHANGES_EVERY = 10.0


@dataclass(frozen=True)
class BigQueryTarget:
    """Where the store lives: parsed from `bigquery://PROJECT/DATASET?location=..&endpoint=..&timeout=..`."""

    project: str
    dataset: str
    location: str | None = None
    endpoint: str | None = None
    timeout: float = DEFAULT_TIMEOUT
    search: str = "function"
    vectors: str = "search"
    changes_every: float = DEFAULT_CHANGES_EVERY

    def table(self, name: str) -> str:
        return f"`{self.project}.{self.dataset}.{name}`"

    @classmethod
    def parse(cls, url: str) -> BigQueryTarget:
        parts = urlsplit(url)
        project, dataset = parts.netloc, parts.path.strip("/")
        if parts.scheme != "bigquery" or not project or not dataset or "/" in dataset:
            raise InvalidInput(
                f"store URL {url!r} must look like bigquery://PROJECT/DATASET (for example "
                "bigquery://my-project/mainloop); the dataset part is required"
            )
        if not dataset.replace("_", "a").isalnum():
            raise InvalidInput(f"dataset name {dataset!r} may contain only letters, digits and underscores")
        options = dict(parse_qsl(parts.query, keep_blank_values=True))
        unknown = sorted(set(options) - set(URL_OPTIONS))
        if unknown:
            known = "; ".join(f"{k}: {v}" for k, v in URL_OPTIONS.items())
            raise InvalidInput(
                f"unknown option(s) {', '.join(unknown)} in store URL {url!r}; known options are {known}"
            )
        try:
            timeout = float(options.get("timeout", DEFAULT_TIMEOUT))
        except ValueError:
            raise InvalidInput(f"timeout={options['timeout']!r} in the store URL must be a number of seconds") from None
        if timeout <= 0:
            raise InvalidInput(f"timeout={options['timeout']!r} in the store URL must be positive")
        search = options.get("search", "function")
        if search not in SEARCH_MODES:
            raise InvalidInput(f"search={search!r} in the store URL must be one of {', '.join(SEARCH_MODES)}")
        vectors = options.get("vectors", "search")
        if vectors not in VECTOR_MODES:
            raise InvalidInput(f"vectors={vectors!r} in the store URL must be one of {', '.join(VECTOR_MODES)}")
        try:
            changes_every = float(options.get("changes", DEFAULT_CHANGES_EVERY))
        except ValueError:
            raise InvalidInput(f"changes={options['changes']!r} in the store URL must be a number of seconds") from None
        if changes_every < 0:
            raise InvalidInput(f"changes={options['changes']!r} in the store URL must be 0 (off) or more seconds")
        return cls(
            changes_every=changes_every,
            search=search,
            vectors=vectors,
            project=project,
            dataset=dataset,
            location=options.get("location") or None,
            endpoint=options.get("endpoint") or None,
            timeout=timeout,
        )


BQ_TYPES = {"text": "STRING", "int": "INT64", "time": "TIMESTAMP", "json": "JSON", "bool": "BOOL"}
# (day-partition column, clustering columns) of each record's table
LAYOUT = {
    "threads": (None, ["thread_type", "id"]),
    "messages": ("created_at", ["thread_id"]),
    "summaries": ("period_start", ["thread_id", "granularity"]),
    "agent_runs": (None, ["status", "parent_thread_id"]),
}


def table_specs() -> dict[str, tuple[list[bigquery.SchemaField], str | None, list[str]]]:
    """name -> (schema, day-partition column, clustering columns).

    The four record tables come from their specs (store/records.py). Columns added there later are
    added to an existing table at start-up (as NULLABLE, the only kind BigQuery can add), so a dataset
    made by an older mainloop keeps working.
    """
    from google.cloud.bigquery import SchemaField as F

    specs: dict[str, tuple[list[F], str | None, list[str]]] = {
        r.table: (
            [F(c.name, BQ_TYPES[c.kind], mode="REQUIRED" if c.required else "NULLABLE") for c in r.columns],
            *LAYOUT[r.table],
        )
        for r in RECORDS
    }
    specs["import_sources"] = (  # where each imported source landed and how far it was read (imports)
        [
            F("source_key", "STRING", mode="REQUIRED"),
            F("thread_id", "STRING", mode="REQUIRED"),
            F("position", "INT64", mode="REQUIRED"),
        ],
        None,
        ["source_key"],
    )
    specs["message_vectors"] = (  # semantic search (vectors.py); empty while it is off
        [
            F("message_id", "STRING", mode="REQUIRED"),
            F("thread_id", "STRING", mode="REQUIRED"),
            F("created_at", "TIMESTAMP", mode="REQUIRED"),  # the message's, for the time filters
            F("model", "STRING", mode="REQUIRED"),
            F("vector", "FLOAT64", mode="REPEATED"),
        ],
        "created_at",
        ["model", "thread_id"],
    )
    return specs
