"""Arguments in, results out: pydantic validators built from the manifest's wire types.

The validators are built once, at start-up, from the same reading of the manifest as the
OpenAPI document (`wiretypes`), so the server accepts exactly what the document describes.
JSON is validated strictly (``"5"`` is not an int) and parsed by pydantic itself, whose depth
limit stops deeply nested bodies. The frozen data types are built as the *live* classes,
looked up in the module's namespace at each call: a class a reload replaced is the new one.
An Enum travels as its member's name, which the contract freezes (its value it does not).
"""

from __future__ import annotations

import datetime
import decimal
import enum
import pathlib
import types
import typing
import uuid
from collections.abc import Callable, Mapping
from typing import Annotated, Any, Literal, NotRequired, Required

import pydantic_core
from pydantic import (
    AfterValidator,
    ConfigDict,
    PlainSerializer,
    PlainValidator,
    TypeAdapter,
    ValidationError,
)
from pydantic_core import PydanticCustomError
from typing_extensions import TypedDict

from hotreload.web.wiretypes import (
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
)

_SCALARS: dict[str, Any] = {
    "int": int,
    "float": float,
    "str": str,
    "bool": bool,
    "bytes": bytes,
    "None": types.NoneType,
    "Any": Any,
    "datetime": datetime.datetime,
    "date": datetime.date,
    "time": datetime.time,
    "timedelta": datetime.timedelta,
    "UUID": uuid.UUID,
    "Decimal": decimal.Decimal,
    "Path": pathlib.Path,
}
_CONTAINERS: dict[str, Any] = {"list": list, "tuple": tuple, "set": set, "frozenset": frozenset}
# Built at run time from the manifest: typed as Any, as no static checker can follow them.
_TUPLE: Any = tuple
_DICT: Any = dict
_LIST: Any = list
_FORBID = ConfigDict(extra="forbid")
_ALLOW = ConfigDict(extra="allow")


class BadJson(ValueError):
    """The body is not JSON (or nests too deeply); the message says where."""


class ResultInvalid(ValueError):
    """An export returned what its frozen return type is not."""


class ModuleTypes:
    """A module's frozen types as pydantic types, bound to the module's live namespace."""

    def __init__(
        self, module: str, defs: Mapping[str, TypeDef], namespace: Mapping[str, Any]
    ) -> None:
        self.module = module
        self.defs = defs
        self.namespace = namespace
        self._built: dict[str, Any] = {}
        self._adapters: dict[str, TypeAdapter[Any]] = {}
        self._building: list[str] = []

    def python(self, wire: WireType) -> Any:
        """The annotation pydantic validates and serializes a wire type with."""
        if isinstance(wire, Scalar):
            return _SCALARS[wire.name]
        if isinstance(wire, ArrayOf):
            return _CONTAINERS[wire.python][self.python(wire.item)]
        if isinstance(wire, TupleOf):
            items = tuple(self.python(item) for item in wire.items)
            return _TUPLE[items] if items else _TUPLE[()]
        if isinstance(wire, MapOf):
            return _DICT[str, self.python(wire.value)]
        if isinstance(wire, UnionOf):
            return typing.Union[tuple(self.python(option) for option in wire.options)]  # noqa: UP007
        if isinstance(wire, LiteralOf):
            return Literal[wire.values]
        assert isinstance(wire, Ref)
        return self._ref(wire.name)

    def _ref(self, name: str) -> Any:
        built = self._built.get(name)
        if built is not None:
            return built
        if name in self._building:  # a recursive type: validated through its own adapter
            return Annotated[
                Any,
                PlainValidator(lambda value: self._adapter(name).validate_json(_json(value))),
                PlainSerializer(lambda value: self._adapter(name).dump_python(value, mode="json")),
            ]
        self._building.append(name)
        try:
            definition = self.defs[name]
            if isinstance(definition, EnumType):
                built = self._enum(name, definition)
            else:
                built = self._record(name, definition)
        finally:
            self._building.pop()
        self._built[name] = built
        return built

    def _adapter(self, name: str) -> TypeAdapter[Any]:
        adapter = self._adapters.get(name)
        if adapter is None:
            adapter = self._adapters[name] = TypeAdapter(self._ref(name))
        return adapter

    def _enum(self, name: str, definition: EnumType) -> Any:
        members = ", ".join(map(repr, definition.members))

        def by_name(value: Any) -> Any:
            live = self.namespace.get(name)
            if isinstance(value, str) and value in definition.members and live is not None:
                return live[value]
            raise PydanticCustomError(
                "enum",
                "Input should be the name of a member of {type}: {members}",
                {"type": name, "members": members},
            )

        def to_name(value: Any) -> str:
            if isinstance(value, enum.Enum) and value.name in definition.members:
                return value.name
            raise ResultInvalid(f"{value!r} is not a member of {name} ({members})")

        return Annotated[Any, PlainValidator(by_name), PlainSerializer(to_name)]

    def _record(self, name: str, definition: Record) -> Any:
        fields = {
            f.name: (Required if f.required else NotRequired)[self.python(f.type)]
            for f in definition.fields
        }
        shape = _typed_dict(name, fields, _FORBID)
        names = [f.name for f in definition.fields]
        dump: TypeAdapter[dict[str, Any]] = TypeAdapter(shape)

        def to_live(data: dict[str, Any]) -> Any:
            live = self.namespace.get(name)
            if live is None:
                raise PydanticCustomError(
                    "type_missing",
                    "{type} is not defined in module {module}",
                    {"type": name, "module": self.module},
                )
            if typing.is_typeddict(live):
                return data
            try:
                return live(**data)
            except Exception as e:  # its own checks (__post_init__, validators) refused it
                raise PydanticCustomError(
                    "construct",
                    "{type}(...) raised {error}",
                    {"type": name, "error": f"{type(e).__name__}: {e}"},
                ) from e

        def from_live(value: Any) -> Any:
            live = self.namespace.get(name)
            expected = Mapping if live is None or typing.is_typeddict(live) else live
            if not isinstance(value, expected):
                raise ResultInvalid(f"expected {name}, got {type(value).__name__}: {value!r:.80}")
            if isinstance(value, Mapping):
                data = {n: value[n] for n in names if n in value}
            else:
                data = {n: getattr(value, n) for n in names if hasattr(value, n)}
            return dump.dump_python(data, mode="json", warnings="error")

        return Annotated[shape, AfterValidator(to_live), PlainSerializer(from_live)]


class Call:
    """How one export takes its arguments from a JSON body and gives its result as JSON."""

    def __init__(self, operation: Operation, module_types: ModuleTypes) -> None:
        self.operation = operation
        python = module_types.python
        fields: dict[str, Any] = {}
        self._positional: list[str] = []  # passed by position, in order
        self._star: str | None = None
        self._extra: TypeAdapter[Any] | None = None
        for param in operation.params:
            if param.kind == "var_keyword":
                self._extra = TypeAdapter(_DICT[str, python(param.type)])
                continue
            annotation = python(param.type)
            if param.kind == "var_positional":
                self._star = param.name
                annotation = _LIST[annotation]
            elif param.kind in ("positional_only", "positional_or_keyword"):
                self._positional.append(param.name)
            fields[param.name] = (Required if param.required else NotRequired)[annotation]
        config = _FORBID if self._extra is None else _ALLOW
        self._body: TypeAdapter[dict[str, Any]] = TypeAdapter(
            _typed_dict(f"{operation.function}_arguments", fields, config)
        )
        self._result = TypeAdapter(python(operation.returns))
        self._kinds = {p.name: p.kind for p in operation.params}

    def arguments(self, body: bytes) -> tuple[list[Any], dict[str, Any]]:
        """The positional and keyword arguments from a JSON object; BadJson if it is not JSON,
        ValidationError if it does not fit the signature. An empty body is ``{}``."""
        try:
            given: dict[str, Any] = self._body.validate_json(body or b"{}", strict=True)
        except ValidationError as e:
            bad = next((err for err in e.errors() if err["type"] == "json_invalid"), None)
            if bad is not None:
                raise BadJson(bad["ctx"]["error"] if "ctx" in bad else bad["msg"]) from None
            raise
        if self._extra is not None:
            extra = {k: given.pop(k) for k in list(given) if k not in self._kinds}
            given.update(self._extra.validate_json(_json(extra), strict=True))
        return self._split(given)

    def _split(self, given: dict[str, Any]) -> tuple[list[Any], dict[str, Any]]:
        args: list[Any] = []
        star = given.pop(self._star, None) if self._star is not None else None
        if star:
            missing = [name for name in self._positional if name not in given]
            if missing:
                raise _invalid(
                    missing[0], f"to pass {self._star}, pass every parameter before it too"
                )
            args = [given.pop(name) for name in self._positional] + list(star)
        else:
            for name in self._positional:
                if self._kinds[name] != "positional_only":
                    break
                if name not in given:
                    later = [n for n in self._positional if n in given]
                    if later and self._kinds[later[0]] == "positional_only":
                        raise _invalid(name, "a positional-only parameter before a given one")
                    break
                args.append(given.pop(name))
        return args, given

    def result(self, value: Any) -> bytes:
        """``{"result": ...}`` as JSON; ResultInvalid if the value is not of the frozen type."""
        try:
            dumped = self._result.dump_json(value, warnings="error")
        except (pydantic_core.PydanticSerializationError, ResultInvalid, ValueError) as e:
            raise ResultInvalid(str(e)) from e
        return b'{"result":' + dumped + b"}"


def _typed_dict(name: str, fields: dict[str, Any], config: ConfigDict) -> Any:
    """A TypedDict made at run time (its fields come from the manifest), with pydantic's config;
    typing_extensions' one, which pydantic needs before Python 3.12."""
    make: Any = TypedDict
    shape = make(name, fields, total=False)
    shape.__pydantic_config__ = config
    return shape


def _json(value: Any) -> bytes:
    return pydantic_core.to_json(value)


def _invalid(name: str, message: str) -> ValidationError:
    return ValidationError.from_exception_data(
        "arguments",
        [{"type": "value_error", "loc": (name,), "input": None, "ctx": {"error": message}}],
    )


Build = Callable[[Operation], Call]
