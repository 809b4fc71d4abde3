"""How a tool presents itself in tools/list: a title, the four annotations, and lean JSON schemas.

Every tool module lists `ToolSpec`s; server.py registers them. The tool list is read by the model
in every session, so schemas lose what only a code generator needs (pydantic's per-field `title`,
and descriptions inside output schemas, which the model never acts on).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from mcp.types import ToolAnnotations


@dataclass(frozen=True)
class ToolSpec:
    fn: Callable[..., Any]
    title: str
    read_only: bool = False
    destructive: bool = False
    idempotent: bool = False
    open_world: bool = False

    @property
    def name(self) -> str:
        return self.fn.__name__

    @property
    def description(self) -> str:
        """The docstring as one paragraph per blank-line block (no source indentation)."""
        paragraphs = inspect.cleandoc(self.fn.__doc__ or "").split("\n\n")
        return "\n".join(" ".join(p.split()) for p in paragraphs)

    def annotations(self) -> ToolAnnotations:
        """All four hints; destructive/idempotent apply only to tools that write (the spec's rule)."""
        if self.read_only:
            return ToolAnnotations(read_only_hint=True, open_world_hint=self.open_world)
        return ToolAnnotations(
            read_only_hint=False,
            destructive_hint=self.destructive,
            idempotent_hint=self.idempotent,
            open_world_hint=self.open_world,
        )


def reads(fn: Callable[..., Any], title: str) -> ToolSpec:
    """A tool that only reads the hub."""
    return ToolSpec(fn, title, read_only=True, idempotent=True)


def input_schema(schema: dict[str, Any]) -> dict[str, Any]:
    """An input schema the model reads: enums inline, optional-null folded, no generated titles."""
    defs = schema.get("$defs", {})
    props = {name: _lean_param(p, defs) for name, p in schema.get("properties", {}).items()}
    out: dict[str, Any] = {"type": "object", "properties": props}
    if schema.get("required"):
        out["required"] = schema["required"]
    return out


def _lean_param(p: dict[str, Any], defs: dict[str, Any]) -> dict[str, Any]:
    out = {k: v for k, v in _resolve(p, defs).items() if k not in ("title", "anyOf", "default")}
    options = [_resolve(o, defs) for o in p.get("anyOf", [])]
    real = [o for o in options if o.get("type") != "null"]
    if len(real) == 1:
        out.update({k: v for k, v in real[0].items() if k not in ("title", "description")})
        if p.get("default") is not None and len(options) > 1:  # null is a meaningful value here
            out["type"] = [real[0].get("type", "string"), "null"]
    elif options:
        out["anyOf"] = options
    if p.get("default") is not None:
        out["default"] = p["default"]
    if "properties" in out:
        out = {**out, "properties": {k: _lean_param(v, defs) for k, v in out["properties"].items()}}
    if isinstance(out.get("items"), dict):
        out["items"] = _lean_param(out["items"], defs)
    return out


def output_schema(schema: dict[str, Any] | None) -> dict[str, Any] | None:
    """An output schema outline: the top-level keys every result has, and their JSON types.

    Optional keys (absent when empty) are left to `additionalProperties`, which JSON Schema allows by
    default; results still validate against the full model on the server before they are sent.
    """
    if schema is None:
        return None
    defs = schema.get("$defs", {})
    always = set(schema.get("required", []))
    props = {name: {"type": _json_type(p, defs)} for name, p in schema.get("properties", {}).items() if name in always}
    return {"type": "object", "properties": props}


def _resolve(p: dict[str, Any], defs: dict[str, Any]) -> dict[str, Any]:
    ref = p.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/$defs/"):
        # A class docstring is no parameter description: only the definition's shape is taken.
        shape = {k: v for k, v in defs.get(ref.removeprefix("#/$defs/"), {}).items() if k != "description"}
        return {**shape, **{k: v for k, v in p.items() if k != "$ref"}}
    return p


def _json_type(p: dict[str, Any], defs: dict[str, Any]) -> str | list[str]:
    p = _resolve(p, defs)
    if "anyOf" in p:
        kinds: list[str] = []
        for option in p["anyOf"]:
            kind = _json_type(option, defs)
            kinds += kind if isinstance(kind, list) else [kind]
        # Results never carry null keys (tools/present.py drops them), so "or null" is left out.
        unique = [k for k in dict.fromkeys(kinds) if k != "null"] or ["null"]
        return unique[0] if len(unique) == 1 else unique
    declared = p.get("type")
    if isinstance(declared, str):
        return declared
    return "object" if "properties" in p else "string"
