"""The OpenAPI document: a pure, byte-stable function of the manifest, and it describes exactly
what the server accepts (the same reading of the frozen annotations feeds both)."""

from __future__ import annotations

import json
import sys
import types
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator
from pydantic import ValidationError

from hotreload.manifest import Manifest, load_manifest, validate_manifest
from hotreload.web.codec import Call, ModuleTypes
from hotreload.web.openapi import openapi_document, openapi_json
from hotreload.web.wiretypes import read_api

REPO_MANIFEST = load_manifest(Path(__file__).parents[1] / "examples/calculator/hotreload.toml")

TYPES = {
    "Color": {"members": ["RED", "GREEN"]},
    "Item": {"fields": {"name": "str", "price": "float = 0.5", "tags": "list[str] = []"}},
    "Tree": {"fields": {"label": "str", "children": "list[Tree]"}},
    "Box": {"fields": {"counter": "Counter"}},
    "Counter": {"methods": {"inc": "(self) -> int"}},
}


def manifest(exports: dict[str, str], **extra: Any) -> Manifest:
    data = {"project": {"name": "t"}, "modules": {"m": {"exports": exports, "types": TYPES}}}
    return validate_manifest({**data, **extra})


def schema_of(annotation: str) -> dict[str, Any]:
    document = openapi_document(manifest({"f": f"(x: {annotation}) -> None"}))
    body = document["paths"]["/call/m/f"]["post"]["requestBody"]
    schema: dict[str, Any] = body["content"]["application/json"]["schema"]["properties"]["x"]
    return schema


@pytest.mark.parametrize(
    ("annotation", "schema"),
    [
        ("int", {"type": "integer"}),
        ("float", {"type": "number"}),
        ("str", {"type": "string"}),
        ("bool", {"type": "boolean"}),
        ("None", {"type": "null"}),
        ("Any", {}),
        ("list[int]", {"type": "array", "items": {"type": "integer"}}),
        ("List[int]", {"type": "array", "items": {"type": "integer"}}),
        ("typing.Sequence[str]", {"type": "array", "items": {"type": "string"}}),
        ("set[str]", {"type": "array", "items": {"type": "string"}, "uniqueItems": True}),
        ("tuple[int, ...]", {"type": "array", "items": {"type": "integer"}}),
        (
            "tuple[int, str]",
            {
                "type": "array",
                "prefixItems": [{"type": "integer"}, {"type": "string"}],
                "minItems": 2,
                "maxItems": 2,
            },
        ),
        ("dict[str, float]", {"type": "object", "additionalProperties": {"type": "number"}}),
        ("int | None", {"anyOf": [{"type": "integer"}, {"type": "null"}]}),
        ("Optional[int]", {"anyOf": [{"type": "integer"}, {"type": "null"}]}),
        ("Union[int, str]", {"anyOf": [{"type": "integer"}, {"type": "string"}]}),
        ("Literal['a', 'b']", {"enum": ["a", "b"]}),
        ("Literal[1]", {"const": 1}),
        ("datetime.datetime", {"type": "string", "format": "date-time"}),
        ("UUID", {"type": "string", "format": "uuid"}),
        ("'int'", {"type": "integer"}),
        ("Annotated[int, Field(gt=0)]", {"type": "integer"}),
        ("Item", {"$ref": "#/components/schemas/m.Item"}),
        ("list[Color]", {"type": "array", "items": {"$ref": "#/components/schemas/m.Color"}}),
    ],
)
def test_an_annotation_becomes_its_json_schema(annotation: str, schema: dict[str, Any]) -> None:
    assert schema_of(annotation) == schema


@pytest.mark.parametrize(
    ("annotation", "reason"),
    [
        ("dict[int, str]", "keys must be str"),
        ("Callable[[int], int]", "'Callable' has no JSON form"),
        ("Iterator[int]", "a stream of values"),
        ("np.ndarray", "'np.ndarray' has no JSON form"),
        ("Counter", "type Counter is a class with behaviour"),
        ("Box", "type Counter is a class with behaviour"),  # through a field
    ],
)
def test_an_export_with_a_type_that_has_no_json_form_is_left_out_with_the_reason(
    annotation: str, reason: str
) -> None:
    api = read_api(manifest({"f": f"(x: {annotation}) -> None", "g": "() -> int"}))
    assert [o.function for o in api.operations] == ["g"]
    [(name, why)] = api.skipped
    assert name == "m.f" and why.startswith("parameter 'x': ") and reason in why


def test_frozen_types_are_components_enums_by_member_name() -> None:
    document = openapi_document(manifest({"f": "(tree: Tree, item: Item) -> Color"}))
    schemas = document["components"]["schemas"]
    assert schemas["m.Color"] == {"title": "Color", "type": "string", "enum": ["RED", "GREEN"]}
    assert schemas["m.Item"] == {
        "title": "Item",
        "type": "object",
        "properties": {
            "name": {"type": "string"},
            "price": {"type": "number", "default": 0.5},
            "tags": {"type": "array", "items": {"type": "string"}, "default": []},
        },
        "required": ["name"],
        "additionalProperties": False,
    }
    children = schemas["m.Tree"]["properties"]["children"]
    assert children == {"type": "array", "items": {"$ref": "#/components/schemas/m.Tree"}}
    assert "m.Counter" not in schemas and "m.Box" not in schemas


def test_parameters_of_every_kind_make_the_body() -> None:
    document = openapi_document(
        manifest({"f": "(a: int, /, b: str = 'x', *rest: int, c: bool, **more: float) -> int"})
    )
    operation = document["paths"]["/call/m/f"]["post"]
    assert operation["operationId"] == "m_f"
    assert operation["requestBody"]["required"] is True
    assert operation["requestBody"]["content"]["application/json"]["schema"] == {
        "type": "object",
        "properties": {
            "a": {"type": "integer"},
            "b": {"type": "string", "default": "x"},
            "rest": {"type": "array", "items": {"type": "integer"}},
            "c": {"type": "boolean"},
        },
        "required": ["a", "c"],
        "additionalProperties": {"type": "number"},
    }
    result = operation["responses"]["200"]["content"]["application/json"]["schema"]
    assert result["properties"] == {"result": {"type": "integer"}}


def test_the_document_is_valid_openapi_31_whose_schemas_are_valid_json_schema() -> None:
    document = openapi_document(REPO_MANIFEST.manifest)
    assert document["openapi"] == "3.1.0"
    assert set(document["paths"]) == {
        "/call/calculator/add",
        "/call/calculator/multiply",
        "/call/calculator/describe_operation",
        "/events",
    }
    for schema in _schemas(document):
        Draft202012Validator.check_schema(schema)


def _schemas(node: Any) -> Iterator[dict[str, Any]]:
    if isinstance(node, dict):
        if "schema" in node and isinstance(node["schema"], dict):
            yield node["schema"]
        for value in node.values():
            yield from _schemas(value)


def test_the_bytes_depend_on_the_contract_only() -> None:
    """Same manifest, same bytes; a profile's setting changes nothing; a signature changes the
    document and its info.version."""
    exports = {"f": "(a: int) -> int"}
    first = openapi_json(manifest(exports))
    assert openapi_json(manifest(exports)) == first
    profiles = {"development": {"reload": True, "port": 1}}
    assert openapi_json(manifest(exports, env=profiles)) == first
    changed = openapi_json(manifest({"f": "(a: int, b: int = 0) -> int"}))
    assert changed != first
    assert json.loads(changed)["info"]["version"] != json.loads(first)["info"]["version"]
    assert first.endswith(b"}\n") and b"\n  " in first  # indented, one trailing newline


# -- the server accepts what the document says -------------------------------------------------

SOURCE = """
import dataclasses, enum
class Color(enum.Enum):
    RED = 1
    GREEN = 2
@dataclasses.dataclass
class Item:
    name: str
    price: float = 0.5
    tags: list[str] = dataclasses.field(default_factory=list)
@dataclasses.dataclass
class Tree:
    label: str
    children: "list[Tree]"
"""

CASES = [
    ("int", [1, -5], ["1", 1.5, True, None]),
    ("float", [1, 1.5], ["1.5", None]),
    ("str | None", ["a", None], [1]),
    ("list[int]", [[], [1, 2]], [[1, "2"], {}]),
    ("tuple[int, str]", [[1, "a"]], [[1], [1, "a", 2], ["a", 1]]),
    ("dict[str, float]", [{}, {"a": 1.5}], [{"a": "x"}, []]),
    ("Literal['a', 'b']", ["a"], ["c", 1]),
    ("Color", ["RED", "GREEN"], ["BLUE", 1, "red"]),
    ("Item", [{"name": "x"}, {"name": "x", "price": 2, "tags": ["t"]}], [{}, {"name": 1}]),
    ("Item", [], [{"name": "x", "extra": 1}]),
    ("Tree", [{"label": "a", "children": [{"label": "b", "children": []}]}], [{"label": "a"}]),
]


@pytest.fixture(scope="module")
def module() -> Iterator[types.ModuleType]:
    live = types.ModuleType("m")
    sys.modules["m"] = live
    try:
        exec(SOURCE, live.__dict__)
        yield live
    finally:
        del sys.modules["m"]


@pytest.mark.parametrize(("annotation", "valid", "invalid"), CASES, ids=[c[0] for c in CASES])
def test_the_server_accepts_what_the_document_describes_and_nothing_else(
    module: types.ModuleType, annotation: str, valid: list[Any], invalid: list[Any]
) -> None:
    exports = {"f": f"(x: {annotation}) -> None"}
    api = read_api(manifest(exports))
    document = openapi_document(manifest(exports), api)
    body = document["paths"]["/call/m/f"]["post"]["requestBody"]["content"]["application/json"]
    validator = Draft202012Validator({**body["schema"], "components": document["components"]})
    call = Call(api.operations[0], ModuleTypes("m", api.types["m"], vars(module)))
    for value in valid:
        payload = {"x": value}
        assert validator.is_valid(payload), value
        call.arguments(json.dumps(payload).encode())
    for value in invalid:
        payload = {"x": value}
        assert not validator.is_valid(payload), value
        with pytest.raises(ValidationError):
            call.arguments(json.dumps(payload).encode())
