"""A stand-in Kubernetes API server for the Job runner tests (no real API server can run here).

It speaks the REST paths the official client uses, on 127.0.0.1, and:
- validates every object it is sent against the Kubernetes OpenAPI schema (kubernetes-validate, strict);
- acts as kubelet for agent Jobs: once a Job's prompt ConfigMap exists, it runs the Job's command
  (`mainloop agent-run ...`) as a local process, with the prompt file and work folder mapped to temp
  paths, keeps its output as the pod log and sets the Job's Complete/Failed condition when it exits;
- records every request as an RBAC (apiGroup, resource, verb) triple, so tests can compare the
  verbs the runner really used with the Role in k8s/base/rbac.yaml.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import kubernetes_validate

K8S_VERSION = "1.33"


def rbac_triple(method: str, path: str, query: dict[str, list[str]]) -> tuple[str, str, str]:
    """How the API server's authorizer names a request: (apiGroup, resource[/subresource], verb)."""
    parts = [p for p in path.split("/") if p]
    if parts[0] == "api":  # /api/v1/namespaces/{ns}/{resource}[/{name}[/{sub}]]
        group, rest = "", parts[2:]
    else:  # /apis/{group}/{version}/namespaces/{ns}/...
        group, rest = parts[1], parts[3:]
    rest = rest[2:] if rest[:1] == ["namespaces"] else rest
    resource = rest[0]
    named = len(rest) > 1
    if len(rest) > 2:
        resource += "/" + rest[2]
    if method == "GET":
        verb = "get" if named else ("watch" if query.get("watch", ["false"])[0] in ("true", "1") else "list")
    else:
        verb = {"POST": "create", "PUT": "update", "PATCH": "patch", "DELETE": "delete"}[method]
        if method == "DELETE" and not named:
            verb = "deletecollection"
    return group, resource, verb


class FakeCluster:
    def __init__(self, tmp: Path, env: dict[str, str], command_prefix: list[str]) -> None:
        self.tmp = tmp
        self.env = env
        self.command_prefix = command_prefix  # replaces the image's `mainloop` with this checkout's
        self.jobs: dict[str, dict[str, Any]] = {}
        self.config_maps: dict[str, dict[str, Any]] = {}
        self.procs: dict[str, subprocess.Popen[bytes]] = {}
        self.requests: list[tuple[str, str, str]] = []
        self.invalid: list[str] = []
        self.changed = threading.Condition()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def host(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def __enter__(self) -> FakeCluster:
        self.thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        for proc in self.procs.values():
            if proc.poll() is None:
                kill_container(proc.pid)
                proc.wait()
        self.server.shutdown()
        self.server.server_close()

    # kubelet -------------------------------------------------------------------------------

    def _start_pod(self, job_name: str) -> None:
        job = self.jobs[job_name]
        container = job["spec"]["template"]["spec"]["containers"][0]
        pod_dir = self.tmp / "pods" / job_name
        (pod_dir / "workspace").mkdir(parents=True)
        (pod_dir / "home").mkdir()
        prompt = self.config_maps[job_name]["data"]["prompt.md"]
        (pod_dir / "prompt.md").write_text(prompt, encoding="utf-8")
        mounts = {
            "/etc/mainloop/prompt/prompt.md": str(pod_dir / "prompt.md"),
            "/workspace": str(pod_dir / "workspace"),
        }
        args = [mounts.get(a, a) for a in container["command"][1:]]
        env = {**os.environ, **self.env, "HOME": str(pod_dir / "home")}
        env.update({e["name"]: e["value"] for e in container["env"] if e["name"] != "HOME"})
        env["MAINLOOP_AGENT_WORK_ROOTS"] = json.dumps([str(pod_dir / "workspace")])
        log = (pod_dir / "log").open("wb")
        proc = subprocess.Popen(
            [*self.command_prefix, *args], env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        self.procs[job_name] = proc
        job["status"] = {"active": 1, "startTime": _now()}
        job["_pod"] = {"name": f"{job_name}-{uuid.uuid4().hex[:5]}", "log": pod_dir / "log", "created": _now()}
        threading.Thread(target=self._await_pod, args=(job_name, proc), daemon=True).start()

    def _await_pod(self, job_name: str, proc: subprocess.Popen[bytes]) -> None:
        code = proc.wait()
        with self.changed:
            job = self.jobs.get(job_name)
            if job is not None:
                kind = "Complete" if code == 0 else "Failed"
                condition = {"type": kind, "status": "True", "reason": "BackoffLimitExceeded" if code else None}
                job["status"] = {
                    "succeeded" if code == 0 else "failed": 1,
                    "conditions": [{k: v for k, v in condition.items() if v is not None}],
                }
            self.changed.notify_all()

    # HTTP ----------------------------------------------------------------------------------

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        cluster = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *_: Any) -> None:
                pass

            def _reply(self, code: int, body: Any, content_type: str = "application/json") -> None:
                raw = body.encode() if isinstance(body, str) else json.dumps(body).encode()
                self.send_response(code)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

            def _route(self, method: str) -> None:
                url = urlparse(self.path)
                query = parse_qs(url.query)
                cluster.requests.append(rbac_triple(method, url.path, query))
                body = None
                if method in ("POST", "PUT", "PATCH", "DELETE"):
                    length = int(self.headers.get("Content-Length") or 0)
                    body = json.loads(self.rfile.read(length) or b"null")
                parts = [p for p in url.path.split("/") if p]
                try:
                    cluster.dispatch(self, method, parts, query, body)
                except Exception as exc:  # surfaces in the test as a 500 from the client
                    self._reply(500, {"kind": "Status", "message": repr(exc)})

            def do_GET(self) -> None:
                self._route("GET")

            def do_POST(self) -> None:
                self._route("POST")

            def do_DELETE(self) -> None:
                self._route("DELETE")

        return Handler

    def _validate(self, obj: dict[str, Any]) -> None:
        try:
            kubernetes_validate.validate(obj, K8S_VERSION, strict=True)
        except kubernetes_validate.ValidationError as exc:
            self.invalid.append(f"{obj.get('kind')}: {exc.message}")
            raise

    def dispatch(self, h: Any, method: str, parts: list[str], query: dict[str, list[str]], body: Any) -> None:
        path = "/".join(parts)
        if method == "POST" and path.endswith("/jobs"):
            self._validate(body)
            name = body["metadata"]["name"]
            body["metadata"].update(uid=str(uuid.uuid4()), creationTimestamp=_now(), resourceVersion="1")
            body["status"] = {}
            with self.changed:
                self.jobs[name] = body
            h._reply(201, _public(body))
        elif method == "POST" and path.endswith("/configmaps"):
            self._validate(body)
            name = body["metadata"]["name"]
            owner = body["metadata"]["ownerReferences"][0]
            assert self.jobs[owner["name"]]["metadata"]["uid"] == owner["uid"], "ConfigMap owner is not its Job"
            self.config_maps[name] = body
            with self.changed:
                self._start_pod(name)
            h._reply(201, body)
        elif method == "GET" and path.endswith("/jobs") and query.get("watch") == ["true"]:
            self._watch(h, query)
        elif method == "GET" and path.endswith("/pods"):
            selector = query["labelSelector"][0].split("=", 1)[1]
            job = self.jobs.get(selector)
            items = []
            if job and "_pod" in job:
                items.append({"metadata": {"name": job["_pod"]["name"], "creationTimestamp": job["_pod"]["created"]}})
            h._reply(200, {"kind": "PodList", "apiVersion": "v1", "metadata": {}, "items": items})
        elif method == "GET" and path.endswith("/log"):
            pod = parts[-2]
            job = next(j for j in self.jobs.values() if j.get("_pod", {}).get("name") == pod)
            h._reply(200, Path(job["_pod"]["log"]).read_text(), "text/plain")
        elif method == "DELETE" and "/jobs/" in f"/{path}":
            name = parts[-1]
            with self.changed:
                job = self.jobs.pop(name, None)
                proc = self.procs.get(name)
                if proc is not None and proc.poll() is None:
                    kill_container(proc.pid)  # Background propagation: the pod goes too
                self.changed.notify_all()
            if job is None:
                h._reply(404, {"kind": "Status", "apiVersion": "v1", "status": "Failure", "code": 404})
            else:
                h._reply(200, {"kind": "Status", "apiVersion": "v1", "status": "Success"})
        else:
            h._reply(404, {"kind": "Status", "apiVersion": "v1", "status": "Failure", "code": 404})

    def _watch(self, h: Any, query: dict[str, list[str]]) -> None:
        name = query["fieldSelector"][0].split("=", 1)[1]
        deadline = time.monotonic() + float(query.get("timeoutSeconds", ["30"])[0])
        h.send_response(200)
        h.send_header("Content-Type", "application/json")
        h.end_headers()

        def send(kind: str, job: dict[str, Any]) -> None:
            h.wfile.write((json.dumps({"type": kind, "object": _public(job)}) + "\n").encode())
            h.wfile.flush()

        with self.changed:
            job = self.jobs.get(name)
            if job is not None:
                send("ADDED", job)
            while job is not None and not job["status"].get("conditions") and time.monotonic() < deadline:
                self.changed.wait(timeout=0.5)
                job = self.jobs.get(name)
            if job is None:
                send("DELETED", {"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": name}, "status": {}})
            elif job["status"].get("conditions"):
                send("MODIFIED", job)
        h.close_connection = True


@contextmanager
def stand_in_cluster(tmp_path: Path) -> Iterator[FakeCluster]:
    """A FakeCluster whose pods run this checkout's `mainloop` against the stand-in claude, plus a
    kubeconfig for it at tmp_path/kubeconfig."""
    from tests.agent_support import FAKE_CLAUDE

    records = tmp_path / "claude-records"
    records.mkdir(exist_ok=True)
    env = {
        "MAINLOOP_CLAUDE_CLI": str(FAKE_CLAUDE),
        "MAINLOOP_AGENT_BACKEND": json.dumps({"env": {"FAKE_CLAUDE_DIR": str(records)}}),
        "MAINLOOP_CONFIG": str(tmp_path / "absent.toml"),
    }
    with FakeCluster(tmp_path, env, [str(Path(sys.executable).parent / "mainloop")]) as cluster:
        (tmp_path / "kubeconfig").write_text(
            json.dumps(
                {
                    "apiVersion": "v1",
                    "kind": "Config",
                    "clusters": [{"name": "fake", "cluster": {"server": cluster.host}}],
                    "users": [{"name": "hub", "user": {"token": "test"}}],
                    "contexts": [{"name": "fake", "context": {"cluster": "fake", "user": "hub"}}],
                    "current-context": "fake",
                }
            )
        )
        yield cluster


def _descendants(pid: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (FileNotFoundError, ProcessLookupError):
                continue
            children.setdefault(ppid, []).append(int(entry.name))
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def kill_container(pid: int) -> None:
    """What deleting a pod does to its container: every process in it dies, whatever its session."""
    for victim in [pid, *_descendants(pid)]:
        try:
            os.kill(victim, signal.SIGKILL)
        except ProcessLookupError:
            pass


def _public(job: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in job.items() if not k.startswith("_")}


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
