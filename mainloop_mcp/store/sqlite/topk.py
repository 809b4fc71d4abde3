"""The best messages for a query in a big store, from a tantivy index kept beside the SQLite file.

FTS5 computes BM25 for every row that any of a query's words matches: at a million messages a
question in plain words matches tens of thousands (57 ms p50), and the row budget that bounds it
(search.TermStats) keeps only 64-71% of the exact top 10. Tantivy skips the blocks of rows that
cannot reach the top k (block-max WAND): 2.9 ms p50 at 1M, with 95% of the exact top 10
(bench/search_scale.py). SQLite stays the truth. This index is derived from it, is used only while
it holds exactly what the file holds, and FTS5 answers whenever it does not: small stores, prefix
queries, an index being built or rebuilt.

On disk, `<db>.topk/`: one folder per build, the file `current` naming the one in use, and in it
`mark.json`: the store's id, its count of edits to message text (both in `message_text_state`,
schema step 11) and its last message seq, as they were for what the folder holds.
- New messages: a search adds them itself (up to INLINE_ROWS) before it answers.
- Edits made elsewhere (another process's redaction), or a larger gap: the folder is rebuilt from
  one read snapshot in a background thread, then swapped in.
- A redaction deletes the whole of `<db>.topk/` (`drop`): the old words leave the disk with it.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import re
import shutil
import sqlite3
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mainloop_mcp.model import QueryTerm, TextQuery
from mainloop_mcp.store.sqlite.search import Filters, TermStats
from mainloop_mcp.store.timestamps import to_micros

if TYPE_CHECKING:
    import tantivy

log = logging.getLogger(__name__)

MIN_ROWS = TermStats.ROWS  # from this many messages on it ranks; FTS5 would soon start leaving words out
INLINE_ROWS = 20_000  # new messages a search indexes itself; more wait for a background build
HEAP = 64_000_000  # tantivy's indexing memory, one thread
RETRY_SECONDS = 300.0  # between builds that fail
CHUNK = 5_000  # rows read per step of a build (and how soon it notices it should stop)
TOKEN = re.compile(r"[^\W_]+")  # a term's words, as the index's tokenizer splits them
ANALYZER = "mainloop_stem"
# The rows FTS5 indexes too (search.SEARCHABLE leaves out the rest after ranking).
ROWS = "SELECT seq, thread_id, created_at, content FROM messages WHERE role != 'summary'"
Ranker = Callable[[int], dict[int, float]]  # k -> {seq: rank} of the best k, lower ranks first


@dataclass(frozen=True)
class Mark:
    """What an index folder holds: the store it was built from, that store's count of edits to message
    text, and its last message seq then."""

    store: str
    edits: int
    seq: int

    def leads_to(self, now: Mark) -> bool:
        """Whether an index holding this can answer for the store as it is `now` once it adds the
        messages since (at most INLINE_ROWS): same file, no text edited, nothing removed."""
        return self.store == now.store and self.edits == now.edits and 0 <= now.seq - self.seq <= INLINE_ROWS


def _store_mark(conn: sqlite3.Connection) -> Mark:
    store, edits, seq = conn.execute(
        "SELECT store_id, edits, (SELECT coalesce(max(seq), 0) FROM messages) FROM message_text_state"
    ).fetchone()
    return Mark(store, edits, seq)


def _schema() -> tantivy.Schema:
    import tantivy

    builder = tantivy.SchemaBuilder()
    builder.add_text_field("content", stored=False, tokenizer_name=ANALYZER)
    builder.add_text_field("thread", stored=False, tokenizer_name="raw")
    builder.add_integer_field("seq", stored=False, indexed=True, fast=True)
    builder.add_integer_field("at", stored=False, indexed=True, fast=True)
    return builder.build()


def _open(folder: Path, create: bool = False) -> tantivy.Index:
    """An index folder with the analyzer registered: words split as unicode61 does, lower case, accents
    folded, English stems (Snowball; FTS5 uses Porter's first stemmer)."""
    import tantivy

    index = tantivy.Index(_schema(), path=str(folder)) if create else tantivy.Index.open(str(folder))
    analyzer = (
        tantivy.TextAnalyzerBuilder(tantivy.Tokenizer.simple())
        .filter(tantivy.Filter.remove_long(255))
        .filter(tantivy.Filter.lowercase())
        .filter(tantivy.Filter.ascii_fold())
        .filter(tantivy.Filter.stemmer("english"))
        .build()
    )
    index.register_tokenizer(ANALYZER, analyzer)
    return index


def _add(writer: tantivy.IndexWriter, rows: Iterator[Any]) -> None:
    import tantivy

    for seq, thread_id, created_at, content in rows:
        writer.add_document(tantivy.Document(seq=seq, thread=thread_id, at=created_at, content=content))


def _replace(path: Path, text: str) -> None:
    """Write `path` whole or not at all (a reader in another process sees the old file or the new)."""
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


class TopK:
    """The tantivy index of one SQLite store's messages; `ranker` is None when FTS5 must answer."""

    def __init__(self, db: Path, min_rows: int = MIN_ROWS) -> None:
        self.root = db.with_name(db.name + ".topk")
        self.db = db
        self.min_rows = min_rows
        self._index: tuple[str, tantivy.Index] | None = None
        self._builder: threading.Thread | None = None
        self._stop = threading.Event()
        self._retry_at = 0.0  # after a failed build (a read-only folder, a full disk), not before this

    def ranker(self, conn: sqlite3.Connection, query: TextQuery, filters: Filters) -> Ranker | None:
        """A function of k giving the best k messages for `query` and `filters`, or None when this
        index can't answer now. Called on the store's connection, under its lock."""
        if any(t.prefix for t in (*query.positive, *query.must_not)):
            return None
        store = _store_mark(conn)
        if store.seq < self.min_rows:
            return None
        try:
            index = self._current(conn, store)
            if index is None or _store_mark(conn).edits != store.edits:  # edited while it caught up
                return None
            compiled = _compile(index, query, filters)
        except (OSError, ValueError) as exc:  # tantivy raises ValueError for its own failures
            log.warning("the top-k index can't answer (%s); full-text search answers", exc)
            return None
        if compiled is None:
            return None
        searcher = index.searcher()

        def best(k: int) -> dict[int, float]:
            hits = searcher.search(compiled, k, count=False).hits
            seqs = searcher.fast_field_values("seq", [address for _, address in hits])
            return {int(seq): -float(score) for (score, _), seq in zip(hits, seqs, strict=True) if seq is not None}

        return best

    def _current(self, conn: sqlite3.Connection, store: Mark) -> tantivy.Index | None:
        """The index in use, brought up to `store` if only new messages are missing. A missing or
        edited index, or one behind by more than INLINE_ROWS, is built again: here when that is at
        most INLINE_ROWS messages, in the background otherwise (None: FTS5 answers meanwhile)."""
        current = self._read_current()
        if current is None or not current[1].leads_to(store):
            if store.seq > INLINE_ROWS:
                self._build_in_background()
                return None
            if time.monotonic() < self._retry_at:
                return None
            self.build()
            current = self._read_current()
            if current is None or not current[1].leads_to(store):
                return None
        name, mark = current
        if self._index is None or self._index[0] != name:
            self._index = (name, _open(self.root / name))
        index = self._index[1]
        if mark.seq < store.seq:
            self._append(conn, index, self.root / name, mark, store)
        return index

    def _read_current(self) -> tuple[str, Mark] | None:
        try:
            name = (self.root / "current").read_text().strip()
            return name, Mark(**json.loads((self.root / name / "mark.json").read_text()))
        except (OSError, ValueError, TypeError):
            return None

    def _append(self, conn: sqlite3.Connection, index: tantivy.Index, folder: Path, mark: Mark, store: Mark) -> None:
        """Index messages mark.seq < seq <= store.seq. Rows above mark.seq are deleted first: a commit
        that a crash kept from reaching mark.json is then not indexed twice."""
        import tantivy

        writer = index.writer(HEAP, 1)  # ValueError when another process holds the writer: FTS5 answers
        try:
            newer = tantivy.Query.range_query(index.schema, "seq", tantivy.FieldType.Integer, lower_bound=mark.seq + 1)
            writer.delete_documents_by_query(newer)
            _add(writer, conn.execute(f"{ROWS} AND seq > ? AND seq <= ? ORDER BY seq", (mark.seq, store.seq)))
            writer.commit()
            writer.wait_merging_threads()
        except BaseException:
            writer.rollback()
            raise
        _replace(folder / "mark.json", json.dumps(asdict(Mark(mark.store, mark.edits, store.seq))))
        index.reload()

    def _build_in_background(self) -> None:
        if time.monotonic() < self._retry_at:
            return
        if self._builder is None or not self._builder.is_alive():
            self._builder = threading.Thread(target=self.build, name="topk-build", daemon=True)
            self._builder.start()

    def build(self) -> None:
        """A new folder from one read snapshot of the file, swapped in when complete; one builder at a
        time across processes (a lock file), older folders deleted after the swap."""
        folder: Path | None = None
        try:
            self.root.mkdir(exist_ok=True)
            with open(self.root / "build.lock", "w") as lock:
                try:
                    fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    return  # another process is building
                folder = self.root / uuid.uuid4().hex
                mark = self._fill(folder)
                if mark is None:
                    shutil.rmtree(folder, ignore_errors=True)
                    return
                _replace(folder / "mark.json", json.dumps(asdict(mark)))
                _replace(self.root / "current", folder.name)
                for old in self.root.iterdir():
                    if old.is_dir() and old.name != folder.name:
                        shutil.rmtree(old, ignore_errors=True)
        except (OSError, ValueError, sqlite3.Error) as exc:
            self._retry_at = time.monotonic() + RETRY_SECONDS
            log.warning("building the top-k index failed (%s); full-text search answers", exc)
            if folder is not None:
                shutil.rmtree(folder, ignore_errors=True)

    def _fill(self, folder: Path) -> Mark | None:
        """Index every message of one read snapshot into a new `folder`; None if told to stop."""
        folder.mkdir()
        index = _open(folder, create=True)
        writer = index.writer(HEAP, 1)
        conn = sqlite3.connect(f"file:{self.db}?mode=ro", uri=True)
        try:
            conn.execute("BEGIN")  # one snapshot: the mark and the rows agree
            mark = _store_mark(conn)
            rows = conn.execute(f"{ROWS} AND seq <= ? ORDER BY seq", (mark.seq,))
            while chunk := rows.fetchmany(CHUNK):
                if self._stop.is_set():
                    writer.rollback()
                    return None
                _add(writer, iter(chunk))
            writer.commit()
            writer.wait_merging_threads()
            return mark
        finally:
            conn.close()

    def drop(self) -> None:
        """Delete every folder now (a redaction: the old words must leave the disk); the next search
        of a big store builds afresh, and FTS5 answers until then."""
        self.close()
        self._stop.clear()
        shutil.rmtree(self.root, ignore_errors=True)

    def close(self) -> None:
        """Stop a build under way (it keeps nothing) and let go of the open index."""
        self._stop.set()
        if self._builder is not None:
            self._builder.join()
        self._index = None


def _compile(index: tantivy.Index, query: TextQuery, filters: Filters) -> tantivy.Query | None:
    """`query` as tantivy's: required words Must, optional ones Should (at least one of them when
    nothing is required), excluded ones MustNot; the thread and time filters add no score."""
    import tantivy

    def words(term: QueryTerm) -> tantivy.Query | None:
        tokens = TOKEN.findall(term.text)  # words only: nothing reaches the parser as syntax
        return index.parse_query('"' + " ".join(tokens) + '"', ["content"]) if tokens else None

    occurs = (
        (tantivy.Occur.Must, query.must),
        (tantivy.Occur.Should, query.should),
        (tantivy.Occur.MustNot, query.must_not),
    )
    clauses = [(occur, q) for occur, terms in occurs for t in terms if (q := words(t)) is not None]
    if not any(occur != tantivy.Occur.MustNot for occur, _ in clauses):
        return None
    text = tantivy.Query.boolean_query(clauses)
    schema = index.schema
    limits: list[tantivy.Query] = []
    if filters.thread_ids is not None:
        limits.append(tantivy.Query.term_set_query(schema, "thread", filters.thread_ids))
    if filters.since is not None or filters.until is not None:
        since = to_micros(filters.since) if filters.since else None
        until = to_micros(filters.until) if filters.until else None
        limits.append(  # since inclusive, until exclusive (search.Filters); an open side must be inclusive
            tantivy.Query.range_query(
                schema, "at", tantivy.FieldType.Integer, since, until, include_upper=until is None
            )
        )
    if not limits:
        return text
    return tantivy.Query.boolean_query(
        [(tantivy.Occur.Must, text), *((tantivy.Occur.Must, tantivy.Query.const_score_query(q, 0.0)) for q in limits)]
    )
