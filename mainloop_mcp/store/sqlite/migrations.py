"""Every step of the SQLite schema, in order, in one place.

`PRAGMA user_version` counts the steps a file has had; `migrate` runs the missing ones, each in its
own transaction. A shipped step is never edited: a change is a new step at the end.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass

# The full-text tokenizer: stemming (porter) over unicode61, accents folded.
TOKENIZER = "porter unicode61 remove_diacritics 2"


@dataclass(frozen=True)
class Step:
    name: str
    sql: str


def index_triggers(table: str, indexed: str = "") -> str:
    """The delete and update triggers that keep `{table}_fts` (content and thread_id, over the
    external content `table`) in step with its rows, replacing the ones there. With `indexed`, a
    condition on a row written as `{row}.column`, only rows meeting it are in the index."""
    index = f"{table}_fts"

    def only(row: str) -> str:
        return f" WHERE {indexed.format(row=row)}" if indexed else ""

    return f"""
    DROP TRIGGER {index}_delete;
    CREATE TRIGGER {index}_delete AFTER DELETE ON {table} BEGIN
        INSERT INTO {index}({index}, rowid, content, thread_id)
        SELECT 'delete', old.seq, old.content, old.thread_id{only("old")};
    END;
    DROP TRIGGER {index}_update;
    CREATE TRIGGER {index}_update AFTER UPDATE OF content, thread_id ON {table} BEGIN
        INSERT INTO {index}({index}, rowid, content, thread_id)
        SELECT 'delete', old.seq, old.content, old.thread_id{only("old")};
        INSERT INTO {index}(rowid, content, thread_id) SELECT new.seq, new.content, new.thread_id{only("new")};
    END;"""


STEPS = [
    # 1. Threads and messages, with a full-text index of messages.
    Step(
        "threads and messages",
        """
    CREATE TABLE threads (
        id TEXT PRIMARY KEY,
        parent_id TEXT REFERENCES threads(id),
        thread_type TEXT NOT NULL CHECK (thread_type IN ('main', 'project', 'task')),
        title TEXT NOT NULL,
        thread_context TEXT NOT NULL DEFAULT '',
        status TEXT NOT NULL CHECK (status IN ('active', 'archived')),
        created_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL,
        CHECK ((thread_type = 'main') = (parent_id IS NULL))
    );
    CREATE UNIQUE INDEX threads_one_main ON threads(thread_type) WHERE thread_type = 'main';
    CREATE INDEX threads_parent ON threads(parent_id);
    CREATE INDEX threads_created ON threads(created_at, id);

    CREATE TABLE messages (
        seq INTEGER PRIMARY KEY,
        id TEXT NOT NULL UNIQUE,
        thread_id TEXT NOT NULL REFERENCES threads(id),
        role TEXT NOT NULL CHECK (role IN ('user', 'assistant', 'agent', 'system', 'summary')),
        content TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        idempotency_key TEXT,
        metadata TEXT NOT NULL DEFAULT '{}'
    );
    CREATE INDEX messages_thread_time ON messages(thread_id, created_at);
    CREATE UNIQUE INDEX messages_idempotency ON messages(idempotency_key) WHERE idempotency_key IS NOT NULL;

    CREATE VIRTUAL TABLE messages_fts USING fts5(content, content='messages', content_rowid='seq');
    CREATE TRIGGER messages_fts_delete AFTER DELETE ON messages BEGIN
        INSERT INTO messages_fts(messages_fts, rowid, content) VALUES ('delete', old.seq, old.content);
    END;
    CREATE TRIGGER messages_fts_update AFTER UPDATE OF content ON messages BEGIN
        INSERT INTO messages_fts(messages_fts, rowid, content) VALUES ('delete', old.seq, old.content);
        INSERT INTO messages_fts(rowid, content) VALUES (new.seq, new.content);
    END;
    """,
    ),
    # 2. Summaries carry an integer rowid so FTS5 can index them like messages.
    # A message inserted inside a summarised period marks every summary covering it stale; the
    # (thread_id, period_end) index keeps that a short probe, since new messages are recent.
    Step(
        "summaries and their index",
        """
    CREATE TABLE summaries (
        seq INTEGER PRIMARY KEY,
        id TEXT NOT NULL UNIQUE,
        thread_id TEXT NOT NULL REFERENCES threads(id),
        granularity TEXT NOT NULL CHECK (granularity IN ('day', 'week', 'month')),
        period_start INTEGER NOT NULL,
        period_end INTEGER NOT NULL,
        content TEXT NOT NULL,
        source_message_count INTEGER NOT NULL,
        token_count INTEGER NOT NULL,
        summariser TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        stale INTEGER NOT NULL DEFAULT 0,
        CHECK (period_start < period_end)
    );
    CREATE UNIQUE INDEX summaries_period ON summaries(thread_id, granularity, period_start);
    CREATE INDEX summaries_end ON summaries(thread_id, period_end);

    CREATE VIRTUAL TABLE summaries_fts USING fts5(content, content='summaries', content_rowid='seq');
    CREATE TRIGGER summaries_fts_insert AFTER INSERT ON summaries BEGIN
        INSERT INTO summaries_fts(rowid, content) VALUES (new.seq, new.content);
    END;
    CREATE TRIGGER summaries_fts_delete AFTER DELETE ON summaries BEGIN
        INSERT INTO summaries_fts(summaries_fts, rowid, content) VALUES ('delete', old.seq, old.content);
    END;
    CREATE TRIGGER summaries_fts_update AFTER UPDATE OF content ON summaries BEGIN
        INSERT INTO summaries_fts(summaries_fts, rowid, content) VALUES ('delete', old.seq, old.content);
        INSERT INTO summaries_fts(rowid, content) VALUES (new.seq, new.content);
    END;

    CREATE TRIGGER messages_mark_summaries_stale AFTER INSERT ON messages BEGIN
        UPDATE summaries SET stale = 1
        WHERE thread_id = new.thread_id AND period_end > new.created_at
          AND period_start <= new.created_at AND stale = 0;
    END;
""",
    ),
    # 3. Sub-agent runs.
    Step(
        "agent runs",
        """
    CREATE TABLE agent_runs (
        id TEXT PRIMARY KEY,
        thread_id TEXT NOT NULL UNIQUE REFERENCES threads(id),
        parent_thread_id TEXT NOT NULL REFERENCES threads(id),
        title TEXT NOT NULL,
        prompt TEXT NOT NULL,
        work_folder TEXT NOT NULL,
        runner TEXT NOT NULL,
        status TEXT NOT NULL CHECK (status IN
            ('queued', 'running', 'succeeded', 'failed', 'cancelled', 'timed_out', 'interrupted')),
        result TEXT,
        error TEXT,
        external_id TEXT,
        owner TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        started_at INTEGER,
        finished_at INTEGER
    );
    CREATE INDEX agent_runs_created ON agent_runs(created_at, id);
    CREATE INDEX agent_runs_unfinished ON agent_runs(status) WHERE status IN ('queued', 'running');
    CREATE INDEX agent_runs_parent ON agent_runs(parent_thread_id, created_at);
""",
    ),
    # 4. The change log, written by triggers. A message insert is logged through the
    # `threads.updated_at` bump that every append makes (once per thread per batch, not once per row, so
    # bulk imports stay fast); edits and deletes of a message are logged directly.
    Step(
        "change log",
        """
    CREATE TABLE changes (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        uri TEXT NOT NULL,
        thread_id TEXT
    );
    CREATE TRIGGER changes_thread_created AFTER INSERT ON threads BEGIN
        INSERT INTO changes (uri, thread_id) VALUES ('thread://' || new.id, new.id), ('threads://active', new.id);
    END;
    CREATE TRIGGER changes_thread_updated AFTER UPDATE ON threads BEGIN
        INSERT INTO changes (uri, thread_id) VALUES ('thread://' || new.id, new.id);
    END;
    CREATE TRIGGER changes_thread_tree AFTER UPDATE ON threads
    WHEN old.title IS NOT new.title OR old.status IS NOT new.status OR old.parent_id IS NOT new.parent_id
      OR old.thread_type IS NOT new.thread_type BEGIN
        INSERT INTO changes (uri, thread_id) VALUES ('threads://active', new.id);
    END;
    CREATE TRIGGER changes_message_edited AFTER UPDATE ON messages BEGIN
        INSERT INTO changes (uri, thread_id) VALUES ('thread://' || new.thread_id, new.thread_id);
    END;
    CREATE TRIGGER changes_message_deleted AFTER DELETE ON messages BEGIN
        INSERT INTO changes (uri, thread_id) VALUES ('thread://' || old.thread_id, old.thread_id);
    END;
    CREATE TRIGGER changes_run_created AFTER INSERT ON agent_runs BEGIN
        INSERT INTO changes (uri, thread_id)
        VALUES ('agent://' || new.id, new.thread_id), ('agents://recent', new.thread_id);
    END;
    CREATE TRIGGER changes_run_updated AFTER UPDATE ON agent_runs BEGIN
        INSERT INTO changes (uri, thread_id)
        VALUES ('agent://' || new.id, new.thread_id), ('agents://recent', new.thread_id);
    END;
""",
    ),
    # 5. Imports: which thread each source became,
    # and how far that source was read (the Claude Code hook resumes a transcript from `position`).
    Step(
        "import sources",
        """
    CREATE TABLE import_sources (
        source_key TEXT PRIMARY KEY,
        thread_id TEXT NOT NULL REFERENCES threads(id),
        position INTEGER NOT NULL DEFAULT 0
    ) WITHOUT ROWID;
""",
    ),
    # 6. Rebuild both indexes with the stemming tokenizer, and index thread titles and
    # standing context (a plain FTS5 table keyed by thread id, kept by triggers).
    Step(
        "stemming search indexes, titles and context",
        f"""
    DROP TABLE messages_fts;
    CREATE VIRTUAL TABLE messages_fts USING fts5(
        content, content='messages', content_rowid='seq', tokenize='{TOKENIZER}');
    INSERT INTO messages_fts(messages_fts) VALUES ('rebuild');
    DROP TABLE summaries_fts;
    CREATE VIRTUAL TABLE summaries_fts USING fts5(
        content, content='summaries', content_rowid='seq', tokenize='{TOKENIZER}');
    INSERT INTO summaries_fts(summaries_fts) VALUES ('rebuild');
    CREATE VIRTUAL TABLE threads_fts USING fts5(thread_id UNINDEXED, title, thread_context, tokenize='{TOKENIZER}');
    INSERT INTO threads_fts(thread_id, title, thread_context) SELECT id, title, thread_context FROM threads;
    CREATE TRIGGER threads_fts_insert AFTER INSERT ON threads BEGIN
        INSERT INTO threads_fts(thread_id, title, thread_context) VALUES (new.id, new.title, new.thread_context);
    END;
    CREATE TRIGGER threads_fts_update AFTER UPDATE OF title, thread_context ON threads BEGIN
        UPDATE threads_fts SET title = new.title, thread_context = new.thread_context WHERE thread_id = new.id;
    END;
    CREATE TRIGGER threads_fts_delete AFTER DELETE ON threads BEGIN
        DELETE FROM threads_fts WHERE thread_id = old.id;
    END;
""",
    ),
    # 7. Messages are indexed with their thread id too, so a thread filter is matched
    # inside FTS5 and only that thread's rows are scored; the rank ignores that column (weight 0).
    Step(
        "thread id in the message index",
        f"""
    DROP TABLE messages_fts;
    CREATE VIRTUAL TABLE messages_fts USING fts5(
        content, thread_id, content='messages', content_rowid='seq', tokenize='{TOKENIZER}');
    INSERT INTO messages_fts(messages_fts, rank) VALUES ('rank', 'bm25(1.0, 0.0)');
    INSERT INTO messages_fts(messages_fts) VALUES ('rebuild');
{index_triggers("messages")}
""",
    ),
    # 8. A thread's summaries (built, dropped or marked stale) are logged as
    # `memory://{thread_id}`, standing for every `memory://{thread_id}/{period}` (periods are labelled in
    # the hub's zone, which the store does not know). A run of them in one transaction (compaction builds
    # many) is logged once: a record is skipped when the newest one already says the same.
    Step(
        "summaries announced",
        """
    CREATE TRIGGER changes_summary_added AFTER INSERT ON summaries
    WHEN NOT EXISTS (SELECT 1 FROM changes WHERE seq = (SELECT max(seq) FROM changes)
                     AND uri = 'memory://' || new.thread_id) BEGIN
        INSERT INTO changes (uri, thread_id) VALUES ('memory://' || new.thread_id, new.thread_id);
    END;
    CREATE TRIGGER changes_summary_updated AFTER UPDATE ON summaries
    WHEN NOT EXISTS (SELECT 1 FROM changes WHERE seq = (SELECT max(seq) FROM changes)
                     AND uri = 'memory://' || new.thread_id) BEGIN
        INSERT INTO changes (uri, thread_id) VALUES ('memory://' || new.thread_id, new.thread_id);
    END;
    CREATE TRIGGER changes_summary_deleted AFTER DELETE ON summaries
    WHEN NOT EXISTS (SELECT 1 FROM changes WHERE seq = (SELECT max(seq) FROM changes)
                     AND uri = 'memory://' || old.thread_id) BEGIN
        INSERT INTO changes (uri, thread_id) VALUES ('memory://' || old.thread_id, old.thread_id);
    END;
""",
    ),
    # 9. Summaries are indexed with their thread id too, as messages are (step 7): a thread's search
    # scores only that thread's summaries.
    Step(
        "thread id in the summary index",
        f"""
    DROP TABLE summaries_fts;
    CREATE VIRTUAL TABLE summaries_fts USING fts5(
        content, thread_id, content='summaries', content_rowid='seq', tokenize='{TOKENIZER}');
    INSERT INTO summaries_fts(summaries_fts, rank) VALUES ('rank', 'bm25(1.0, 0.0)');
    INSERT INTO summaries_fts(summaries_fts) VALUES ('rebuild');
    DROP TRIGGER summaries_fts_insert;
    CREATE TRIGGER summaries_fts_insert AFTER INSERT ON summaries BEGIN
        INSERT INTO summaries_fts(rowid, content, thread_id) VALUES (new.seq, new.content, new.thread_id);
    END;
{index_triggers("summaries")}
""",
    ),
    # 10. Synced copies of summaries (role 'summary') leave the message index: search finds the summary
    # they copy, and indexed they counted in every word's statistics and took ranked slots that the
    # search then dropped. The triggers skip them as the indexing does (`index_new_messages`).
    Step(
        "synced summaries out of the message index",
        f"""
    INSERT INTO messages_fts(messages_fts, rowid, content, thread_id)
        SELECT 'delete', seq, content, thread_id FROM messages WHERE role = 'summary';
{index_triggers("messages", indexed="{row}.role != 'summary'")}
""",
    ),
    # 11. What an index kept outside the file (topk.py) checks it against: which file this is (a random
    # id: a new file at the same path is another store), and a count of edits to indexed message text
    # (content, thread or role changed, or a row deleted).
    Step(
        "message text state",
        """
    CREATE TABLE message_text_state (store_id TEXT NOT NULL, edits INTEGER NOT NULL);
    INSERT INTO message_text_state VALUES (lower(hex(randomblob(16))), 0);
    CREATE TRIGGER message_text_edited AFTER UPDATE OF content, thread_id, role ON messages BEGIN
        UPDATE message_text_state SET edits = edits + 1;
    END;
    CREATE TRIGGER message_text_deleted AFTER DELETE ON messages BEGIN
        UPDATE message_text_state SET edits = edits + 1;
    END;
""",
    ),
]


def migrate(conn: sqlite3.Connection) -> int:
    """Bring the file up to the newest schema, one step per transaction; returns the version."""
    version: int = conn.execute("PRAGMA user_version").fetchone()[0]
    if version > len(STEPS):
        raise RuntimeError(
            f"this database is at schema version {version}, newer than this mainloop knows "
            f"({len(STEPS)}); upgrade mainloop"
        )
    for number, step in enumerate(STEPS[version:], start=version + 1):
        conn.executescript(f"BEGIN IMMEDIATE;\n{step.sql}\nPRAGMA user_version = {number};\nCOMMIT;")
    return len(STEPS)
