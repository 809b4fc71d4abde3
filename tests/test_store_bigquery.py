"""BigQuery-only behaviour: start-up errors, table layout, concurrency. The shared rules run in
test_store_contract.py against the same emulator."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import anyio
import pytest
from google.api_core.client_options import ClientOptions
from google.auth.credentials import AnonymousCredentials
from google.cloud import bigquery

from mainloop_mcp.errors import InvalidInput, MainloopError
from mainloop_mcp.model import NewMessage, NewThread, ThreadFilter, ThreadType
from mainloop_mcp.store import open_store
from mainloop_mcp.store.bigquery.store import BigQueryStore
from tests.bq_emulator import PROJECT, Emulator
from tests.conftest import VENV_BIN, FakeClock

pytestmark = pytest.mark.anyio


@pytest.fixture(scope="module")
def emulator() -> Emulator:
    return Emulator.shared()


def raw_client(emulator: Emulator) -> bigquery.Client:
    return bigquery.Client(
        project=PROJECT,
        credentials=AnonymousCredentials(),  # type: ignore[no-untyped-call]
        client_options=ClientOptions(api_endpoint=emulator.endpoint),
    )


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("bigquery://my-project", "the dataset part is required"),
        ("bigquery://my-project/", "the dataset part is required"),
        ("bigquery:///dataset", "the dataset part is required"),
        ("bigquery://p/a/b", "the dataset part is required"),
        ("bigquery://p/bad-name", "only letters, digits and underscores"),
        ("bigquery://p/d?region=EU", "unknown option"),
        ("bigquery://p/d?timeout=soon", "timeout='soon'"),
    ],
)
async def test_bad_url_is_refused_before_any_request(url: str, message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        await open_store(url)


def test_missing_credentials_stop_serve_at_start_up(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GOOGLE_", "CLOUDSDK_", "GCE_"))}
    env |= {
        "HOME": str(tmp_path),
        "CLOUDSDK_CONFIG": str(tmp_path / "gcloud"),
        "NO_GCE_CHECK": "true",  # never probe the GCE metadata server from a test
        "GCE_METADATA_HOST": "127.0.0.1:9",
        "MAINLOOP_STORE": "bigquery://some-project/mainloop",
        "MAINLOOP_CONFIG": str(tmp_path / "absent.toml"),
    }
    done = subprocess.run(
        [str(VENV_BIN / "mainloop"), "serve", "--port", "0"], env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 2, done.stderr
    assert "no Google credentials for the BigQuery store (some-project/mainloop)" in done.stderr
    assert "GOOGLE_APPLICATION_CREDENTIALS" in done.stderr
    assert "Uvicorn running" not in done.stderr


async def test_dataset_in_another_location_is_refused(emulator: Emulator) -> None:
    client = raw_client(emulator)
    dataset = bigquery.Dataset(f"{PROJECT}.in_eu_{os.getpid()}")
    dataset.location = "EU"
    client.create_dataset(dataset, exists_ok=True, timeout=10)
    client.close()  # type: ignore[no-untyped-call]
    with pytest.raises(MainloopError, match="is in location EU, but the store URL asks for location=US"):
        await open_store(emulator.url(dataset.dataset_id, location="US"))
    store = await open_store(emulator.url(dataset.dataset_id, location="eu"))
    await store.close()


async def test_unreachable_endpoint_fails_fast_at_start_up() -> None:
    with pytest.raises(MainloopError, match="could not reach BigQuery|did not answer"):
        with anyio.fail_after(30):
            await open_store("bigquery://p/d?endpoint=http://127.0.0.1:9&timeout=2")


async def test_tables_are_partitioned_and_clustered(emulator: Emulator, clock: FakeClock) -> None:
    url = emulator.url()
    store = await open_store(url, clock=clock)
    await store.close()
    reopened = await open_store(url, clock=clock)  # creating tables again is a no-op
    await reopened.close()
    client = raw_client(emulator)
    dataset = url.split("/")[3].split("?")[0]
    tables = {t.table_id for t in client.list_tables(f"{PROJECT}.{dataset}", timeout=10)}
    messages = client.get_table(f"{PROJECT}.{dataset}.messages", timeout=10)
    client.close()  # type: ignore[no-untyped-call]
    assert tables == {"threads", "messages", "summaries", "agent_runs", "message_vectors", "import_sources"}
    assert messages.time_partitioning is not None
    assert messages.time_partitioning.field == "created_at"
    assert messages.time_partitioning.type_ == "DAY"
    assert messages.clustering_fields == ["thread_id"]
    assert {f.name: f.field_type for f in messages.schema}["metadata"] == "JSON"


async def test_concurrent_first_starts_make_one_main_thread(emulator: Emulator, clock: FakeClock) -> None:
    url = emulator.url()
    stores: list[BigQueryStore] = []

    async def start() -> None:
        store = await open_store(url, clock=clock)
        assert isinstance(store, BigQueryStore)
        stores.append(store)

    async with anyio.create_task_group() as tg:
        for _ in range(3):
            tg.start_soon(start)
    mains = {(await s.main_thread()).id for s in stores}
    page = await stores[0].list_threads(ThreadFilter(thread_type=ThreadType.MAIN, status=None))
    for s in stores:
        await s.close()
    assert len(mains) == 1
    assert [t.id for t in page.threads] == list(mains)


async def test_append_with_a_key_repeated_inside_the_batch_counts_once(emulator: Emulator, clock: FakeClock) -> None:
    store = await open_store(emulator.url(), clock=clock)
    try:
        pid = (await store.create_thread(NewThread(thread_type=ThreadType.PROJECT, title="p"))).id
        batch = [
            NewMessage(thread_id=pid, content="a", idempotency_key="dup"),
            NewMessage(thread_id=pid, content="a", idempotency_key="dup"),
            NewMessage(thread_id=pid, content="b"),
        ]
        assert await store.append_messages(batch) == 2
        assert await store.append_messages(batch) == 1  # only the key-less message is new
        assert [m.content for m in (await store.read_messages(pid)).messages] == ["b", "b", "a"]
    finally:
        await store.close()
