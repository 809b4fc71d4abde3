"""Semantic recall with the real packaged all-MiniLM-L6-v2: embedders, vectors beside the text, fusion."""

from __future__ import annotations

import json
import subprocess
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from pathlib import Path

import anyio
import numpy as np
import pytest
from mcp import Client

from mainloop_mcp.config import Settings
from mainloop_mcp.hub import Hub, open_hub
from mainloop_mcp.model import Granularity, NewMessage, NewThread, SearchHit, ThreadType
from mainloop_mcp.search.embedders import MiniLMEmbedder, StaticEmbedder
from mainloop_mcp.search.fusion import fuse
from mainloop_mcp.search.hybrid import fuse_hits, fuse_hits_head_first
from mainloop_mcp.search.semantic import open_semantic
from mainloop_mcp.server import create_server
from mainloop_mcp.store import open_store
from mainloop_mcp.store.base import Backend, edit_store
from mainloop_mcp.store.sqlite.store import SqliteStore
from tests.conftest import STORE_URLS, VENV_BIN, bigquery_url, sqlite_url
from tests.test_memory_tools import call, error_of

pytestmark = pytest.mark.anyio

CAR = "I'm trading in the Golf at the dealership on Friday; they offered 9,000 for it."
OTHERS = [
    "The tomato seedlings need repotting before the frost.",
    "Quarterly tax return is due at the end of the month.",
    "Bought a new pair of running shoes for the marathon.",
    "The sourdough starter smells sour, which is fine.",
]


def cosine(a: np.ndarray, b: np.ndarray) -> float:
    return float(a @ b)


@pytest.fixture(scope="module")
def minilm() -> MiniLMEmbedder:
    return MiniLMEmbedder()


@pytest.fixture(scope="module")
def model_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    yield tmp_path_factory.mktemp("models")


def test_minilm_reproduces_the_published_similarity(minilm: MiniLMEmbedder) -> None:
    # sentence-transformers' documentation prints 0.8939 for this pair with all-MiniLM-L6-v2
    a, b, c = minilm.embed(["The new movie is awesome", "The new movie is so great", "The cat sits outside"])
    assert round(cosine(a, b), 3) == 0.894
    assert cosine(a, c) < 0.1
    assert np.allclose(np.linalg.norm(minilm.embed(OTHERS), axis=1), 1.0, atol=1e-5)


def test_minilm_finds_the_car_message_with_no_word_in_common(minilm: MiniLMEmbedder) -> None:
    docs = minilm.embed([CAR, *OTHERS])
    (question,) = minilm.embed(["what did I decide about selling my vehicle?"])
    assert int(np.argmax(docs @ question)) == 0


def test_static_embedder_distils_tokens_once_and_keeps_them(model_cache: Path) -> None:
    static = StaticEmbedder(model_cache)
    a, b, c = static.embed(["The new movie is awesome", "The new movie is so great", "The cat sits outside"])
    assert cosine(a, b) > cosine(a, c)
    assert (model_cache / "minilm-l6-static.npz").exists()
    again = StaticEmbedder(model_cache)
    movie = static.tokenizer.token_to_id("movie")
    assert movie is not None
    assert again.distil({movie}) == 0  # from the cache file
    assert np.allclose(again.embed(["The new movie is awesome"])[0], a, atol=1e-6)


def test_reciprocal_rank_fusion_rewards_agreement() -> None:
    assert fuse([["a", "b", "c"], ["x", "b", "y"]])[:1] == ["b"]  # second twice beats first once
    assert set(fuse([["a"], ["x"]])) == {"a", "x"}


def test_deep_agreement_waits_behind_the_fused_head() -> None:
    at = datetime(2026, 11, 1, tzinfo=UTC)

    def hits(prefix: str) -> list[SearchHit]:
        ids = [f"{prefix}{i}" for i in range(1, 22)] + ["deep"]  # "deep" 22nd both ways
        return [
            SearchHit(
                kind="message",
                id=i,
                thread_id="t",
                granularity=Granularity.MESSAGE,
                period_start=at,
                period_end=at,
                snippet=i,
                score=1.0,
            )
            for i in ids
        ]

    words, near = hits("w"), hits("n")
    assert fuse_hits([words, near])[0].id == "deep"  # found far down both ways beats the best of each
    fused = [h.id for h in fuse_hits_head_first([words, near], 20)]
    assert set(fused[:2]) == {"w1", "n1"}
    assert fused.index("deep") == 40  # after both heads
    assert len(fused) == len(set(fused)) == 43


@pytest.fixture(params=["sqlite", "bigquery"])
async def semantic_hub(request: pytest.FixtureRequest, tmp_path: Path, model_cache: Path) -> AsyncIterator[Hub]:
    """A hub with semantic search on each backend (BigQuery: the emulator, with the exact-cosine SQL)."""
    settings = Settings(store=STORE_URLS[request.param](tmp_path), embedder="static", model_cache=model_cache)
    async with open_hub(settings) as hub:
        yield hub


@pytest.fixture
async def sqlite_semantic_hub(tmp_path: Path, model_cache: Path) -> AsyncIterator[Hub]:
    settings = Settings(store=sqlite_url(tmp_path), embedder="static", model_cache=model_cache)
    async with open_hub(settings) as hub:
        yield hub


@pytest.fixture
async def sem_client(semantic_hub: Hub) -> AsyncIterator[Client]:
    async with Client(create_server(semantic_hub)) as c:
        yield c


async def test_posting_stores_text_only_and_backfill_embeds_with_progress(semantic_hub: Hub) -> None:
    assert semantic_hub.semantic is not None
    store = semantic_hub.store
    car = await store.create_thread(NewThread(thread_type=ThreadType.PROJECT, title="Car"))
    misc = await store.create_thread(NewThread(thread_type=ThreadType.PROJECT, title="Misc"))
    await store.append_messages([NewMessage(thread_id=misc.id, content=t) for t in OTHERS])
    posted = await store.post_message(NewMessage(thread_id=car.id, content=CAR))
    done, total = await semantic_hub.semantic.vectors.count()
    assert total == len(OTHERS) + 1 and done < total  # nothing embedded on the write path
    seen: list[tuple[int, int]] = []
    await semantic_hub.semantic.backfill(lambda d, t: seen.append((d, t)))
    assert seen[-1] == (total, total)
    assert await semantic_hub.semantic.vectors.count() == (total, total)

    near = await semantic_hub.semantic.nearest("the dealership offer for my Golf", limit=2)
    assert near[0].id == posted.id
    only_misc = await semantic_hub.semantic.nearest("the dealership offer for my Golf", thread_ids=[misc.id])
    assert posted.id not in {h.id for h in only_misc} and len(only_misc) == len(OTHERS)


async def test_a_redacted_message_loses_its_meaning_and_is_embedded_again(sqlite_semantic_hub: Hub) -> None:
    index = sqlite_semantic_hub.semantic
    assert index is not None
    store = sqlite_semantic_hub.store
    life = await store.create_thread(NewThread(thread_type=ThreadType.PROJECT, title="Life"))
    await store.append_messages([NewMessage(thread_id=life.id, content=t) for t in OTHERS])
    car = await store.post_message(NewMessage(thread_id=life.id, content=CAR))
    await index.backfill(lambda d, t: None)
    assert (await index.nearest("selling my car to the dealer", limit=1))[0].id == car.id
    await edit_store(store).redact_message(car.id, "test")
    meanwhile = await store.post_message(NewMessage(thread_id=life.id, content="Watered the garden."))
    (vector,) = index.embedder.embed([meanwhile.content])
    await index.vectors.put([await last_seq(store)], vector[None, :])  # one more vector, not the tombstone's yet
    assert car.id not in {h.id for h in await index.nearest("selling my car to the dealer", limit=3)}
    assert await index.embed_pending() == 1  # the tombstone, queued by the edit, below where new ones start
    later = await store.post_message(NewMessage(thread_id=life.id, content="Booked the dentist for May."))
    assert [text for _, text in await index.vectors.pending(10)] == [later.content]  # only what came since
    assert await index.embed_pending() == 1 and await index.embed_pending() == 0
    done, total = await index.vectors.count()
    assert done == total == len(OTHERS) + 3


async def last_seq(store: Backend) -> int:
    assert isinstance(store, SqliteStore)
    seq: int = (await store.run(lambda c: c.execute("SELECT MAX(seq) FROM messages").fetchone()))[0]
    return seq


async def test_search_modes_through_the_tool(semantic_hub: Hub, sem_client: Client) -> None:
    assert semantic_hub.semantic is not None
    store = semantic_hub.store
    thread = await store.create_thread(NewThread(thread_type=ThreadType.PROJECT, title="Life"))
    await store.append_messages([NewMessage(thread_id=thread.id, content=t) for t in [CAR, *OTHERS]])
    await semantic_hub.semantic.backfill(lambda d, t: None)

    by_words = await call(sem_client, "search", query="dealership Golf", mode="text")
    (only,) = by_words["matches"]
    assert "[Golf] at the [dealership]" in only["snippet"]
    by_meaning = await call(sem_client, "search", query="dealership Golf", mode="meaning", limit=3)
    assert len(by_meaning["matches"]) == 3 and by_meaning["matches"][0]["snippet"] == CAR
    fused = await call(sem_client, "search", query="dealership Golf", limit=3)
    assert fused["matches"][0]["id"] == only["id"] and "[Golf]" in fused["matches"][0]["snippet"]  # found both ways
    status = await call(sem_client, "ask_status", topic="car purchase decision", max_threads=1)  # auto: fused
    assert status["threads"][0]["thread_id"] == thread.id


async def test_meaning_mode_without_an_embedder_is_a_clear_error(tmp_path: Path) -> None:
    async with open_hub(Settings(store=sqlite_url(tmp_path))) as hub, Client(create_server(hub)) as client:
        assert "needs semantic search, which is off here" in await error_of(
            client, "search", query="car", mode="meaning"
        )


async def test_embed_command_backfills_only_what_is_missing(tmp_path: Path, model_cache: Path) -> None:
    url = sqlite_url(tmp_path)
    async with open_hub(Settings(store=url)) as hub:  # semantic search off: nothing gets embedded
        thread = await hub.store.create_thread(NewThread(thread_type=ThreadType.PROJECT, title="Misc"))
        await hub.store.append_messages([NewMessage(thread_id=thread.id, content=t) for t in OTHERS])
    env = {"MAINLOOP_CONFIG": str(tmp_path / "absent.toml"), "PATH": str(VENV_BIN)}
    command = [str(VENV_BIN / "mainloop"), "embed", "--store", url, "--embedder", "static"]
    env["MAINLOOP_MODEL_CACHE"] = str(model_cache)
    done = await anyio.to_thread.run_sync(
        lambda: subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["embedded"] == len(OTHERS)
    again = await anyio.to_thread.run_sync(
        lambda: subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
    )
    assert json.loads(again.stdout)["embedded"] == 0


async def test_bigquery_redaction_removes_the_vector_and_a_late_put_of_the_old_text_is_refused(
    tmp_path: Path, model_cache: Path
) -> None:
    # No hub: its background indexer would embed the redacted message's tombstone at any moment (it
    # is a message without a vector), which made the counts below race with it.
    store = await open_store(bigquery_url(tmp_path))
    index = await open_semantic("static", model_cache, store)
    try:
        assert index is not None
        life = await store.create_thread(NewThread(thread_type=ThreadType.PROJECT, title="Life"))
        await store.append_messages([NewMessage(thread_id=life.id, content=t) for t in OTHERS])
        car = await store.post_message(NewMessage(thread_id=life.id, content=CAR))
        stale = [key for key, text in await index.vectors.pending(10) if text == CAR]  # read before the redaction
        await index.backfill(lambda d, t: None)
        assert (await index.nearest("selling my car to the dealer", limit=1))[0].id == car.id

        await edit_store(store).redact_message(car.id, "test")
        assert car.id not in {h.id for h in await index.nearest("selling my car to the dealer", limit=5)}
        assert await index.vectors.count() == (len(OTHERS), len(OTHERS) + 1)
        (vector,) = index.embedder.embed([CAR])
        await index.vectors.put(stale, vector[None, :])  # an indexer that read the text before the redaction
        assert await index.vectors.count() == (len(OTHERS), len(OTHERS) + 1)
        assert car.id not in {h.id for h in await index.nearest("selling my car to the dealer", limit=5)}
    finally:
        await store.close()


async def test_vector_search_sql_is_refused_by_the_emulator(tmp_path: Path) -> None:
    """The real-BigQuery path is sent as is: the emulator can't run VECTOR_SEARCH, and the day it can,
    this fails and that path can be tested here too."""
    from mainloop_mcp.errors import MainloopError
    from mainloop_mcp.store.bigquery.store import BigQueryStore
    from mainloop_mcp.store.bigquery.vectors import BigQueryVectors

    store = await BigQueryStore.open(bigquery_url(tmp_path).replace("vectors=exact", "vectors=search"))
    try:
        vectors = store.vectors("static", 3)
        assert isinstance(vectors, BigQueryVectors)
        with pytest.raises(MainloopError, match="VECTOR_SEARCH|syntax error"):
            await vectors.nearest(np.array([1.0, 0.0, 0.0], np.float32), limit=3)
    finally:
        await store.close()
