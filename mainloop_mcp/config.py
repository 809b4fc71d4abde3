"""Settings: environment (`MAINLOOP_*`) over an optional TOML file over defaults.

Built once by the CLI (or a test) and passed down; no other module reads the environment.
"""

from __future__ import annotations

import ipaddress
import os
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

import platformdirs
from pydantic import BaseModel, Field, SecretStr, field_validator, model_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

APP_NAME = "mainloop"


def default_store_url() -> str:
    return f"sqlite:///{Path(platformdirs.user_data_dir(APP_NAME)) / 'mainloop.db'}"


def default_config_file() -> Path:
    return Path(platformdirs.user_config_dir(APP_NAME)) / "config.toml"


def default_model_cache() -> Path:
    return Path(platformdirs.user_cache_dir(APP_NAME)) / "models"


def default_work_roots() -> list[Path]:
    return [Path(platformdirs.user_data_dir(APP_NAME)) / "work"]


def default_claude_code_mcp() -> Path:
    """claude-code-mcp as installed by scripts/setup into this checkout's node_modules (never a global one)."""
    return Path(__file__).resolve().parent.parent / "node_modules/@steipete/claude-code-mcp/dist/server.js"


STORE_SCHEMES = ("sqlite:///", "bigquery://")


def store_url_problem(url: str) -> str | None:
    """Why `url` can't name a store, or None (the settings and `open_store` both ask here)."""
    if url.startswith(STORE_SCHEMES):
        return None
    return f"store URL {url!r} must start with sqlite:/// or bigquery://"


class AgentBackend(BaseModel):
    """Any stdio MCP server that runs a prompt as one tool call; the default is claude-code-mcp.

    `arguments` maps the tool's argument names to templates over {prompt} and {work_folder}.
    """

    model_config = {"extra": "forbid"}

    name: str = Field(default="claude-code-mcp", description="Shown in run records and errors")
    command: list[str] | None = Field(
        default=None, min_length=1, description="Server argv; null = node <claude_code_mcp> with CLAUDE_CLI_NAME set"
    )
    tool: str = Field(default="claude_code", description="The tool that runs a prompt")
    arguments: dict[str, str] = Field(
        default_factory=lambda: {"prompt": "{prompt}", "workFolder": "{work_folder}"},
        description="Tool arguments as templates over {prompt} and {work_folder}",
    )
    env: dict[str, str] = Field(default_factory=dict, description="Extra environment for the server (e.g. IS_SANDBOX)")
    max_prompt_bytes: int = Field(
        default=120 * 1024, ge=1024, description="Longer prompts go into a file in the work folder (argv cap 128 KiB)"
    )


class K8sJobTemplate(BaseModel):
    """What every Kubernetes Job for an agent run is made of."""

    model_config = {"extra": "forbid"}

    namespace: str = "mainloop"
    image: str = Field(default="mainloop:latest", description="Image with mainloop, node and the agent CLI")
    service_account: str = Field(default="default", description="Runs the agent pod; it gets no API token mounted")
    cpu_request: str = "500m"
    memory_request: str = "512Mi"
    cpu_limit: str = "2"
    memory_limit: str = "2Gi"
    ttl_seconds_after_finished: int = Field(default=3600, ge=0)
    backoff_limit: int = Field(default=0, ge=0)
    workspace_claim: str | None = Field(
        default=None, description="PVC holding the work roots; the run's folder is mounted from it at /workspace"
    )


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


class Settings(BaseSettings):
    """Everything a user can configure. Field names map to `MAINLOOP_<NAME>` and to TOML keys."""

    model_config = SettingsConfigDict(env_prefix="MAINLOOP_", extra="forbid")

    store: str = Field(
        default_factory=default_store_url, description="Store URL: sqlite:///path or bigquery://project/dataset"
    )
    host: str = Field(default="127.0.0.1", description="Address `mainloop serve` binds to")
    port: int = Field(default=8765, ge=0, le=65535, description="Port `mainloop serve` listens on")
    token: SecretStr | None = Field(default=None, description="Bearer token for the HTTP endpoint")
    allowed_hosts: list[str] = Field(
        default_factory=list, description="Extra Host header values accepted by /mcp (e.g. mainloop.example.com)"
    )
    allowed_origins: list[str] = Field(
        default_factory=list, description="Extra Origin values accepted by /mcp (e.g. https://mainloop.example.com)"
    )
    cf_access_team_domain: str | None = Field(
        default=None,
        description="Cloudflare Access team domain (myteam.cloudflareaccess.com); with cf_access_aud, a valid "
        "Cf-Access-Jwt-Assertion header is accepted in place of the bearer token",
    )
    cf_access_aud: str | None = Field(default=None, description="Cloudflare Access application audience (AUD) tag")
    summariser: Literal["extractive", "agent"] = Field(
        default="extractive",
        description="Who writes pyramid summaries: extractive (offline, deterministic) or agent (the configured agent)",
    )
    embedder: Literal["none", "static", "minilm"] = Field(
        default="none",
        description="Semantic search: none (words only), static (fast token vectors) or minilm (the full "
        "transformer); needs the semantic extra and the packaged model (README)",
    )
    model_cache: Path = Field(
        default_factory=default_model_cache, description="Where the static embedder keeps its distilled table"
    )
    timezone: str = Field(default="UTC", description="IANA time zone for day/week/month buckets")
    push_dir: Path = Field(
        default_factory=lambda: Path(platformdirs.user_data_dir(APP_NAME)) / "push",
        description="Web Push: where the hub keeps its VAPID key pair and the subscribed devices",
    )
    push_contact: str = Field(
        default="mailto:mainloop@example.invalid",
        description="Web Push: the VAPID contact (mailto: or https:) push services may use to reach the hub's owner",
    )
    log_level: str = Field(default="INFO", description="Python log level")
    agent_work_roots: list[Path] = Field(
        default_factory=default_work_roots,
        min_length=1,
        description="Agents may only work inside these folders; the first is where chat replies run",
    )
    agent_concurrency: int = Field(default_factory=lambda: os.cpu_count() or 1, ge=1, description="Runs at once")
    agent_queue_limit: int = Field(default=1000, ge=0, description="Runs allowed to wait beyond the concurrency")
    agent_timeout_seconds: float = Field(default=1800, gt=0, description="A run taking longer is stopped")
    agent_runner: Literal["local", "kubernetes"] = Field(default="local", description="Where spawned agents run")
    agent_backend: AgentBackend = Field(default_factory=AgentBackend, description="The MCP server agents run on")
    agent_sandbox: Literal["none", "bubblewrap"] = Field(
        default="none",
        description="Local runner: 'bubblewrap' runs each agent read-write only in its work folder (needs bwrap)",
    )
    agent_sandbox_writable: list[Path] = Field(
        default_factory=list,
        description="With agent_sandbox=bubblewrap: more folders agents may write (e.g. ~/.claude for the real CLI)",
    )
    claude_code_mcp: Path = Field(
        default_factory=default_claude_code_mcp, description="claude-code-mcp's dist/server.js (npm, pinned)"
    )
    claude_cli: str = Field(default="claude", description="The claude CLI (CLAUDE_CLI_NAME); resolved to a full path")
    kubeconfig: Path | None = Field(
        default=None, description="Kubeconfig for agent_runner=kubernetes outside a cluster (else in-cluster config)"
    )
    k8s_job: K8sJobTemplate = Field(
        default_factory=K8sJobTemplate, description="Job template for agent_runner=kubernetes"
    )

    @field_validator("token")
    @classmethod
    def _blank_token_is_none(cls, v: SecretStr | None) -> SecretStr | None:
        return v if v is not None and v.get_secret_value().strip() else None

    @field_validator("store")
    @classmethod
    def _known_scheme(cls, v: str) -> str:
        problem = store_url_problem(v)
        if problem:
            raise ValueError(problem)
        return v

    @field_validator("cf_access_team_domain")
    @classmethod
    def _team_url(cls, v: str | None) -> str | None:
        """A bare team domain becomes its https URL; plain http is allowed only on loopback (tests)."""
        if v is None or not v.strip():
            return None
        url = v.strip().rstrip("/")
        if "://" not in url:
            url = f"https://{url}"
        parts = urlsplit(url)
        if parts.scheme != "https" and not (parts.scheme == "http" and is_loopback(parts.hostname or "")):
            raise ValueError(f"cf_access_team_domain {v!r} must be an https URL or a bare domain")
        return url

    @model_validator(mode="after")
    def _cf_access_pair(self) -> Settings:
        if (self.cf_access_team_domain is None) != (not self.cf_access_aud):
            raise ValueError("set both cf_access_team_domain and cf_access_aud (or neither) to use Cloudflare Access")
        return self

    @property
    def cf_access_enabled(self) -> bool:
        return self.cf_access_team_domain is not None and bool(self.cf_access_aud)

    @property
    def token_required(self) -> bool:
        return self.token is not None or not is_loopback(self.host)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        toml_file = Path(os.environ.get("MAINLOOP_CONFIG", default_config_file()))
        return (init_settings, env_settings, TomlConfigSettingsSource(settings_cls, toml_file=toml_file))


def load_settings(**overrides: Any) -> Settings:
    """Build the one Settings object; `overrides` win over env and file (used by CLI flags)."""
    return Settings(**{k: v for k, v in overrides.items() if v is not None})
