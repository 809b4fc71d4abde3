"""A parsed TextQuery on BigQuery, as close to SQLite's semantics as BigQuery allows.

Same: an OR of the meaningful terms ranks, `must` terms are required, `must_not` terms exclude,
compound tokens and phrases match as word sequences, synced summary copies are not searched.
Differs: no stemming ("graduated" does not find "graduate") and no prefix matching (a prefix term
matches as a whole word); ranking is search.py's tf score, not BM25; `must_not` is applied
to the fetched candidates, so a page can hold fewer hits than asked. Thread titles and standing
context are matched in Python over the active threads (one query).
"""

from __future__ import annotations

from datetime import datetime

from mainloop_mcp.model import Granularity, SearchHit, TextQuery
from mainloop_mcp.store.bigquery.client import BigQueryClient, array
from mainloop_mcp.store.bigquery.search import MAX_TERMS, WORD, search_text, snippet, words_of
from mainloop_mcp.store.rules import check_limit
from mainloop_mcp.store.timestamps import from_micros

EXCLUSION_SLACK = 20  # extra candidates fetched when terms exclude


def _padded_words(text: str) -> str:
    return " " + "  ".join(WORD.findall(text.lower())) + " "


def _holds(text: str, term: str) -> bool:
    words = words_of(term)
    return bool(words) and (" " + "  ".join(words) + " ") in _padded_words(text)


async def search_query(
    bq: BigQueryClient,
    query: TextQuery,
    *,
    thread_ids: list[str] | None,
    since: datetime | None,
    until: datetime | None,
    limit: int,
) -> list[SearchHit]:
    check_limit(limit)
    required = [t.text for t in query.must if words_of(t.text)][:MAX_TERMS]
    optional = [t.text for t in query.should if words_of(t.text)][:MAX_TERMS]
    if not required and not optional:
        return []
    fetch = limit + (EXCLUSION_SLACK if query.must_not else 0)
    hits = await search_text(
        bq,
        required or optional,
        match_any=not required,
        thread_ids=thread_ids,
        since=since,
        until=until,
        limit=fetch,
    )
    kept = [h for h in hits if not any(_holds(h.text, t.text) for t in query.must_not)][:limit]
    if not kept:
        return []
    rows = await bq.rows(
        f"SELECT id, title FROM {bq.target.table('threads')} WHERE id IN UNNEST(@ids)",
        [array("ids", "STRING", sorted({h.thread_id for h in kept}))],
    )
    titles = {r["id"]: r["title"] for r in rows}
    return [h.model_copy(update={"thread_title": titles.get(h.thread_id, "")}) for h in kept]


async def search_threads(bq: BigQueryClient, query: TextQuery, limit: int) -> list[SearchHit]:
    """Active threads whose title or standing context hold every `must` term and any `should` term;
    scored by how many terms they hold, the title counting 3x."""
    check_limit(limit)
    rows = await bq.rows(
        "SELECT id, title, thread_context, UNIX_MICROS(updated_at) AS updated_us"
        f" FROM {bq.target.table('threads')} WHERE status = 'active'",
        [],
    )
    hits = []
    for r in rows:
        text = f"{r['title']} {r['thread_context']}"
        if not all(_holds(text, t.text) for t in query.must) or any(_holds(text, t.text) for t in query.must_not):
            continue
        score = sum(3 * _holds(r["title"], t.text) + _holds(r["thread_context"], t.text) for t in query.positive)
        if score == 0:
            continue
        terms = [t.text for t in query.positive]
        hits.append(
            SearchHit(
                kind="thread",
                id=r["id"],
                thread_id=r["id"],
                thread_title=r["title"],
                granularity=Granularity.MESSAGE,
                period_start=from_micros(r["updated_us"]),
                period_end=from_micros(r["updated_us"]),
                snippet=snippet(r["title"], terms)
                + (f" — {snippet(r['thread_context'], terms)}" if r["thread_context"] else ""),
                text=text[:4000],
                score=float(score),
            )
        )
    hits.sort(key=lambda h: (-h.score, h.id))
    return hits[:limit]
