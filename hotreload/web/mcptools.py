"""The exports as MCP tools ([serve] mcp, the `mcp` extra): Streamable HTTP at ``/mcp`` of the
exports API, built on the official SDK's low-level server.

The tool list comes from the manifest, as the OpenAPI document does (one tool per served export,
its input schema the request body's, its output schema the answer's), so no reload changes it;
a call goes the way of ``POST /call/...`` (the same validation, the binding, the worker
threads). The SDK is imported only when the manifest asks for MCP.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import asynccontextmanager
from typing import Any

from pydantic import ValidationError

from hotreload.web.codec import BadJson, ResultInvalid
from hotreload.web.eventstream import Receive, Scope, Send
from hotreload.web.exportsapi import Export
from hotreload.web.openapi import arguments_schema, operation_id, wire_schema
from hotreload.web.wiretypes import Api

Invoke = Callable[[Export, list[Any], dict[str, Any]], Awaitable[Any]]
EXTRA = 'pip install "mcp>=2.3" uvicorn'


def tool_schemas(api: Api) -> dict[str, tuple[str, dict[str, Any], dict[str, Any]]]:
    """Per tool name: its description, input schema and output schema (frozen types under
    ``$defs``, as MCP clients expect self-contained schemas)."""
    tools: dict[str, tuple[str, dict[str, Any], dict[str, Any]]] = {}
    for operation in api.operations:
        defs = {name: _local(schema) for name, schema in _components(api, operation.module).items()}
        inputs = _local(arguments_schema(operation))
        output = {
            "type": "object",
            "properties": {"result": _local(wire_schema(operation.returns, operation.module))},
            "required": ["result"],
        }
        if defs:
            inputs["$defs"] = defs
            output["$defs"] = defs
        signature = ", ".join(p.name for p in operation.params)
        description = f"{operation.module}.{operation.function}({signature}), a hotreload export"
        tools[operation_id(operation)] = (description, inputs, output)
    return tools


def _components(api: Api, module: str) -> dict[str, Any]:
    from hotreload.web.openapi import schema_name, type_schema

    return {
        schema_name(module, name): type_schema(name, definition, module)
        for name, definition in api.types.get(module, {}).items()
    }


def _local(schema: Any) -> Any:
    """``#/components/schemas/X`` references as ``#/$defs/X``."""
    if isinstance(schema, dict):
        return {
            k: (
                v.replace("#/components/schemas/", "#/$defs/")
                if k == "$ref" and isinstance(v, str)
                else _local(v)
            )
            for k, v in schema.items()
        }
    if isinstance(schema, list):
        return [_local(v) for v in schema]
    return schema


class McpEndpoint:
    """The MCP server of the exports: an ASGI handler for ``/mcp`` and its lifespan."""

    def __init__(
        self, name: str, api: Api, exports: Mapping[tuple[str, str], Export], invoke: Invoke
    ) -> None:
        import mcp_types as types
        from mcp.server.lowlevel import Server
        from mcp.server.streamable_http_manager import StreamableHTTPSessionManager

        self._types = types
        schemas = tool_schemas(api)
        by_name = {
            operation_id(o): exports[(o.module, o.function)]
            for o in api.operations
            if (o.module, o.function) in exports
        }
        tools = [
            types.Tool(name=name, description=d, input_schema=i, output_schema=o)
            for name, (d, i, o) in schemas.items()
        ]

        async def list_tools(_context: Any, _params: Any) -> Any:
            return types.ListToolsResult(tools=tools)

        async def call_tool(_context: Any, params: Any) -> Any:
            export = by_name.get(params.name)
            if export is None:
                return self._error(f"no tool {params.name!r}; tools: {', '.join(by_name)}")
            return await self._call(export, params.arguments or {}, invoke)

        server: Any = Server(name, on_list_tools=list_tools, on_call_tool=call_tool)
        # Stateless and JSON answers: each tool call is one HTTP request, like POST /call/...
        self.manager = StreamableHTTPSessionManager(app=server, stateless=True, json_response=True)

    @asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        async with self.manager.run():
            yield

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.manager.handle_request(scope, receive, send)

    async def _call(self, export: Export, arguments: dict[str, Any], invoke: Invoke) -> Any:
        operation = export.call.operation
        name = f"{operation.module}.{operation.function}"
        try:
            args, kwargs = export.call.arguments(json.dumps(arguments).encode())
        except BadJson as e:
            return self._error(f"invalid arguments for {name}: {e}")
        except ValidationError as e:
            problems = "; ".join(
                f"{'.'.join(map(str, error['loc'])) or 'arguments'}: {error['msg']}"
                for error in e.errors(include_url=False)
            )
            return self._error(f"invalid arguments for {name}: {problems}")
        try:
            value = await invoke(export, args, kwargs)
        except Exception as e:
            return self._error(f"{name} raised {type(e).__qualname__}: {e}")
        try:
            answer = json.loads(export.call.result(value))
        except ResultInvalid as e:
            return self._error(f"{name} returned what its frozen return type is not: {e}")
        text = self._types.TextContent(type="text", text=json.dumps(answer["result"]))
        return self._types.CallToolResult(content=[text], structured_content=answer)

    def _error(self, message: str) -> Any:
        text = self._types.TextContent(type="text", text=message)
        return self._types.CallToolResult(content=[text], is_error=True)
