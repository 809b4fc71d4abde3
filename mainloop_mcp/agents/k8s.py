"""Kubernetes runner: one batch/v1 Job per agent run, built from the configured template.

Flow: create the Job (its pod mounts the prompt from a ConfigMap), create that ConfigMap owned by
the Job (so the Job's TTL cleans both), watch the Job until it completes or fails, then read the
result from the pod's log: the entrypoint (`mainloop agent-run`) prints one marker line of JSON.
Cancelling deletes the Job (Background propagation kills its pod).

API calls and RBAC verbs (k8s/base/rbac.yaml grants exactly these; tests/test_k8s_rbac.py checks):
jobs create/watch/delete, configmaps create, pods list, pods/log get.
The `kubernetes` client is an optional extra, imported only when this runner is chosen.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import anyio
import anyio.to_thread

from mainloop_mcp.agents.runner import AgentJob, Started
from mainloop_mcp.config import K8sJobTemplate, Settings
from mainloop_mcp.errors import AgentFailed, InvalidInput

RESULT_MARKER = "MAINLOOP_AGENT_RESULT "
PROMPT_DIR = "/etc/mainloop/prompt"
PROMPT_KEY = "prompt.md"
WORKSPACE = "/workspace"
AGENT_HOME = "/home/agent"
AGENT_UID = 1000  # the claude CLI refuses --dangerously-skip-permissions as root
WATCH_SECONDS = 50
LABEL_APP = "app.kubernetes.io/name"
LABEL_RUN = "mainloop.dev/run-id"
CREDENTIALS_SECRET = "mainloop-agent"


def job_name(run_id: str) -> str:
    return f"mainloop-{run_id.replace('_', '-').lower()}"[:63]


def build_job(
    job: AgentJob, template: K8sJobTemplate, timeout_seconds: float, work_subpath: str | None
) -> dict[str, Any]:
    """The batch/v1 Job manifest for one run (a plain dict: what is sent is what tests validate)."""
    name = job_name(job.run_id)
    labels = {LABEL_APP: "mainloop-agent", LABEL_RUN: job.run_id}
    if template.workspace_claim is not None:
        workspace: dict[str, Any] = {
            "name": "workspace",
            "persistentVolumeClaim": {"claimName": template.workspace_claim},
        }
    else:
        workspace = {"name": "workspace", "emptyDir": {}}
    workspace_mount: dict[str, Any] = {"name": "workspace", "mountPath": WORKSPACE}
    if template.workspace_claim is not None and work_subpath:
        workspace_mount["subPath"] = work_subpath
    container = {
        "name": "agent",
        "image": template.image,
        "command": ["mainloop", "agent-run", "--prompt-file", f"{PROMPT_DIR}/{PROMPT_KEY}", "--work-folder", WORKSPACE],
        "workingDir": WORKSPACE,
        "env": [
            {"name": "HOME", "value": AGENT_HOME},
            {"name": "MAINLOOP_RUN_ID", "value": job.run_id},
            {"name": "MAINLOOP_AGENT_WORK_ROOTS", "value": json.dumps([WORKSPACE])},
        ],
        "envFrom": [{"secretRef": {"name": CREDENTIALS_SECRET, "optional": True}}],
        "resources": {
            "requests": {"cpu": template.cpu_request, "memory": template.memory_request},
            "limits": {"cpu": template.cpu_limit, "memory": template.memory_limit},
        },
        "securityContext": {
            "allowPrivilegeEscalation": False,
            "capabilities": {"drop": ["ALL"]},
            "runAsNonRoot": True,
        },
        "volumeMounts": [
            {"name": "prompt", "mountPath": PROMPT_DIR, "readOnly": True},
            workspace_mount,
            {"name": "home", "mountPath": AGENT_HOME},
        ],
    }
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": name, "namespace": template.namespace, "labels": labels},
        "spec": {
            "backoffLimit": template.backoff_limit,
            "ttlSecondsAfterFinished": template.ttl_seconds_after_finished,
            "activeDeadlineSeconds": max(1, int(timeout_seconds)),
            "template": {
                "metadata": {"labels": labels},
                "spec": {
                    "restartPolicy": "Never",
                    "serviceAccountName": template.service_account,
                    "automountServiceAccountToken": False,
                    "securityContext": {
                        "runAsNonRoot": True,
                        "runAsUser": AGENT_UID,
                        "runAsGroup": AGENT_UID,
                        "fsGroup": AGENT_UID,
                        "seccompProfile": {"type": "RuntimeDefault"},
                    },
                    "containers": [container],
                    "volumes": [
                        {
                            "name": "prompt",
                            "configMap": {"name": name, "items": [{"key": PROMPT_KEY, "path": PROMPT_KEY}]},
                        },
                        workspace,
                        {"name": "home", "emptyDir": {}},
                    ],
                },
            },
        },
    }


def build_prompt_config_map(job: AgentJob, namespace: str, job_uid: str) -> dict[str, Any]:
    """The prompt travels as a ConfigMap (env and argv are capped at 128 KiB; a ConfigMap holds 1 MiB)."""
    name = job_name(job.run_id)
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {
            "name": name,
            "namespace": namespace,
            "labels": {LABEL_APP: "mainloop-agent", LABEL_RUN: job.run_id},
            "ownerReferences": [
                {"apiVersion": "batch/v1", "kind": "Job", "name": name, "uid": job_uid, "blockOwnerDeletion": False}
            ],
        },
        "data": {PROMPT_KEY: job.prompt},
    }


def result_line(ok: bool, text: str) -> str:
    """What the in-pod entrypoint prints last; `parse_result` reads it back from the pod log."""
    return RESULT_MARKER + json.dumps({"ok": ok, "output" if ok else "error": text})


def parse_result(log: str, job: str) -> str:
    for line in reversed(log.splitlines()):
        if line.startswith(RESULT_MARKER):
            data = json.loads(line[len(RESULT_MARKER) :])
            if data.get("ok"):
                return str(data["output"])
            raise AgentFailed(f"Job {job}: {data.get('error', 'no detail')}")
    tail = "\n".join(log.splitlines()[-20:])
    raise AgentFailed(
        f"Job {job} ended without a result line (crashed, or its log was rotated away); last log lines:\n{tail}"
    )


def _finished(job: Any) -> str | None:
    """'Complete' or 'Failed' once the Job has that condition, else None."""
    for condition in (job.status.conditions or []) if job.status else []:
        if condition.type in ("Complete", "Failed") and condition.status == "True":
            return f"{condition.type}: {condition.reason or ''} {condition.message or ''}".strip()
    return None


class KubernetesRunner:
    """Runs each agent as a Job; at most `concurrency` Jobs at once, the rest wait here."""

    name = "kubernetes"

    def __init__(
        self,
        template: K8sJobTemplate,
        work_roots: list[Path],
        concurrency: int,
        timeout_seconds: float,
        batch: Any,
        core: Any,
        watch_factory: Callable[[], Any],
    ) -> None:
        self._template = template
        self._roots = work_roots
        self._limiter = anyio.CapacityLimiter(concurrency)
        self._timeout = timeout_seconds
        self._batch, self._core, self._watch = batch, core, watch_factory

    @classmethod
    def from_settings(cls, settings: Settings) -> KubernetesRunner:
        try:
            from kubernetes import client, config, watch
        except ImportError as exc:
            raise InvalidInput(
                "agent_runner = 'kubernetes' needs the kubernetes client: MAINLOOP_EXTRAS=kubernetes scripts/setup"
            ) from exc
        try:
            if settings.kubeconfig is not None:
                config.load_kube_config(config_file=str(settings.kubeconfig))  # type: ignore[no-untyped-call]
            else:
                config.load_incluster_config()  # type: ignore[no-untyped-call]
        except (config.ConfigException, OSError) as exc:
            raise InvalidInput(
                f"no Kubernetes configuration found ({settings.kubeconfig or 'in-cluster'}): {exc}; "
                "run the hub in the cluster or set MAINLOOP_KUBECONFIG"
            ) from exc
        return cls(
            settings.k8s_job,
            settings.agent_work_roots,
            settings.agent_concurrency,
            settings.agent_timeout_seconds,
            client.BatchV1Api(),
            client.CoreV1Api(),
            watch.Watch,
        )

    def _subpath(self, folder: Path) -> str | None:
        for root in self._roots:
            real = root.expanduser().resolve()
            if folder == real or folder.is_relative_to(real):
                return str(folder.relative_to(real)) or None
        return None

    async def run(self, job: AgentJob, started: Started) -> str:
        ns = self._template.namespace
        name = job_name(job.run_id)
        async with self._limiter:
            body = build_job(job, self._template, self._timeout, self._subpath(job.work_folder))
            created = await anyio.to_thread.run_sync(lambda: self._batch.create_namespaced_job(ns, body))
            try:
                config_map = build_prompt_config_map(job, ns, created.metadata.uid)
                await anyio.to_thread.run_sync(lambda: self._core.create_namespaced_config_map(ns, config_map))
                await started(name)
                with anyio.fail_after(self._timeout):
                    outcome = await self._wait(name)
                log = await anyio.to_thread.run_sync(lambda: self._pod_log(name))
            except BaseException:
                with anyio.CancelScope(shield=True):
                    await anyio.to_thread.run_sync(lambda: self._delete(name))
                raise
        if outcome.startswith("Failed") and RESULT_MARKER not in log:
            raise AgentFailed(f"Job {name} failed ({outcome}) without a result; log tail:\n{log[-2000:]}")
        return parse_result(log, name)

    async def _wait(self, name: str) -> str:
        while True:
            outcome = await anyio.to_thread.run_sync(lambda: self._watch_once(name), abandon_on_cancel=True)
            if outcome is not None:
                return outcome

    def _watch_once(self, name: str) -> str | None:
        """One watch of this Job (bounded, so an abandoned thread ends soon); its outcome if it finished."""
        watcher = self._watch()
        for event in watcher.stream(
            self._batch.list_namespaced_job,
            self._template.namespace,
            field_selector=f"metadata.name={name}",
            timeout_seconds=WATCH_SECONDS,
        ):
            if event["type"] == "DELETED":
                watcher.stop()
                return f"Failed: the Job {name} was deleted"
            outcome = _finished(event["object"])
            if outcome is not None:
                watcher.stop()
                return outcome
        return None

    def _pod_log(self, name: str) -> str:
        pods = self._core.list_namespaced_pod(self._template.namespace, label_selector=f"job-name={name}").items
        if not pods:
            return ""
        newest = max(pods, key=lambda p: (p.metadata.creation_timestamp is not None, p.metadata.creation_timestamp))
        return str(
            self._core.read_namespaced_pod_log(newest.metadata.name, self._template.namespace, container="agent")
        )

    def _delete(self, name: str) -> None:
        from kubernetes.client.exceptions import ApiException

        try:
            self._batch.delete_namespaced_job(name, self._template.namespace, propagation_policy="Background")
        except ApiException as exc:
            if exc.status != 404:
                raise
