"""Message vectors in the BigQuery dataset (`message_vectors`), searched where they are.

Nearest messages come from `VECTOR_SEARCH` (exact without a vector index; BigQuery builds one only
past its size threshold) or, with `?vectors=exact` in the store URL, from a cosine written in plain
SQL: the emulator has neither VECTOR_SEARCH nor ML.DISTANCE. Vectors are unit length, so the cosine
is the dot product. A vector is deleted when its message's text changes (edits.py).

The background indexer's pending query reads only the recent day partitions once a first full pass
has found nothing left (so a poll costs two partitions, not the table); `mainloop embed` does the
full pass for older history (imports, migrations).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from mainloop_mcp.model import Clock
from mainloop_mcp.store.bigquery.client import BigQueryClient, Param, array, scalar
from mainloop_mcp.store.timestamps import from_micros, to_micros
from mainloop_mcp.store.vectors import NearMessage

if TYPE_CHECKING:
    from mainloop_mcp.store.vectors import Floats

LOOKBACK = timedelta(days=1)  # how far back the indexer looks once it has caught up


class BigQueryVectors:
    """Vectors of one model for one BigQuery dataset's messages.

    A key is (message id, the text embedded): `put` stores a vector only if the message still says
    that, so a redaction that lands between reading and storing never leaves the old text's vector."""

    def __init__(self, bq: BigQueryClient, clock: Clock, model: str) -> None:
        self.bq = bq
        self.model = model
        self._clock = clock
        self._vectors = bq.target.table("message_vectors")
        self._messages = bq.target.table("messages")
        self._since: datetime | None = None  # None: look at every message

    async def pending(self, limit: int) -> list[tuple[tuple[str, str], str]]:
        started = self._clock()
        window = "" if self._since is None else " AND m.created_at >= TIMESTAMP_MICROS(@since)"
        params: list[Param] = [scalar("model", "STRING", self.model), scalar("limit", "INT64", limit)]
        if self._since is not None:
            params.append(scalar("since", "INT64", to_micros(self._since)))
        rows = await self.bq.rows(
            f"SELECT m.id, m.content FROM {self._messages} m LEFT JOIN (SELECT message_id FROM {self._vectors}"
            f" WHERE model = @model) v ON v.message_id = m.id WHERE v.message_id IS NULL AND m.role != 'summary'"
            f"{window} ORDER BY m.created_at, m.seq LIMIT @limit",
            params,
        )
        if len(rows) < limit:
            self._since = started - LOOKBACK
        return [((str(r["id"]), str(r["content"])), str(r["content"])) for r in rows]

    async def count(self) -> tuple[int, int]:
        rows = await self.bq.rows(
            f"SELECT (SELECT COUNT(DISTINCT message_id) FROM {self._vectors} WHERE model = @model) AS done,"
            f" (SELECT COUNT(*) FROM {self._messages} WHERE role != 'summary') AS total",
            [scalar("model", "STRING", self.model)],
        )
        return int(rows[0]["done"]), int(rows[0]["total"])

    async def put(self, keys: list[tuple[str, str]], vectors: Floats) -> None:
        if not keys:
            return
        from google.cloud.bigquery import ArrayQueryParameter, ScalarQueryParameter, StructQueryParameter

        rows = [
            StructQueryParameter(
                None,
                ScalarQueryParameter("id", "STRING", key[0]),
                ScalarQueryParameter("content", "STRING", key[1]),
                ArrayQueryParameter("vector", "FLOAT64", [float(x) for x in vector]),
            )
            for key, vector in zip(keys, vectors, strict=True)
        ]
        # One statement: vectors of messages that still exist and still say what was embedded, none
        # twice (a rerun, or a second hub's indexer).
        await self.bq.dml(
            f"INSERT INTO {self._vectors} (message_id, thread_id, created_at, model, vector)"
            f" SELECT m.id, m.thread_id, m.created_at, @model, r.vector FROM UNNEST(@rows) r"
            f" JOIN {self._messages} m ON m.id = r.id AND m.content = r.content"
            f" WHERE NOT EXISTS (SELECT 1 FROM {self._vectors} v WHERE v.message_id = r.id AND v.model = @model)",
            [scalar("model", "STRING", self.model), ArrayQueryParameter("rows", "STRUCT", rows)],
        )

    async def nearest(
        self,
        query: Floats,
        *,
        thread_ids: list[str] | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        limit: int = 20,
    ) -> list[NearMessage]:
        where = ["model = @model"]
        params: list[Param] = [
            scalar("model", "STRING", self.model),
            array("q", "FLOAT64", [float(x) for x in query]),
            scalar("k", "INT64", limit),
            scalar("dim", "INT64", len(query)),
        ]
        if thread_ids is not None:
            where.append("thread_id IN UNNEST(@thread_ids)")
            params.append(array("thread_ids", "STRING", thread_ids))
        if since is not None:
            where.append("created_at >= TIMESTAMP_MICROS(@since)")
            params.append(scalar("since", "INT64", to_micros(since)))
        if until is not None:
            where.append("created_at < TIMESTAMP_MICROS(@until)")
            params.append(scalar("until", "INT64", to_micros(until)))
        base = f"SELECT message_id, vector FROM {self._vectors} WHERE {' AND '.join(where)}"
        rows = await self.bq.rows(
            f"WITH near AS ({self._nearest_sql(base)}) SELECT m.id, m.thread_id, UNIX_MICROS(m.created_at) AS at,"
            f" m.content, near.score FROM near JOIN {self._messages} m ON m.id = near.message_id"
            " ORDER BY near.score DESC, m.id",
            params,
        )
        first: dict[str, dict[str, Any]] = {}  # a message once, though racing indexers stored two copies
        for r in rows:
            first.setdefault(r["id"], r)
        return [_near(r) for r in first.values()]

    def _nearest_sql(self, base: str) -> str:
        """(message_id, score) of the `@k` rows of `base` nearest `@q`."""
        if self.bq.target.vectors == "exact":
            return (
                # divided by the number of copies: two indexers racing can each store a message's vector
                f"SELECT b.message_id, SUM(x * y) * @dim / COUNT(*) AS score FROM ({base}) b,"
                " UNNEST(b.vector) x WITH OFFSET i, UNNEST(@q) y WITH OFFSET j WHERE i = j"
                " GROUP BY b.message_id ORDER BY score DESC LIMIT @k"
            )
        return (
            f"SELECT base.message_id, 1 - distance AS score FROM VECTOR_SEARCH(({base}), 'vector',"
            " (SELECT @q AS vector), 'vector', top_k => @k, distance_type => 'COSINE')"
        )


def _near(r: dict[str, Any]) -> NearMessage:
    return NearMessage(
        id=r["id"], thread_id=r["thread_id"], created_at=from_micros(r["at"]), content=r["content"], score=r["score"]
    )
