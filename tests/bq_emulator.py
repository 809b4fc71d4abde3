"""A real BigQuery emulator process (PyPI `bqemulator`) on a free loopback port, shared per test session.

DuckDB's `spatial` extension is required by the emulator and is normally downloaded at start;
no download is possible here, so the copy shipped by the PyPI package `duckdb-extension-spatial`
is put into a private HOME's extension directory before the emulator starts.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import duckdb
import httpx

PROJECT = "test-proj"
VENV_BIN = Path(sys.executable).parent


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _install_spatial(home: Path) -> None:
    import duckdb_extension_spatial

    version = f"v{duckdb.__version__}"
    shipped = Path(duckdb_extension_spatial.__file__).parent / "extensions" / version / "spatial.duckdb_extension"
    platform = duckdb.sql("SELECT platform FROM pragma_platform()").fetchone()
    assert platform is not None
    target = home / ".duckdb" / "extensions" / version / str(platform[0])
    target.mkdir(parents=True, exist_ok=True)
    shutil.copy(shipped, target / "spatial.duckdb_extension")


class Emulator:
    """Starts on first use (`Emulator.shared()`), stopped by the session fixture in conftest."""

    _shared: Emulator | None = None

    def __init__(self) -> None:
        self.home = Path(tempfile.mkdtemp(prefix="bqemu-"))
        _install_spatial(self.home)
        self.port = _free_port()
        self.log = self.home / "emulator.log"
        with self.log.open("wb") as out:
            self.proc = subprocess.Popen(
                [
                    str(VENV_BIN / "bqemulator"),
                    "start",
                    "--rest-port",
                    str(self.port),
                    "--grpc-port",
                    str(_free_port()),
                    "--project",
                    PROJECT,
                    "--log-level",
                    "warning",
                    "--no-admin",
                ],
                env={**os.environ, "HOME": str(self.home)},
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"bqemulator exited {self.proc.returncode}:\n{self.log.read_text()[-3000:]}")
            try:
                httpx.get(f"{self.endpoint}/bigquery/v2/projects/{PROJECT}/datasets", timeout=1)
                return
            except httpx.HTTPError:
                time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"bqemulator did not come up:\n{self.log.read_text()[-3000:]}")

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def url(self, dataset: str | None = None, **options: str) -> str:
        """A store URL on a fresh dataset (a new one per call keeps tests independent)."""
        dataset = dataset or f"t_{uuid.uuid4().hex[:12]}"
        query = "&".join(
            f"{k}={v}"
            for k, v in {
                "endpoint": self.endpoint,
                "timeout": "20",
                "search": "like",
                "vectors": "exact",
                **options,
            }.items()
        )
        return f"bigquery://{PROJECT}/{dataset}?{query}"

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        shutil.rmtree(self.home, ignore_errors=True)

    @classmethod
    def shared(cls) -> Emulator:
        if cls._shared is None:
            cls._shared = cls()
        return cls._shared

    @classmethod
    def stop_shared(cls) -> None:
        if cls._shared is not None:
            cls._shared.stop()
            cls._shared = None


class RealBigQuery:
    """Set MAINLOOP_TEST_BIGQUERY_PROJECT to run the store contract suite against real BigQuery
    (application default credentials); each test gets a fresh dataset, deleted at session end."""

    project = os.environ.get("MAINLOOP_TEST_BIGQUERY_PROJECT", "")
    location = os.environ.get("MAINLOOP_TEST_BIGQUERY_LOCATION", "US")
    created: list[str] = []

    @classmethod
    def url(cls) -> str:
        dataset = f"mainloop_test_{uuid.uuid4().hex[:12]}"
        cls.created.append(dataset)
        return f"bigquery://{cls.project}/{dataset}?location={cls.location}&timeout=60"

    @classmethod
    def delete_created(cls) -> None:
        if not cls.created:
            return
        from google.cloud import bigquery

        client = bigquery.Client(project=cls.project)
        for dataset in cls.created:
            client.delete_dataset(f"{cls.project}.{dataset}", delete_contents=True, not_found_ok=True, timeout=60)
        client.close()  # type: ignore[no-untyped-call]
        cls.created.clear()


def store_url() -> str:
    """The URL the store contract suite uses for its `bigquery` backend."""
    return RealBigQuery.url() if RealBigQuery.project else Emulator.shared().url()


def stop() -> None:
    Emulator.stop_shared()
    RealBigQuery.delete_created()
