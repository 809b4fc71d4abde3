"""A thin, typed wrapper over google-cloud-bigquery: connect, check the dataset, run one statement.

Every call carries an explicit timeout (retries included) and runs in a worker thread, so a
stuck BigQuery or emulator shows up as a clear error instead of a hung event loop. Only single
statements are sent: parameterised multi-statement scripts are not run by the emulator.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import anyio.to_thread
from google.api_core import exceptions as gexc
from google.api_core.client_options import ClientOptions
from google.cloud import bigquery
from google.cloud.bigquery.retry import DEFAULT_JOB_RETRY, DEFAULT_RETRY

from mainloop_mcp.errors import MainloopError
from mainloop_mcp.store.bigquery.schema import DEFAULT_LOCATION, BigQueryTarget, table_specs

T = TypeVar("T")
SCOPES = ["https://www.googleapis.com/auth/bigquery"]
ROLES_HINT = (
    "the service account needs BigQuery Data Editor on the dataset (or on the project, to create it) "
    "and BigQuery Job User on the project"
)

Param = bigquery.ScalarQueryParameter | bigquery.ArrayQueryParameter


def scalar(name: str, kind: str, value: Any) -> bigquery.ScalarQueryParameter:
    return bigquery.ScalarQueryParameter(name, kind, value)


def array(name: str, kind: str, values: list[Any]) -> bigquery.ArrayQueryParameter:
    return bigquery.ArrayQueryParameter(name, kind, values)


def struct_array(name: str, rows: list[dict[str, tuple[str, Any]]]) -> bigquery.ArrayQueryParameter:
    """An ARRAY<STRUCT<...>> parameter from rows of {field: (type, value)}."""
    structs = [
        bigquery.StructQueryParameter(None, *(scalar(k, kind, v) for k, (kind, v) in row.items())) for row in rows
    ]
    return bigquery.ArrayQueryParameter(name, "STRUCT", structs)


def _credentials(target: BigQueryTarget) -> Any:
    if target.endpoint:
        from google.auth.credentials import AnonymousCredentials

        return AnonymousCredentials()  # type: ignore[no-untyped-call]
    import google.auth
    from google.auth.exceptions import DefaultCredentialsError

    try:
        credentials, _ = google.auth.default(scopes=SCOPES)
    except DefaultCredentialsError as exc:
        raise MainloopError(
            f"no Google credentials for the BigQuery store ({target.project}/{target.dataset}): {exc} "
            "Set GOOGLE_APPLICATION_CREDENTIALS to a service-account key file, run "
            "`gcloud auth application-default login`, or use Workload Identity on GKE; " + ROLES_HINT
        ) from None
    return credentials


class BigQueryClient:
    """One project/dataset; `await client.rows(sql, params)` and `await client.dml(sql, params)`."""

    def __init__(self, target: BigQueryTarget, client: bigquery.Client, location: str) -> None:
        self.target = target
        self.location = location
        self._client = client
        self._retry = DEFAULT_RETRY.with_timeout(target.timeout)
        self._job_retry = DEFAULT_JOB_RETRY.with_timeout(target.timeout)

    @classmethod
    async def connect(cls, target: BigQueryTarget) -> BigQueryClient:
        """Connect, check credentials and dataset location, create missing tables: all before the first write."""

        def connect() -> BigQueryClient:
            options = ClientOptions(api_endpoint=target.endpoint) if target.endpoint else None
            client = bigquery.Client(project=target.project, credentials=_credentials(target), client_options=options)
            try:
                location = _ensure_dataset(client, target)
                _ensure_tables(client, target)
            except BaseException:
                client.close()  # type: ignore[no-untyped-call]
                raise
            return cls(target, client, location)

        return await anyio.to_thread.run_sync(connect)

    async def call(self, fn: Callable[[bigquery.Client], T]) -> T:
        def guarded() -> T:
            try:
                return fn(self._client)
            except gexc.Forbidden as exc:
                raise MainloopError(f"BigQuery refused the request: {exc.message}; {ROLES_HINT}") from None
            except gexc.GoogleAPICallError as exc:
                raise MainloopError(f"BigQuery request failed ({exc.code}): {exc.message}; try again") from None
            except gexc.RetryError as exc:
                raise MainloopError(
                    f"BigQuery did not answer within {self.target.timeout:g} s ({exc.cause}); "
                    "check the network or raise ?timeout= in the store URL"
                ) from None

        return await anyio.to_thread.run_sync(guarded)

    def _run(self, client: bigquery.Client, sql: str, params: list[Any]) -> bigquery.QueryJob:
        # jobs.insert + getQueryResults rather than query_and_wait's jobs.query: the emulator's
        # jobs.query answers a failed statement with an empty result instead of the error.
        job = client.query(
            sql,
            job_config=bigquery.QueryJobConfig(query_parameters=params),
            location=self.location,
            timeout=self.target.timeout,
            retry=self._retry,
            job_retry=self._job_retry,
        )
        job.result(timeout=self.target.timeout, retry=self._retry)
        return job

    async def rows(self, sql: str, params: list[Any] | None = None) -> list[dict[str, Any]]:
        return await self.call(
            lambda c: [dict(r.items()) for r in self._run(c, sql, params or []).result(timeout=self.target.timeout)]
        )

    async def dml(self, sql: str, params: list[Any] | None = None) -> int:
        """Run one DML or DDL statement (atomic in BigQuery); returns the number of rows it changed."""
        return await self.call(lambda c: int(self._run(c, sql, params or []).num_dml_affected_rows or 0))

    async def close(self) -> None:
        await anyio.to_thread.run_sync(self._client.close)


def _ensure_dataset(client: bigquery.Client, target: BigQueryTarget) -> str:
    ref = f"{target.project}.{target.dataset}"
    try:
        dataset = client.get_dataset(ref, timeout=target.timeout, retry=DEFAULT_RETRY.with_timeout(target.timeout))
    except gexc.NotFound:
        new = bigquery.Dataset(ref)
        new.location = target.location or DEFAULT_LOCATION
        try:
            dataset = client.create_dataset(new, exists_ok=True, timeout=target.timeout)
        except gexc.Forbidden as exc:
            raise MainloopError(
                f"dataset {ref} does not exist and could not be created ({exc.message}); create it with "
                f"`bq mk --location={new.location} {ref}` or grant the right to; {ROLES_HINT}"
            ) from None
    except gexc.Forbidden as exc:
        raise MainloopError(f"no access to dataset {ref}: {exc.message}; {ROLES_HINT}") from None
    except (gexc.GoogleAPICallError, gexc.RetryError) as exc:
        raise MainloopError(f"could not reach BigQuery for dataset {ref}: {exc}") from None
    location = str(dataset.location or DEFAULT_LOCATION)
    if target.location and location.lower() != target.location.lower():
        raise MainloopError(
            f"dataset {ref} is in location {location}, but the store URL asks for location={target.location}; "
            f"use ?location={location} or point at a dataset in {target.location}"
        )
    return location


def _ensure_tables(client: bigquery.Client, target: BigQueryTarget) -> None:
    """Create the tables that are missing and add columns an existing table lacks (idempotent).

    `create_table(exists_ok=True)` hands back the existing table, so the check costs no extra call."""
    for name, (schema, partition_column, clustering) in table_specs().items():
        table = bigquery.Table(f"{target.project}.{target.dataset}.{name}", schema=schema)
        if partition_column:
            table.time_partitioning = bigquery.TimePartitioning(
                type_=bigquery.TimePartitioningType.DAY, field=partition_column
            )
        table.clustering_fields = clustering
        existing = client.create_table(table, exists_ok=True, timeout=target.timeout)
        have = {f.name for f in existing.schema}
        for field in (f for f in schema if f.name not in have):
            # DDL rather than a schema patch (the emulator records a patched schema but never adds the
            # column), one column per statement (the emulator runs one ALTER command per statement).
            ddl = f"ALTER TABLE {target.table(name)} ADD COLUMN IF NOT EXISTS {field.name} {field.field_type}"
            client.query(ddl, timeout=target.timeout).result(timeout=target.timeout)
