"""Message vectors beside the text, in the same SQLite file, and an exact nearest-neighbour scan.

A table of its own (`message_vectors`, made on first use; triggers drop a vector when its message is
edited or deleted, so it is embedded again). Vectors are kept as float16 blobs (768 bytes at 384-d);
the scan holds them in memory as one float32 matrix (1.5 KB a message: float16 in memory would halve
that, but numpy converts float16 at ~35M values/s, which made a 100k scan take seconds), loads only
rows added since the last query, and scores them all at once: exact cosine, no approximate index.
"""

from __future__ import annotations

import sqlite3
import threading
from dataclasses import dataclass, field
from datetime import datetime

import numpy as np
import numpy.typing as npt

from mainloop_mcp.store.sqlite import SqliteStore
from mainloop_mcp.store.timestamps import maybe_to_micros

SCHEMA = """
CREATE TABLE IF NOT EXISTS message_vectors (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    seq INTEGER NOT NULL UNIQUE REFERENCES messages(seq) ON DELETE CASCADE,
    model TEXT NOT NULL,
    vector BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS message_vectors_model ON message_vectors(model, id);
CREATE TRIGGER IF NOT EXISTS message_vectors_stale AFTER UPDATE OF content ON messages BEGIN
    DELETE FROM message_vectors WHERE seq = old.seq;
END;
"""

Floats = npt.NDArray[np.float32]


@dataclass
class _Matrix:
    """What the scan holds: one row per embedded message, with what the filters need."""

    last_id: int = 0
    seqs: list[int] = field(default_factory=list)
    row_of: dict[int, int] = field(default_factory=dict)
    vectors: Floats = field(default_factory=lambda: np.zeros((0, 0), np.float32))
    threads: npt.NDArray[np.int32] = field(default_factory=lambda: np.zeros(0, np.int32))
    times: npt.NDArray[np.int64] = field(default_factory=lambda: np.zeros(0, np.int64))
    thread_codes: dict[str, int] = field(default_factory=dict)


class SqliteVectors:
    """Vectors of one model for one SqliteStore's messages."""

    def __init__(self, store: SqliteStore, model: str, dim: int) -> None:
        self.store = store
        self.model = model
        self.dim = dim
        self._matrix = _Matrix(vectors=np.zeros((0, dim), np.float32))
        self._lock = threading.Lock()
        store.connection.executescript(SCHEMA)

    async def pending(self, limit: int) -> list[tuple[int, str]]:
        """Messages with no vector of this model yet (summaries are searched by words only), oldest first."""

        def query(c: sqlite3.Connection) -> list[tuple[int, str]]:
            rows = c.execute(
                "SELECT m.seq, m.content FROM messages m LEFT JOIN message_vectors v ON v.seq = m.seq "
                "WHERE (v.seq IS NULL OR v.model != ?) AND m.role != 'summary' ORDER BY m.seq LIMIT ?",
                (self.model, limit),
            ).fetchall()
            return [(int(r[0]), str(r[1])) for r in rows]

        return await self.store.run(query)

    async def count(self) -> tuple[int, int]:
        """(messages with a vector of this model, messages in all), summaries left out."""

        def query(c: sqlite3.Connection) -> tuple[int, int]:
            done = c.execute("SELECT count(*) FROM message_vectors WHERE model = ?", (self.model,)).fetchone()[0]
            total = c.execute("SELECT count(*) FROM messages WHERE role != 'summary'").fetchone()[0]
            return int(done), int(total)

        return await self.store.run(query)

    async def put(self, seqs: list[int], vectors: Floats) -> None:
        """Store vectors; a message deleted or edited since it was read is skipped (it will come back)."""
        blobs = [(s, self.model, v.astype(np.float16).tobytes()) for s, v in zip(seqs, vectors, strict=True)]

        def write(c: sqlite3.Connection) -> None:
            c.executemany(
                "INSERT OR REPLACE INTO message_vectors(seq, model, vector) "
                "SELECT ?, ?, ? WHERE EXISTS (SELECT 1 FROM messages WHERE seq = ?1)",
                blobs,
            )

        await self.store.run(write)

    async def nearest(
        self,
        query: Floats,
        *,
        thread_ids: list[str] | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        limit: int = 20,
    ) -> list[tuple[int, float]]:
        """(message seq, cosine) best first, exact, over the messages that pass the filters."""
        m = await self.store.run(self._refresh)
        if not m.seqs:
            return []
        keep = np.ones(len(m.seqs), dtype=bool)
        if thread_ids is not None:
            codes = [m.thread_codes[t] for t in thread_ids if t in m.thread_codes]
            keep &= np.isin(m.threads, codes)
        if (lo := maybe_to_micros(since)) is not None:
            keep &= m.times >= lo
        if (hi := maybe_to_micros(until)) is not None:
            keep &= m.times < hi
        scores = m.vectors @ query.astype(np.float32)
        scores[~keep] = -np.inf
        count = min(limit, int(keep.sum()))
        if count == 0:
            return []
        top = np.argpartition(-scores, count - 1)[:count]
        top = top[np.argsort(-scores[top])]
        return [(m.seqs[i], float(scores[i])) for i in top]

    def _refresh(self, c: sqlite3.Connection) -> _Matrix:
        """Bring the in-memory matrix up to date: new rows appended, a vanished one forces a reload."""
        with self._lock:
            m = self._matrix
            (count,) = c.execute("SELECT count(*) FROM message_vectors WHERE model = ?", (self.model,)).fetchone()
            if count < len(m.row_of):
                m = self._matrix = _Matrix(vectors=np.zeros((0, self.dim), np.float32))
            rows = c.execute(
                "SELECT v.id, v.seq, v.vector, m.thread_id, m.created_at FROM message_vectors v "
                "JOIN messages m ON m.seq = v.seq WHERE v.model = ? AND v.id > ? ORDER BY v.id",
                (self.model, m.last_id),
            ).fetchall()
            if not rows:
                return m
            packed = np.frombuffer(b"".join(r[2] for r in rows), dtype=np.float16)
            fresh = packed.astype(np.float32).reshape(len(rows), self.dim)
            codes = np.array([m.thread_codes.setdefault(r[3], len(m.thread_codes)) for r in rows], np.int32)
            times = np.array([r[4] for r in rows], np.int64)
            appended: list[int] = []
            for i, r in enumerate(rows):
                seq = int(r[1])
                if seq in m.row_of:  # embedded again after an edit: overwrite in place
                    j = m.row_of[seq]
                    m.vectors[j], m.threads[j], m.times[j] = fresh[i], codes[i], times[i]
                else:
                    m.row_of[seq] = len(m.seqs) + len(appended)
                    appended.append(i)
            m.seqs += [int(rows[i][1]) for i in appended]
            m.vectors = np.concatenate([m.vectors, fresh[appended]])
            m.threads = np.concatenate([m.threads, codes[appended]])
            m.times = np.concatenate([m.times, times[appended]])
            m.last_id = int(rows[-1][0])
            return m
