"""Message vectors beside the text, in the same SQLite file, and a nearest-neighbour scan.

A table of its own (`message_vectors`, made on first use; a trigger drops a vector when its message is
edited and queues it to be embedded again). Vectors are kept as float16 blobs (768 bytes at 384-d).
The scan holds them in memory as int8 (each row scaled to its largest component: 388 bytes a message,
where float32 took 1.5 KB) and scores them in chunks converted to float32 (numpy has no fast
int8 or float16 product; float16 conversion alone took 65 ms at 100k). Rows added since the last
query are loaded in chunks; `bench/semantic_store.py` prints the overlap with an exact float32 scan.
"""

from __future__ import annotations

import ctypes
import sqlite3
import threading
from dataclasses import dataclass, field
from datetime import datetime

import numpy as np
import numpy.typing as npt

from mainloop_mcp.store.sqlite.store import SqliteStore
from mainloop_mcp.store.timestamps import from_micros, maybe_to_micros
from mainloop_mcp.store.vectors import NearMessage

SCHEMA = """
CREATE TABLE IF NOT EXISTS message_vectors (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    seq INTEGER NOT NULL UNIQUE REFERENCES messages(seq) ON DELETE CASCADE,
    model TEXT NOT NULL,
    vector BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS message_vectors_model ON message_vectors(model, id);
CREATE TABLE IF NOT EXISTS message_vectors_redo (seq INTEGER PRIMARY KEY);
DROP TRIGGER IF EXISTS message_vectors_stale;
CREATE TRIGGER message_vectors_stale AFTER UPDATE OF content ON messages BEGIN
    DELETE FROM message_vectors WHERE seq = old.seq;
    INSERT OR IGNORE INTO message_vectors_redo(seq) VALUES (old.seq);
END;
"""

Floats = npt.NDArray[np.float32]


LOAD_CHUNK = 10_000
SCORE_CHUNK = 8_192


@dataclass
class _Matrix:
    """What the scan holds: one int8 row per embedded message, with what the filters need."""

    last_id: int = 0
    seqs: npt.NDArray[np.int64] = field(default_factory=lambda: np.zeros(0, np.int64))
    row_of: dict[int, int] = field(default_factory=dict)
    codes: npt.NDArray[np.int8] = field(default_factory=lambda: np.zeros((0, 0), np.int8))
    scales: Floats = field(default_factory=lambda: np.zeros(0, np.float32))  # int8 units per unit, per row
    threads: npt.NDArray[np.int32] = field(default_factory=lambda: np.zeros(0, np.int32))
    times: npt.NDArray[np.int64] = field(default_factory=lambda: np.zeros(0, np.int64))
    live: npt.NDArray[np.bool_] = field(default_factory=lambda: np.zeros(0, np.bool_))  # False: edited since
    thread_codes: dict[str, int] = field(default_factory=dict)

    @staticmethod
    def quantise(vectors: Floats) -> tuple[npt.NDArray[np.int8], Floats]:
        scales = (127.0 / np.maximum(np.abs(vectors).max(axis=1), 1e-6)).astype(np.float32)
        codes: npt.NDArray[np.int8] = np.rint(vectors * scales[:, None]).astype(np.int8)
        return codes, scales

    def scores(self, rows: npt.NDArray[np.intp] | None, query: Floats) -> Floats:
        """Dot products with `query` (cosines, as the vectors are unit length) of all or some rows."""
        codes = self.codes if rows is None else self.codes[rows]
        scales = self.scales if rows is None else self.scales[rows]
        out = np.empty(len(codes), np.float32)
        for start in range(0, len(codes), SCORE_CHUNK):
            out[start : start + SCORE_CHUNK] = codes[start : start + SCORE_CHUNK].astype(np.float32) @ query
        return out / scales


class SqliteVectors:
    """Vectors of one model for one SqliteStore's messages (a VectorStore keyed by message seq)."""

    def __init__(self, store: SqliteStore, model: str, dim: int) -> None:
        self.store = store
        self.model = model
        self.dim = dim
        self._matrix = _Matrix()
        self._lock = threading.Lock()
        self._checked = 0  # every message up to this seq has a vector of this model (or is a summary)
        store.connection.executescript(SCHEMA)

    async def pending(self, limit: int) -> list[tuple[int, str]]:
        """Messages with no vector of this model yet (summaries are searched by words only): edited ones
        first (the trigger queues them), then new ones after the last seq looked at, oldest first.

        Reads only from where the previous call stopped, so the background indexer costs the store a
        range read per batch rather than a scan of every message (which held the store's lock for
        ~100 ms at 100k messages and so delayed every post_message behind it)."""

        def query(c: sqlite3.Connection) -> list[tuple[int, str]]:
            redo = c.execute(
                "SELECT m.seq, m.content FROM message_vectors_redo r JOIN messages m ON m.seq = r.seq"
                " WHERE m.role != 'summary' ORDER BY r.seq LIMIT ?",
                (limit,),
            ).fetchall()
            room = limit - len(redo)
            fresh = []
            if room > 0:
                (top,) = c.execute("SELECT COALESCE(MAX(seq), 0) FROM messages").fetchone()
                fresh = c.execute(
                    "SELECT m.seq, m.content FROM messages m LEFT JOIN message_vectors v"
                    " ON v.seq = m.seq AND v.model = ? WHERE m.seq > ? AND m.seq <= ? AND v.seq IS NULL"
                    " AND m.role != 'summary' ORDER BY m.seq LIMIT ?",
                    (self.model, self._checked, top, room),
                ).fetchall()
                if not fresh:
                    self._checked = max(self._checked, int(top))
            return [(int(r[0]), str(r[1])) for r in [*redo, *fresh]]

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
            c.executemany("DELETE FROM message_vectors_redo WHERE seq = ?", [(s,) for s in seqs])
            # `pending` hands out the first messages after the mark in order, so these close the gap.
            self._checked = max(self._checked, *seqs) if seqs else self._checked

        await self.store.run(write)

    async def nearest(
        self,
        query: Floats,
        *,
        thread_ids: list[str] | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        limit: int = 20,
    ) -> list[NearMessage]:
        found = await self.scan(query, thread_ids=thread_ids, since=since, until=until, limit=limit)
        if not found:
            return []
        marks = ",".join("?" * len(found))

        def rows(c: sqlite3.Connection) -> dict[int, sqlite3.Row]:
            sql = f"SELECT seq, id, thread_id, created_at, content FROM messages WHERE seq IN ({marks})"
            return {r[0]: r for r in c.execute(sql, [seq for seq, _ in found]).fetchall()}

        by_seq = await self.store.run(rows)
        return [
            NearMessage(id=r[1], thread_id=r[2], created_at=from_micros(r[3]), content=r[4], score=score)
            for seq, score in found
            if (r := by_seq.get(seq)) is not None
        ]

    async def scan(
        self,
        query: Floats,
        *,
        thread_ids: list[str] | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        limit: int = 20,
    ) -> list[tuple[int, float]]:
        """(message seq, cosine) best first over the messages that pass the filters."""
        query = query.astype(np.float32)

        def scan(c: sqlite3.Connection) -> list[tuple[int, float]]:
            m = self._refresh(c)
            if not len(m.seqs):
                return []
            keep = m.live.copy()
            if thread_ids is not None:
                codes = [m.thread_codes[t] for t in thread_ids if t in m.thread_codes]
                keep &= np.isin(m.threads, codes)
            if (lo := maybe_to_micros(since)) is not None:
                keep &= m.times >= lo
            if (hi := maybe_to_micros(until)) is not None:
                keep &= m.times < hi
            rows = None if keep.all() else np.flatnonzero(keep)
            if rows is not None and not len(rows):
                return []
            scores = m.scores(rows, query)
            take = min(limit, len(scores))
            top = np.argpartition(-scores, take - 1)[:take]
            top = top[np.argsort(-scores[top])]
            seqs = m.seqs if rows is None else m.seqs[rows]
            return [(int(seqs[i]), float(scores[i])) for i in top]

        return await self.store.run(scan)

    def _refresh(self, c: sqlite3.Connection) -> _Matrix:
        """Bring the in-memory matrix up to date: new rows appended, a vanished one forces a reload."""
        with self._lock:
            m = self._matrix
            (count,) = c.execute("SELECT count(*) FROM message_vectors WHERE model = ?", (self.model,)).fetchone()
            if count < len(m.row_of):
                m = self._matrix = _Matrix()
            added: list[
                tuple[list[int], npt.NDArray[np.int8], Floats, npt.NDArray[np.int32], npt.NDArray[np.int64]]
            ] = []
            while rows := c.execute(
                "SELECT v.id, v.seq, v.vector, m.thread_id, m.created_at FROM message_vectors v "
                "JOIN messages m ON m.seq = v.seq WHERE v.model = ? AND v.id > ? ORDER BY v.id LIMIT ?",
                (self.model, m.last_id, LOAD_CHUNK),
            ).fetchall():
                added.append(self._load(m, rows, len(m.seqs) + sum(len(a[0]) for a in added)))
                m.last_id = int(rows[-1][0])
            if added:  # one concatenation per refresh: growing the arrays chunk by chunk fragments memory
                if not len(m.seqs):
                    m.codes = np.zeros((0, self.dim), np.int8)
                m.seqs = np.concatenate([m.seqs, *(np.array(a[0], np.int64) for a in added)])
                m.codes = np.concatenate([m.codes, *(a[1] for a in added)])
                m.scales = np.concatenate([m.scales, *(a[2] for a in added)])
                m.threads = np.concatenate([m.threads, *(a[3] for a in added)])
                m.times = np.concatenate([m.times, *(a[4] for a in added)])
                m.live = np.concatenate([m.live, np.ones(len(m.seqs) - len(m.live), np.bool_)])
                if len(added) > 1:
                    del added, rows  # the chunks, before handing their memory back
                    _return_freed_memory()
            # An edited (e.g. redacted) message's old vector is gone from the table; forget it here too
            # until its new one arrives, so it is never found by what it used to say.
            for (seq,) in c.execute("SELECT seq FROM message_vectors_redo").fetchall():
                if (j := m.row_of.get(int(seq))) is not None and j < len(m.live):
                    m.live[j] = False
            return m

    def _load(
        self, m: _Matrix, rows: list[sqlite3.Row], first_row: int
    ) -> tuple[list[int], npt.NDArray[np.int8], Floats, npt.NDArray[np.int32], npt.NDArray[np.int64]]:
        """One chunk of rows as int8 codes; a message embedded again after an edit is overwritten in place."""
        packed = np.frombuffer(b"".join(r[2] for r in rows), np.float16).reshape(len(rows), self.dim)
        quantised, scales = m.quantise(packed.astype(np.float32))
        codes = np.array([m.thread_codes.setdefault(r[3], len(m.thread_codes)) for r in rows], np.int32)
        times = np.array([r[4] for r in rows], np.int64)
        appended: list[int] = []
        for i, r in enumerate(rows):
            seq = int(r[1])
            if seq in m.row_of and m.row_of[seq] < len(m.seqs):
                j = m.row_of[seq]
                m.codes[j], m.scales[j], m.threads[j], m.times[j] = quantised[i], scales[i], codes[i], times[i]
                m.live[j] = True
            elif seq not in m.row_of:
                m.row_of[seq] = first_row + len(appended)
                appended.append(i)
        seqs = [int(rows[i][1]) for i in appended]
        return seqs, quantised[appended], scales[appended], codes[appended], times[appended]


def _return_freed_memory() -> None:
    """After a large load, hand the freed heap back to the system: glibc keeps it for reuse, which made
    100k vectors cost 135 MB of resident memory instead of 62 (other C libraries: nothing to do)."""
    try:
        libc = ctypes.CDLL("libc.so.6")
    except OSError:
        return
    libc.malloc_trim(0)
