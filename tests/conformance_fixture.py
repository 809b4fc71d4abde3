"""Test-only: the fixed names the official MCP conformance suite calls, on mainloop's own server.

`@modelcontextprotocol/conformance` checks a server by calling tools, resources and prompts with
fixed names (`test_simple_text`, `test://static-text`, `test_simple_prompt`, ...). They mean
nothing to a user, so they never ship: this module adds them to the server `create_server(hub)`
builds and serves it through `create_app(hub, server)`, the same Starlette app, transport
security and session manager `mainloop serve` uses. Run it as `python -m tests.conformance_fixture`
with the usual MAINLOOP_* environment.
"""

from __future__ import annotations

import asyncio
import base64
import json
import struct
import zlib
from collections.abc import Callable
from typing import Any

import anyio
import mcp.types as t
import uvicorn
from mcp.server import MCPServer
from mcp.server.mcpserver import Context
from mcp.server.mcpserver.prompts.base import Message, UserMessage
from pydantic import BaseModel, Field

from mainloop_mcp.config import load_settings
from mainloop_mcp.hub import open_hub
from mainloop_mcp.server import create_server
from mainloop_mcp.web.app import create_app


def _png_1x1() -> bytes:
    """A valid 1x1 grey PNG, built here rather than pasted as base64."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", 1, 1, 8, 0, 0, 0, 0)
    pixels = zlib.compress(b"\x00\x80")
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")


def _wav_silence() -> bytes:
    """A valid WAV file: 8 kHz mono 16-bit, one silent sample."""
    samples = b"\x00\x00"
    fmt = struct.pack("<HHIIHH", 1, 1, 8000, 16000, 2, 16)
    body = b"WAVE" + b"fmt " + struct.pack("<I", len(fmt)) + fmt + b"data" + struct.pack("<I", len(samples)) + samples
    return b"RIFF" + struct.pack("<I", len(body)) + body


PNG = base64.b64encode(_png_1x1()).decode()
WAV = base64.b64encode(_wav_silence()).decode()


def _image() -> t.ImageContent:
    return t.ImageContent(type="image", data=PNG, mime_type="image/png")


def _text_resource(uri: str, text: str, mime_type: str = "text/plain") -> t.EmbeddedResource:
    return t.EmbeddedResource(type="resource", resource=t.TextResourceContents(uri=uri, mime_type=mime_type, text=text))


# --- tools ---------------------------------------------------------------------------------------


def test_simple_text() -> str:
    """Returns one text block."""
    return "This is a simple text response for testing."


def test_image_content() -> list[t.ImageContent]:
    """Returns one PNG image block."""
    return [_image()]


def test_audio_content() -> list[t.AudioContent]:
    """Returns one WAV audio block."""
    return [t.AudioContent(type="audio", data=WAV, mime_type="audio/wav")]


def test_embedded_resource() -> list[t.EmbeddedResource]:
    """Returns one embedded text resource."""
    return [_text_resource("test://embedded-resource", "This is an embedded resource content.")]


def test_multiple_content_types() -> list[t.TextContent | t.ImageContent | t.EmbeddedResource]:
    """Returns text, an image and an embedded resource in one result."""
    return [
        t.TextContent(type="text", text="Multiple content types test:"),
        _image(),
        _text_resource("test://mixed-content-resource", json.dumps({"test": "data", "value": 123}), "application/json"),
    ]


async def test_tool_with_logging(ctx: Context) -> str:
    """Sends three info log notifications about 50 ms apart while it runs."""
    for i, text in enumerate(("Tool execution started", "Tool processing data", "Tool execution completed")):
        if i:
            await asyncio.sleep(0.05)
        await ctx.info(text)
    return "Tool with logging executed successfully"


async def test_tool_with_progress(ctx: Context) -> str:
    """Reports progress 0, 50 and 100 of 100."""
    for i, step in enumerate((0, 50, 100)):
        if i:
            await asyncio.sleep(0.05)
        await ctx.report_progress(progress=step, total=100, message=f"Completed step {step} of 100")
    return "Progress reported"


def test_error_handling() -> str:
    """Always fails, so the client sees a tool error."""
    raise RuntimeError("This tool intentionally returns an error for testing")


async def test_sampling(prompt: str, ctx: Context) -> str:
    """Asks the client's model to answer `prompt` (sampling/createMessage)."""
    message = t.SamplingMessage(role="user", content=t.TextContent(type="text", text=prompt))
    result = await ctx.session.create_message(messages=[message], max_tokens=100, related_request_id=ctx.request_id)
    text = result.content.text if isinstance(result.content, t.TextContent) else "(no text)"
    return f"LLM response: {text}"


class Contact(BaseModel):
    username: str = Field(description="User's response")
    email: str = Field(description="User's email address")


async def test_elicitation(message: str, ctx: Context) -> str:
    """Asks the user for a username and an email (elicitation/create)."""
    result = await ctx.elicit(message=message, schema=Contact)
    content = result.data.model_dump_json() if result.action == "accept" else "{}"
    return f"User response: action={result.action}, content={content}"


class Defaults(BaseModel):
    name: str = Field(default="John Doe", description="User name")
    age: int = Field(default=30, description="User age")
    score: float = Field(default=95.5, description="User score")
    status: str = Field(
        default="active", description="User status", json_schema_extra={"enum": ["active", "inactive", "pending"]}
    )
    verified: bool = Field(default=True, description="Verification status")


async def test_elicitation_sep1034_defaults(ctx: Context) -> str:
    """Elicits a form whose every primitive field has a default (SEP-1034)."""
    result = await ctx.elicit(message="Please provide user information", schema=Defaults)
    content = result.data.model_dump_json() if result.action == "accept" else "{}"
    return f"Elicitation completed: action={result.action}, content={content}"


ENUM_FORM: dict[str, Any] = {
    "type": "object",
    "properties": {
        "untitledSingle": {"type": "string", "enum": ["option1", "option2", "option3"]},
        "titledSingle": {
            "type": "string",
            "oneOf": [
                {"const": "value1", "title": "First Option"},
                {"const": "value2", "title": "Second Option"},
                {"const": "value3", "title": "Third Option"},
            ],
        },
        "legacyEnum": {
            "type": "string",
            "enum": ["opt1", "opt2", "opt3"],
            "enumNames": ["Option One", "Option Two", "Option Three"],
        },
        "untitledMulti": {"type": "array", "items": {"type": "string", "enum": ["option1", "option2", "option3"]}},
        "titledMulti": {
            "type": "array",
            "items": {
                "anyOf": [
                    {"const": "value1", "title": "First Choice"},
                    {"const": "value2", "title": "Second Choice"},
                    {"const": "value3", "title": "Third Choice"},
                ]
            },
        },
    },
}


async def test_elicitation_sep1330_enums(ctx: Context) -> str:
    """Elicits a form with the five enum shapes of SEP-1330."""
    result = await ctx.session.elicit_form(
        message="Please select values using different enum schema types",
        requested_schema=ENUM_FORM,
        related_request_id=ctx.request_id,
    )
    return f"Elicitation completed: action={result.action}, content={json.dumps(result.content or {})}"


class Address(BaseModel):
    street: str | None = None
    city: str | None = None


async def json_schema_2020_12_tool(name: str | None = None, address: Address | None = None) -> str:
    """Tool with JSON Schema 2020-12 features."""
    return f"name={name} address={address}"


# SEP-1613: these keywords must survive tools/list. MCPServer derives inputSchema from the signature
# and has no public way to hand it one, so add_conformance_fixture sets this on the registered tool.
SCHEMA_2020_12: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "$defs": {"address": {"type": "object", "properties": {"street": {"type": "string"}, "city": {"type": "string"}}}},
    "properties": {"name": {"type": "string"}, "address": {"$ref": "#/$defs/address"}},
    "additionalProperties": False,
}


async def test_reconnection(ctx: Context) -> str:
    """Logs before and after the point where an event-store server would close the SSE stream."""
    await ctx.info("Before disconnect")
    await ctx.close_sse_stream()
    await asyncio.sleep(0.2)
    await ctx.info("After reconnect")
    return "Reconnection test completed"


TOOLS: list[Callable[..., Any]] = [
    test_simple_text,
    test_image_content,
    test_audio_content,
    test_embedded_resource,
    test_multiple_content_types,
    test_tool_with_logging,
    test_tool_with_progress,
    test_error_handling,
    test_sampling,
    test_elicitation,
    test_elicitation_sep1034_defaults,
    test_elicitation_sep1330_enums,
    json_schema_2020_12_tool,
    test_reconnection,
]

# --- resources -----------------------------------------------------------------------------------


def static_text() -> str:
    """A static text resource."""
    return "This is the content of the static text resource."


def static_binary() -> bytes:
    """A static binary resource (a PNG image)."""
    return _png_1x1()


def template_data(id: str) -> str:
    """A templated resource that echoes its id."""
    return json.dumps({"id": id, "templateTest": True, "data": f"Data for ID: {id}"})


def watched() -> str:
    """A resource clients may subscribe to."""
    return "Watched resource content"


RESOURCES: list[tuple[str, str, str, Callable[..., Any]]] = [
    ("test://static-text", "static-text", "text/plain", static_text),
    ("test://static-binary", "static-binary", "image/png", static_binary),
    ("test://template/{id}/data", "template-data", "application/json", template_data),
    ("test://watched-resource", "watched-resource", "text/plain", watched),
]

# --- prompts -------------------------------------------------------------------------------------


def test_simple_prompt() -> list[Message]:
    """A prompt without arguments."""
    return [UserMessage("This is a simple prompt for testing.")]


def test_prompt_with_arguments(
    arg1: str = Field(description="First argument"), arg2: str = Field(description="Second argument")
) -> list[Message]:
    """A prompt with two required arguments."""
    return [UserMessage(f"Prompt with arguments: arg1='{arg1}', arg2='{arg2}'")]


def test_prompt_with_embedded_resource(resourceUri: str = Field(description="URI to embed")) -> list[Message]:
    """A prompt that embeds a resource."""
    return [
        UserMessage(_text_resource(resourceUri, "Embedded resource content for testing.")),
        UserMessage("Please process the embedded resource above."),
    ]


def test_prompt_with_image() -> list[Message]:
    """A prompt that carries an image."""
    return [UserMessage(_image()), UserMessage("Please analyze the image above.")]


PROMPTS: list[Callable[..., Any]] = [
    test_simple_prompt,
    test_prompt_with_arguments,
    test_prompt_with_embedded_resource,
    test_prompt_with_image,
]

# --- protocol handlers MCPServer has no public API for (mcp 2.3) ---------------------------------


async def _complete(
    ref: t.PromptReference | t.ResourceTemplateReference,
    argument: t.CompletionArgument,
    context: t.CompletionContext | None,
) -> t.Completion:
    return t.Completion(values=[], total=0, has_more=False)


def add_conformance_fixture(server: MCPServer[Any]) -> None:
    """Register every name the conformance suite calls on `server`."""
    for fn in TOOLS:
        server.add_tool(fn)
    tool = server._tool_manager.get_tool(json_schema_2020_12_tool.__name__)
    assert tool is not None
    tool.parameters = SCHEMA_2020_12
    for uri, name, mime_type, resource_fn in RESOURCES:
        server.resource(uri, name=name, description=resource_fn.__doc__, mime_type=mime_type)(resource_fn)
    for prompt_fn in PROMPTS:
        server.prompt()(prompt_fn)
    server.completion()(_complete)  # type: ignore[no-untyped-call]


async def _serve() -> None:
    settings = load_settings()
    async with open_hub(settings) as hub:
        server = create_server(hub)
        add_conformance_fixture(server)
        app = create_app(hub, server)
        config = uvicorn.Config(app, host=settings.host, port=settings.port, log_level="warning", lifespan="on")
        await uvicorn.Server(config).serve()


if __name__ == "__main__":
    anyio.run(_serve)
