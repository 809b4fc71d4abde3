"""The Role in k8s/base/rbac.yaml grants what the Kubernetes runner really uses.

The verbs are not listed by hand: the runner runs (a success, a failure, a cancel) with the official
client against the stand-in API server, which names each request the way the API server's authorizer
does (apiGroup, resource, verb). Every one of those must be granted by the Role bound to the hub's
ServiceAccount; the Role must grant no wildcards.
"""

from __future__ import annotations

from pathlib import Path

import anyio
import pytest
import yaml

from mainloop_mcp.agents.k8s import KubernetesRunner
from mainloop_mcp.agents.runner import AgentJob
from tests.agent_support import agent_settings, started_pids
from tests.fake_kube import rbac_triple, stand_in_cluster

pytestmark = pytest.mark.anyio
RBAC = Path(__file__).resolve().parent.parent / "k8s" / "base" / "rbac.yaml"


def granted() -> set[tuple[str, str, str]]:
    docs = [d for d in yaml.safe_load_all(RBAC.read_text()) if d]
    bindings = [d for d in docs if d["kind"] == "RoleBinding"]
    assert any(
        s["kind"] == "ServiceAccount" and s["name"] == "mainloop" and s["namespace"] == "mainloop"
        for b in bindings
        for s in b["subjects"]
    ), "no RoleBinding for ServiceAccount mainloop/mainloop"
    roles = {b["roleRef"]["name"] for b in bindings}
    rules = [r for d in docs if d["kind"] == "Role" and d["metadata"]["name"] in roles for r in d["rules"]]
    out = set()
    for rule in rules:
        for field in ("apiGroups", "resources", "verbs"):
            assert "*" not in rule[field], f"wildcard {field} in {rule}"
        out |= {(g, r, v) for g in rule["apiGroups"] for r in rule["resources"] for v in rule["verbs"]}
    return out


async def test_the_role_grants_every_verb_the_runner_uses(tmp_path: Path) -> None:
    (tmp_path / "work").mkdir()
    settings = agent_settings(tmp_path, agent_runner="kubernetes", kubeconfig=tmp_path / "kubeconfig")
    with stand_in_cluster(tmp_path) as cluster:
        runner = KubernetesRunner.from_settings(settings)

        async def started(_: str | None) -> None:
            return None

        def job(run_id: str, prompt: str) -> AgentJob:
            return AgentJob(run_id=run_id, prompt=prompt, work_folder=(tmp_path / "work").resolve())

        outcomes: dict[str, str] = {}

        async def run(run_id: str, prompt: str) -> None:
            try:
                outcomes[run_id] = await runner.run(job(run_id, prompt), started)
            except Exception as exc:
                outcomes[run_id] = f"error: {exc}"

        async with anyio.create_task_group() as tg:
            tg.start_soon(run, "run_ok", "ok")
            tg.start_soon(run, "run_fail", "FAIL")
            tg.start_soon(run, "run_cancel", "SLEEP=60")
            for _ in range(600):
                if len(started_pids(tmp_path)) == 3 and len(outcomes) == 2:
                    break
                await anyio.sleep(0.05)
            tg.cancel_scope.cancel()
        assert "last: ok" in outcomes["run_ok"] and "simulated failure" in outcomes["run_fail"]
        assert "run_cancel" not in outcomes
        used = set(cluster.requests)
        assert cluster.invalid == []
    assert ("batch", "jobs", "delete") in used, "the cancel path never ran"
    missing = used - granted()
    assert not missing, f"k8s/base/rbac.yaml lacks {sorted(missing)}"
    unused = {g for g in granted() if g[1] in {u[1] for u in used}} - used
    assert not unused, f"the Role grants {sorted(unused)} which the runner never uses"


def test_rbac_triples_follow_the_api_server_rules() -> None:
    assert rbac_triple("GET", "/apis/batch/v1/namespaces/m/jobs", {"watch": ["true"]}) == ("batch", "jobs", "watch")
    assert rbac_triple("GET", "/apis/batch/v1/namespaces/m/jobs", {}) == ("batch", "jobs", "list")
    assert rbac_triple("GET", "/api/v1/namespaces/m/pods/p1/log", {}) == ("", "pods/log", "get")
    assert rbac_triple("DELETE", "/apis/batch/v1/namespaces/m/jobs/j", {}) == ("batch", "jobs", "delete")
    assert rbac_triple("POST", "/api/v1/namespaces/m/configmaps", {}) == ("", "configmaps", "create")
