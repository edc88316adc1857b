"""The exports API's OpenAPI 3.1 document, a pure function of the manifest.

Built from the frozen signatures and types (`wiretypes`), never from the running code: no
reload can change it, so a client generated from it stays valid across every accepted save;
it changes only when the manifest does (`hotreload freeze`, then a restart). The JSON text is
byte-stable: the manifest's order, fixed indentation, and ``info.version`` a digest of the rest.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from hotreload.manifest import Manifest
from hotreload.web.wiretypes import (
    Api,
    ArrayOf,
    EnumType,
    LiteralOf,
    MapOf,
    Operation,
    Record,
    Ref,
    Scalar,
    TupleOf,
    TypeDef,
    UnionOf,
    WireType,
    literal_default,
    read_api,
)

OPENAPI_VERSION = "3.1.0"
PROBLEM = "application/problem+json"

_SCALAR_SCHEMAS: dict[str, dict[str, Any]] = {
    "int": {"type": "integer"},
    "float": {"type": "number"},
    "str": {"type": "string"},
    "bool": {"type": "boolean"},
    "bytes": {"type": "string"},
    "None": {"type": "null"},
    "Any": {},
    "datetime": {"type": "string", "format": "date-time"},
    "date": {"type": "string", "format": "date"},
    "time": {"type": "string", "format": "time"},
    "timedelta": {"type": "string", "format": "duration"},
    "UUID": {"type": "string", "format": "uuid"},
    "Decimal": {"anyOf": [{"type": "number"}, {"type": "string"}]},
    "Path": {"type": "string"},
}

# The errors every call may answer, by status: (component name, description).
_ERRORS = {
    "400": ("BadRequest", "The body is not JSON, or JSON nested too deeply."),
    "401": ("Unauthorized", "A bearer token is required and was missing or wrong."),
    "408": ("RequestTimeout", "The body did not arrive in time."),
    "413": ("ContentTooLarge", "The body is over the server's limit."),
    "415": ("UnsupportedMediaType", "The body is not application/json."),
    "422": ("InvalidArguments", "The arguments do not match the export's frozen signature."),
    "500": ("ExportFailed", "The export raised, or returned what its frozen type is not."),
}


def schema_name(module: str, name: str) -> str:
    """A frozen type's name under components/schemas: ``calculator.Item``."""
    return f"{module}.{name}"


def wire_schema(wire: WireType, module: str) -> dict[str, Any]:
    """The JSON Schema of a wire type (frozen types by reference)."""
    if isinstance(wire, Scalar):
        return dict(_SCALAR_SCHEMAS[wire.name])
    if isinstance(wire, ArrayOf):
        array: dict[str, Any] = {"type": "array", "items": wire_schema(wire.item, module)}
        if wire.unique:
            array["uniqueItems"] = True
        return array
    if isinstance(wire, TupleOf):
        n = len(wire.items)
        if not n:
            return {"type": "array", "maxItems": 0}
        items = [wire_schema(item, module) for item in wire.items]
        return {"type": "array", "prefixItems": items, "minItems": n, "maxItems": n}
    if isinstance(wire, MapOf):
        return {"type": "object", "additionalProperties": wire_schema(wire.value, module)}
    if isinstance(wire, UnionOf):
        return {"anyOf": [wire_schema(option, module) for option in wire.options]}
    if isinstance(wire, LiteralOf):
        if len(wire.values) == 1:
            return {"const": wire.values[0]}
        return {"enum": list(wire.values)}
    assert isinstance(wire, Ref)
    return {"$ref": f"#/components/schemas/{schema_name(module, wire.name)}"}


def _with_default(schema: dict[str, Any], default: str | None) -> dict[str, Any]:
    is_literal, value = literal_default(default)
    return {**schema, "default": value} if is_literal else schema


def type_schema(name: str, definition: TypeDef, module: str) -> dict[str, Any]:
    """A frozen type's schema: an object of its fields, or the names of an Enum's members."""
    if isinstance(definition, EnumType):
        return {"title": name, "type": "string", "enum": list(definition.members)}
    assert isinstance(definition, Record)
    schema: dict[str, Any] = {
        "title": name,
        "type": "object",
        "properties": {
            f.name: _with_default(wire_schema(f.type, module), f.default) for f in definition.fields
        },
    }
    required = [f.name for f in definition.fields if f.required]
    if required:
        schema["required"] = required
    schema["additionalProperties"] = False
    return schema


def arguments_schema(operation: Operation) -> dict[str, Any]:
    """The request body: the arguments by name (``*args`` as an array under its name,
    ``**kwargs`` as the other properties)."""
    properties: dict[str, Any] = {}
    extra: dict[str, Any] | bool = False
    for param in operation.params:
        schema = wire_schema(param.type, operation.module)
        if param.kind == "var_keyword":
            extra = schema
        elif param.kind == "var_positional":
            properties[param.name] = {"type": "array", "items": schema}
        else:
            properties[param.name] = _with_default(schema, param.default)
    body: dict[str, Any] = {"type": "object", "properties": properties}
    required = [p.name for p in operation.params if p.required]
    if required:
        body["required"] = required
    body["additionalProperties"] = extra
    return body


def operation_id(operation: Operation) -> str:
    """``calculator_add``: an identifier in every language a generator writes."""
    return f"{operation.module.replace('.', '_')}_{operation.function}"


def path_of(operation: Operation) -> str:
    return f"/call/{operation.module}/{operation.function}"


def _operation(operation: Operation, signature: str) -> dict[str, Any]:
    result = {
        "type": "object",
        "properties": {"result": wire_schema(operation.returns, operation.module)},
        "required": ["result"],
        "additionalProperties": False,
    }
    responses: dict[str, Any] = {
        "200": {
            "description": "The export's result.",
            "content": {"application/json": {"schema": result}},
        }
    }
    for status, (name, _) in _ERRORS.items():
        responses[status] = {"$ref": f"#/components/responses/{name}"}
    return {
        "operationId": operation_id(operation),
        "summary": f"{operation.module}.{operation.function}{signature}",
        "tags": [operation.module],
        "requestBody": {
            "required": any(p.required for p in operation.params),
            "content": {"application/json": {"schema": arguments_schema(operation)}},
        },
        "responses": responses,
    }


def _problem_schemas() -> dict[str, Any]:
    problem = {
        "title": "Problem",
        "description": "An error, as RFC 9457 problem details.",
        "type": "object",
        "properties": {
            "type": {"type": "string", "description": "A URI naming the kind of problem."},
            "title": {"type": "string"},
            "status": {"type": "integer"},
            "detail": {"type": "string", "description": "What went wrong, for a person."},
            "exception": {
                "type": "string",
                "description": "For an export that raised: the exception's type.",
            },
            "traceback": {
                "type": "string",
                "description": "For an export that raised, in a reloading profile only.",
            },
            "errors": {
                "type": "array",
                "description": "For invalid arguments: pydantic's errors, one per problem.",
                "items": {"$ref": "#/components/schemas/ValidationError"},
            },
        },
        "required": ["type", "title", "status", "detail"],
    }
    error = {
        "title": "ValidationError",
        "type": "object",
        "properties": {
            "type": {"type": "string"},
            "loc": {"type": "array", "items": {"anyOf": [{"type": "string"}, {"type": "integer"}]}},
            "msg": {"type": "string"},
            "input": {},
        },
        "required": ["type", "loc", "msg"],
    }
    return {"Problem": problem, "ValidationError": error}


def openapi_document(manifest: Manifest, api: Api | None = None) -> dict[str, Any]:
    """The OpenAPI 3.1 document of the manifest's exports (``api``: read from it if not given)."""
    api = api if api is not None else read_api(manifest)
    signatures = {
        (module, function): text
        for module, config in manifest.modules.items()
        for function, text in config.exports.items()
    }
    paths: dict[str, Any] = {}
    for operation in api.operations:
        signature = signatures[(operation.module, operation.function)]
        paths[path_of(operation)] = {"post": _operation(operation, signature)}
    paths["/events"] = {
        "get": {
            "operationId": "events",
            "summary": "The server's events (reloads accepted and rejected, ...) as "
            "Server-Sent Events: one JSON event a message, id = its seq.",
            "tags": ["server"],
            "responses": {
                "200": {
                    "description": "An endless event stream.",
                    "content": {"text/event-stream": {"schema": {"type": "string"}}},
                },
                "401": {"$ref": "#/components/responses/Unauthorized"},
            },
        }
    }
    schemas: dict[str, Any] = {}
    for module, defs in api.types.items():
        for name, definition in defs.items():
            schemas[schema_name(module, name)] = type_schema(name, definition, module)
    schemas.update(_problem_schemas())
    problem = {PROBLEM: {"schema": {"$ref": "#/components/schemas/Problem"}}}
    responses = {
        name: {"description": description, "content": problem}
        for name, description in _ERRORS.values()
    }
    body = {
        "paths": paths,
        "components": {
            "schemas": schemas,
            "responses": responses,
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
        # Without a token on a loopback address, or with one where the profile names token_env.
        "security": [{}, {"bearer": []}],
    }
    digest = hashlib.sha256(_dumps(body)).hexdigest()[:16]
    info = {
        "title": f"{manifest.project.name} exports",
        "version": digest,
        "description": "The exports of the hotreload manifest, served by `hotreload up` "
        "([serve] exports = true). Generated from the manifest's frozen signatures: it changes "
        "only when the manifest does, never on a reload. info.version is a digest of the "
        "contract.",
    }
    return {"openapi": OPENAPI_VERSION, "info": info, **body}


def _dumps(document: dict[str, Any]) -> bytes:
    return (json.dumps(document, indent=2, ensure_ascii=False) + "\n").encode()


def openapi_json(manifest: Manifest, api: Api | None = None) -> bytes:
    """The document as served: the same bytes for the same manifest, whatever else happens."""
    return _dumps(openapi_document(manifest, api))
