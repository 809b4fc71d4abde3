"""The Kubernetes runner with the official client against a stand-in API server (tests/fake_kube.py).

No real API server can run on this machine (no kube-apiserver/etcd/kind in the reachable registries),
so what is NOT run here: a real scheduler, kubelet, image pull, TTL controller and garbage collector.
What is: the real `kubernetes` client's HTTP calls and watch, every object checked against the
Kubernetes 1.33 OpenAPI schema, and the Job's own command (`mainloop agent-run`) really executed,
driving the real claude-code-mcp and the stand-in claude.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import kubernetes_validate
import pytest

from mainloop_mcp.agents.k8s import build_job, build_prompt_config_map, job_name
from mainloop_mcp.agents.runner import AgentJob
from mainloop_mcp.config import K8sJobTemplate, Settings
from mainloop_mcp.hub import Hub, open_hub
from mainloop_mcp.model import NewThread, RunStatus, ThreadType
from tests.agent_support import agent_settings, alive, started_pids
from tests.fake_kube import K8S_VERSION, FakeCluster, stand_in_cluster

pytestmark = pytest.mark.anyio


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[FakeCluster]:
    with stand_in_cluster(tmp_path) as c:
        yield c


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return agent_settings(
        tmp_path, agent_runner="kubernetes", agent_timeout_seconds=60, kubeconfig=tmp_path / "kubeconfig"
    )


@pytest.fixture
async def hub(settings: Settings, cluster: FakeCluster) -> AsyncIterator[Hub]:
    async with open_hub(settings) as h:
        yield h


async def _spawn(hub: Hub, tmp_path: Path, prompt: str) -> str:
    parent = await hub.store.create_thread(NewThread(thread_type=ThreadType.PROJECT, title="P"))
    return (await hub.agents.spawn(prompt, parent.id, str(tmp_path / "work"), "k8s run")).id


async def test_a_run_becomes_a_job_and_its_result_comes_from_the_pod_log(
    hub: Hub, cluster: FakeCluster, tmp_path: Path
) -> None:
    run_id = await _spawn(hub, tmp_path, "hello from the cluster")
    done = await hub.agents.wait(run_id)
    assert done.status is RunStatus.SUCCEEDED, done.error
    assert done.runner == "kubernetes" and done.external_id == job_name(run_id)
    assert "last: hello from the cluster" in (done.result or "")
    assert "flags: --dangerously-skip-permissions" in (done.result or "")
    job = cluster.jobs[job_name(run_id)]
    spec = job["spec"]
    assert spec["ttlSecondsAfterFinished"] == 3600 and spec["backoffLimit"] == 0
    assert spec["activeDeadlineSeconds"] == 60
    pod = spec["template"]["spec"]
    assert pod["serviceAccountName"] == "default" and pod["automountServiceAccountToken"] is False
    assert pod["securityContext"]["runAsUser"] == 1000
    assert pod["containers"][0]["resources"]["limits"] == {"cpu": "2", "memory": "2Gi"}
    assert cluster.config_maps[job_name(run_id)]["data"]["prompt.md"] == "hello from the cluster"
    assert cluster.invalid == []


async def test_a_failing_agent_in_the_pod_is_recorded_as_failed(hub: Hub, cluster: FakeCluster, tmp_path: Path) -> None:
    run_id = await _spawn(hub, tmp_path, "FAIL in the pod")
    done = await hub.agents.wait(run_id)
    assert done.status is RunStatus.FAILED
    assert "simulated failure (FAIL marker)" in (done.error or "") and job_name(run_id) in (done.error or "")


async def test_a_prompt_over_the_argv_cap_reaches_the_pod_through_the_config_map(
    hub: Hub, cluster: FakeCluster, tmp_path: Path
) -> None:
    prompt = "k8s context\n" * 15_000 + "final question"
    run_id = await _spawn(hub, tmp_path, prompt)
    done = await hub.agents.wait(run_id)
    assert done.status is RunStatus.SUCCEEDED, done.error
    assert "via=file" in (done.result or "") and "last: final question" in (done.result or "")


async def test_cancel_deletes_the_job_and_its_pod_dies(hub: Hub, cluster: FakeCluster, tmp_path: Path) -> None:
    import anyio

    run_id = await _spawn(hub, tmp_path, "SLEEP=60")
    for _ in range(400):
        if started_pids(tmp_path):
            break
        await anyio.sleep(0.05)
    pid = started_pids(tmp_path)[0]
    cancelled = await hub.agents.cancel(run_id)
    assert cancelled.status is RunStatus.CANCELLED
    assert job_name(run_id) not in cluster.jobs
    for _ in range(200):
        if not alive(pid):
            break
        await anyio.sleep(0.05)
    assert not alive(pid)


# the objects themselves, against the OpenAPI schema ------------------------------------------

TEMPLATES = {
    "defaults": K8sJobTemplate(),
    "claim and sizes": K8sJobTemplate(
        namespace="agents",
        image="registry.example/mainloop:1.2.3",
        service_account="agent-runner",
        cpu_request="250m",
        memory_request="256Mi",
        cpu_limit="4",
        memory_limit="8Gi",
        ttl_seconds_after_finished=0,
        backoff_limit=2,
        workspace_claim="mainloop-work",
    ),
}


@pytest.mark.parametrize("name", sorted(TEMPLATES))
def test_built_jobs_and_config_maps_pass_the_strict_schema(name: str) -> None:
    job = AgentJob(run_id="run_019ab3c4d5e6f7a8b9c0d1", prompt="x" * 500_000, work_folder=Path("/w/repo"))
    manifest = build_job(job, TEMPLATES[name], 1800, "repo")
    assert kubernetes_validate.validate(manifest, K8S_VERSION, strict=True)
    config_map = build_prompt_config_map(job, TEMPLATES[name].namespace, "0f6f2a4e-5b1c-4d43-9a55-7d8c2b1e9f00")
    assert kubernetes_validate.validate(config_map, K8S_VERSION, strict=True)
    mounts = manifest["spec"]["template"]["spec"]["containers"][0]["volumeMounts"]
    workspace = next(m for m in mounts if m["name"] == "workspace")
    assert workspace.get("subPath") == ("repo" if TEMPLATES[name].workspace_claim else None)
    assert len(manifest["metadata"]["name"]) <= 63


def test_the_schema_check_does_reject_a_broken_job() -> None:
    job = AgentJob(run_id="run_1", prompt="p", work_folder=Path("/w"))
    manifest = build_job(job, K8sJobTemplate(), 60, None)
    manifest["spec"]["template"]["spec"]["containers"][0]["resourcez"] = {}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(manifest, K8S_VERSION, strict=True)


@pytest.mark.parametrize("kubeconfig", [None, "missing"])
def test_settings_without_a_cluster_give_a_clear_error(tmp_path: Path, kubeconfig: str | None) -> None:
    from mainloop_mcp.agents.k8s import KubernetesRunner
    from mainloop_mcp.errors import InvalidInput

    path = tmp_path / kubeconfig if kubeconfig else None
    with pytest.raises(InvalidInput, match="no Kubernetes configuration found"):
        KubernetesRunner.from_settings(agent_settings(tmp_path, agent_runner="kubernetes", kubeconfig=path))


async def test_a_refused_kubernetes_runner_creates_no_run(tmp_path: Path) -> None:
    from mainloop_mcp.errors import InvalidInput

    async with open_hub(agent_settings(tmp_path, agent_runner="kubernetes", kubeconfig=tmp_path / "none")) as hub:
        parent = await hub.store.create_thread(NewThread(thread_type=ThreadType.PROJECT, title="P"))
        with pytest.raises(InvalidInput, match="no Kubernetes configuration"):
            await hub.agents.spawn("x", parent.id, str(tmp_path / "work"), None)
        assert (await hub.agents.list(None, None, 50, None)).runs == []
