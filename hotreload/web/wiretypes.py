"""What crosses HTTP: the frozen annotations of the manifest, read as JSON types.

One reading serves both sides of the exports API, so they cannot disagree: the OpenAPI document
(`openapi`) turns it into JSON Schema, and the server (`codec`) into pydantic validators. It is
read from the manifest's text with `ast`, never from the running code, so nothing a reload does
can change it. A type with no JSON form (a class with behaviour, a callable, an unknown name)
is an `Unsupported` with the reason; the export it appears in is not served.
"""

from __future__ import annotations

import ast
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal, TypeAlias

from hotreload.contract.signatures import Signature, normalise_annotation, parse_signature
from hotreload.contract.typeshapes import TypeShape, parse_shape
from hotreload.manifest import Manifest
from hotreload.parsing import parse

# Names after normalisation (`typing.`, `collections.abc.` stripped, `List` -> `list`).
SCALARS = frozenset(
    {
        "int",
        "float",
        "str",
        "bool",
        "bytes",
        "None",
        "Any",
        "datetime",
        "date",
        "time",
        "timedelta",
        "UUID",
        "Decimal",
        "Path",
    }
)
_SCALAR_ALIASES = {
    "object": "Any",
    "NoneType": "None",
    "datetime.datetime": "datetime",
    "datetime.date": "date",
    "datetime.time": "time",
    "datetime.timedelta": "timedelta",
    "uuid.UUID": "UUID",
    "decimal.Decimal": "Decimal",
    "pathlib.Path": "Path",
}
_ARRAYS = frozenset({"list", "Sequence", "MutableSequence", "Collection", "Iterable"})
_SETS = frozenset({"set", "frozenset", "AbstractSet", "MutableSet"})
_MAPS = frozenset({"dict", "Mapping", "MutableMapping"})
_TRANSPARENT = frozenset({"Annotated", "Required", "NotRequired", "ReadOnly", "Final"})
_STREAMS = frozenset(
    {"Iterator", "Generator", "AsyncIterator", "AsyncGenerator", "AsyncIterable", "Awaitable"}
)


@dataclass(frozen=True)
class Scalar:
    name: str  # one of SCALARS


@dataclass(frozen=True)
class ArrayOf:
    item: WireType
    python: Literal["list", "tuple", "set", "frozenset"] = "list"  # what the export is given

    @property
    def unique(self) -> bool:
        return self.python in ("set", "frozenset")


@dataclass(frozen=True)
class TupleOf:
    items: tuple[WireType, ...]


@dataclass(frozen=True)
class MapOf:
    value: WireType


@dataclass(frozen=True)
class UnionOf:
    options: tuple[WireType, ...]


@dataclass(frozen=True)
class LiteralOf:
    values: tuple[str | int | bool | None, ...]


@dataclass(frozen=True)
class Ref:
    """A frozen type of the same module, by name."""

    name: str


WireType: TypeAlias = Scalar | ArrayOf | TupleOf | MapOf | UnionOf | LiteralOf | Ref


@dataclass(frozen=True)
class Field:
    name: str
    type: WireType
    required: bool
    default: str | None  # the default as written (JSON Schema shows it if it is a literal)


@dataclass(frozen=True)
class Record:
    """A data type (dataclass, pydantic model, TypedDict, NamedTuple): a JSON object."""

    fields: tuple[Field, ...]


@dataclass(frozen=True)
class EnumType:
    """An Enum: a member's name on the wire (the names are frozen; the values are not)."""

    members: tuple[str, ...]


TypeDef: TypeAlias = Record | EnumType


@dataclass(frozen=True)
class Param:
    name: str
    kind: str  # a ParameterKind
    type: WireType
    required: bool
    default: str | None


@dataclass(frozen=True)
class Operation:
    """One export as the API serves it."""

    module: str
    function: str
    params: tuple[Param, ...]
    returns: WireType
    is_async: bool


class Unsupported(Exception):
    """An annotation with no JSON form; the message says which and why."""


def read_types(shapes: Mapping[str, TypeShape]) -> dict[str, TypeDef | Unsupported]:
    """The module's frozen types as wire types; those with no JSON form, with the reason."""
    defs: dict[str, TypeDef | Unsupported] = {}
    for name, shape in shapes.items():
        if shape.members:
            defs[name] = EnumType(shape.members)
        elif shape.fields:
            try:
                fields = tuple(
                    Field(f.name, read_annotation(f.annotation, shapes), f.required, f.default)
                    for f in shape.fields
                )
            except Unsupported as e:
                defs[name] = Unsupported(f"type {name}: {e}")
            else:
                defs[name] = Record(fields)
        else:
            defs[name] = Unsupported(
                f"type {name} is a class with behaviour ({shape.summary()}), not data: it has no "
                "JSON form (a dataclass, pydantic model, TypedDict, NamedTuple or Enum has one)"
            )
    return defs


def read_operation(
    module: str,
    function: str,
    signature: Signature,
    defs: Mapping[str, TypeDef | Unsupported],
    shapes: Mapping[str, TypeShape],
) -> Operation:
    """One export as an operation; Unsupported names the parameter or result that cannot cross."""
    params: list[Param] = []
    for p in signature.parameters:
        try:
            wire = read_annotation(p.annotation, shapes)
        except Unsupported as e:
            raise Unsupported(f"parameter {p.name!r}: {e}") from None
        _check_refs(wire, defs, f"parameter {p.name!r}")
        required = p.default is None and p.kind not in ("var_positional", "var_keyword")
        params.append(Param(p.name, p.kind, wire, required, p.default))
    try:
        returns = read_annotation(signature.returns, shapes)
    except Unsupported as e:
        raise Unsupported(f"the result: {e}") from None
    _check_refs(returns, defs, "the result")
    return Operation(module, function, tuple(params), returns, signature.is_async)


def _check_refs(wire: WireType, defs: Mapping[str, TypeDef | Unsupported], where: str) -> None:
    """Every frozen type reached from ``wire`` (through fields too) must have a JSON form."""
    for name in reached(wire, defs):
        found = defs.get(name)
        if isinstance(found, Unsupported):
            raise Unsupported(f"{where}: {found}")


def reached(wire: WireType, defs: Mapping[str, TypeDef | Unsupported]) -> list[str]:
    """The frozen types ``wire`` names, and those their fields name, in the order found."""
    seen: list[str] = []
    todo = sorted(refs_of(wire))
    while todo:
        name = todo.pop(0)
        if name in seen:
            continue
        seen.append(name)
        found = defs.get(name)
        if isinstance(found, Record):
            for field in found.fields:
                todo.extend(sorted(refs_of(field.type)))
    return seen


def refs_of(wire: WireType) -> set[str]:
    """The frozen types an annotation names, directly (not through their fields)."""
    if isinstance(wire, Ref):
        return {wire.name}
    if isinstance(wire, ArrayOf):
        return refs_of(wire.item)
    if isinstance(wire, MapOf):
        return refs_of(wire.value)
    if isinstance(wire, TupleOf | UnionOf):
        parts = wire.items if isinstance(wire, TupleOf) else wire.options
        return set().union(*(refs_of(part) for part in parts))
    return set()


def read_annotation(text: str | None, shapes: Mapping[str, TypeShape]) -> WireType:
    """An annotation's text as a wire type (no annotation: any JSON value)."""
    if text is None:
        return Scalar("Any")
    normal = normalise_annotation(text)
    assert normal is not None
    try:
        node = parse(normal, mode="eval").body
    except SyntaxError:
        raise Unsupported(f"{text!r} is not an expression") from None
    return _read(node, shapes, text)


def _read(node: ast.expr, shapes: Mapping[str, TypeShape], text: str) -> WireType:
    if isinstance(node, ast.Constant):
        if node.value is None:
            return Scalar("None")
        if isinstance(node.value, str):  # a forward reference the normaliser could not read
            raise Unsupported(f"{node.value!r} in {text!r} is not an expression")
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.BitOr):
        members = _union_members(node)
        return _union(tuple(_read(m, shapes, text) for m in members))
    name = _dotted(node.value if isinstance(node, ast.Subscript) else node)
    if name is None:
        raise Unsupported(f"{ast.unparse(node)!r} in {text!r} is not a type")
    name = _SCALAR_ALIASES.get(name, name)
    if not isinstance(node, ast.Subscript):
        return _bare(name, shapes, text)
    args = list(node.slice.elts) if isinstance(node.slice, ast.Tuple) else [node.slice]
    if name in _TRANSPARENT:
        return _read(args[0], shapes, text)  # Annotated's metadata is code: not on the wire
    if name == "Literal":
        return LiteralOf(tuple(_literal(arg, text) for arg in args))
    if name in _ARRAYS or name in _SETS:
        return ArrayOf(_read(args[0], shapes, text), _container(name))
    if name == "tuple":
        if len(args) == 2 and isinstance(args[1], ast.Constant) and args[1].value is Ellipsis:
            return ArrayOf(_read(args[0], shapes, text), "tuple")
        if len(args) == 1 and isinstance(args[0], ast.Tuple) and not args[0].elts:
            return TupleOf(())
        return TupleOf(tuple(_read(arg, shapes, text) for arg in args))
    if name in _MAPS:
        key = _read(args[0], shapes, text) if len(args) == 2 else Scalar("str")
        if key != Scalar("str"):
            raise Unsupported(
                f"{text!r}: a mapping's keys must be str to be a JSON object's, not "
                f"{ast.unparse(args[0])!r}"
            )
        return MapOf(_read(args[-1], shapes, text))
    if name in ("Union", "Optional"):
        options = [*args, ast.Constant(None)] if name == "Optional" else args
        return _union(tuple(_read(arg, shapes, text) for arg in options))
    raise _unknown(name, text)


def _bare(name: str, shapes: Mapping[str, TypeShape], text: str) -> WireType:
    if name in SCALARS:
        return Scalar(name)
    if name in shapes:
        return Ref(name)
    if name in _ARRAYS or name in _SETS or name == "tuple":
        return ArrayOf(Scalar("Any"), "tuple" if name == "tuple" else _container(name))
    if name in _MAPS:
        return MapOf(Scalar("Any"))
    raise _unknown(name, text)


def _container(name: str) -> Literal["list", "set", "frozenset"]:
    if name == "frozenset":
        return "frozenset"
    return "set" if name in _SETS else "list"


def _unknown(name: str, text: str) -> Unsupported:
    if name in _STREAMS:
        return Unsupported(f"{text!r}: a stream of values ({name}) has no single JSON form")
    return Unsupported(
        f"{text!r}: {name!r} has no JSON form known from the manifest: use JSON types (int, float, "
        "str, bool, None, list, dict, tuple, Literal, datetime, UUID, ...) or a data type "
        "frozen in the manifest's types"
    )


def _literal(node: ast.expr, text: str) -> str | int | bool | None:
    try:
        value = ast.literal_eval(node)
    except ValueError:
        value = ...
    if value is None or isinstance(value, str | int | bool):
        return value
    raise Unsupported(f"{text!r}: Literal value {ast.unparse(node)} is not a JSON scalar")


def _union(options: tuple[WireType, ...]) -> WireType:
    flat: list[WireType] = []
    for option in options:
        for part in option.options if isinstance(option, UnionOf) else (option,):
            if part not in flat:
                flat.append(part)
    return flat[0] if len(flat) == 1 else UnionOf(tuple(flat))


def _union_members(node: ast.expr) -> list[ast.expr]:
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.BitOr):
        return _union_members(node.left) + _union_members(node.right)
    return [node]


def _dotted(node: ast.expr) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        prefix = _dotted(node.value)
        return None if prefix is None else f"{prefix}.{node.attr}"
    return None


def literal_default(text: str | None) -> tuple[bool, object]:
    """Whether a default as written is a JSON literal, and its value (for JSON Schema)."""
    if text is None:
        return False, None
    try:
        value = ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return False, None
    return _is_json(value), value


def _is_json(value: object) -> bool:
    if isinstance(value, float):
        return math.isfinite(value)  # NaN and infinities have no JSON form
    if value is None or isinstance(value, str | int | bool):
        return True
    if isinstance(value, list | tuple):
        return all(_is_json(v) for v in value)
    if isinstance(value, dict):
        return all(isinstance(k, str) and _is_json(v) for k, v in value.items())
    return False


@dataclass(frozen=True)
class Api:
    """Everything the exports API serves, read from the manifest alone."""

    operations: tuple[Operation, ...]
    types: Mapping[str, Mapping[str, TypeDef]]  # module -> frozen types with a JSON form
    skipped: tuple[tuple[str, str], ...]  # ("module.function", why it is not served)


def read_api(manifest: Manifest) -> Api:
    """The operations of every export of the manifest, in its order, and the types they use."""
    operations: list[Operation] = []
    types: dict[str, dict[str, TypeDef]] = {}
    skipped: list[tuple[str, str]] = []
    for module, config in manifest.modules.items():
        shapes = {
            name: parse_shape(entry.methods, entry.properties, entry.fields, entry.members)
            for name, entry in config.types.items()
        }
        defs = read_types(shapes)
        used: set[str] = set()
        for function, text in config.exports.items():
            try:
                operation = read_operation(module, function, parse_signature(text), defs, shapes)
            except Unsupported as e:
                skipped.append((f"{module}.{function}", str(e)))
                continue
            operations.append(operation)
            for wire in (operation.returns, *(p.type for p in operation.params)):
                used.update(reached(wire, defs))
        # Only the types the served exports use, in the manifest's order: all have a JSON form.
        types[module] = {
            name: d for name, d in defs.items() if name in used and not isinstance(d, Unsupported)
        }
    return Api(tuple(operations), types, tuple(skipped))
