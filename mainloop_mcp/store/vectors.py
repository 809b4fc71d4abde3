"""What semantic search needs from a store: message vectors kept beside the text.

One protocol, two homes: `sqlite.vectors.SqliteVectors` (an in-memory int8 scan over a table in the
same file) and `bigquery.vectors.BigQueryVectors` (a table in the dataset; VECTOR_SEARCH, or an exact
cosine in plain SQL where VECTOR_SEARCH is missing, as on the emulator). A message's vector goes when
its text changes (a redaction), so it is never found by what it used to say.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Protocol, TypeVar

if TYPE_CHECKING:  # numpy comes with the semantic extra
    import numpy as np
    import numpy.typing as npt

    Floats = npt.NDArray[np.float32]

Key = TypeVar("Key")


@dataclass(frozen=True)
class NearMessage:
    """A message found by meaning; `score` is the cosine similarity to the query."""

    id: str
    thread_id: str
    created_at: datetime
    content: str
    score: float


class VectorStore(Protocol[Key]):
    """Vectors of one embedding model for one store's messages (summaries are searched by words only).

    `Key` is whatever names a message cheaply in that store (SQLite's seq, BigQuery's id)."""

    model: str

    async def pending(self, limit: int) -> list[tuple[Key, str]]:
        """Up to `limit` messages with no vector yet, as (key, text), oldest first."""
        ...

    async def count(self) -> tuple[int, int]:
        """(messages with a vector of this model, messages in all)."""
        ...

    async def put(self, keys: list[Key], vectors: Floats) -> None:
        """Store one vector per key; a message deleted or edited meanwhile is skipped."""
        ...

    async def nearest(
        self,
        query: Floats,
        *,
        thread_ids: list[str] | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        limit: int = 20,
    ) -> list[NearMessage]:
        """The messages nearest `query` that pass the filters, best first."""
        ...
