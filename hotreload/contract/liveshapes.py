"""Frozen types checked on live class objects, after their class statements ran.

The source shows most of a class's shape; what only running shows (a class decorator that
returns something else, or drops, wraps or adds methods and fields) is caught here, right after
the new code ran and before it is kept. Live annotations are objects, not the source's text,
so annotations compare by their last dotted parts (``numpy.ndarray`` matches ``np.ndarray``) and
defaults only where both sides are literal values.
"""

from __future__ import annotations

import ast
import dataclasses
import enum
import functools
import inspect
import re
import typing
from collections.abc import Callable, Mapping
from typing import Any

from hotreload.contract.signatures import Parameter, ParameterKind, Signature, normalise_annotation
from hotreload.contract.typerules import compare_shape
from hotreload.contract.typeshapes import FIELD_CALLS, FieldShape, TypeShape
from hotreload.lookup import is_class
from hotreload.parsing import parse
from hotreload.verdicts import Violation
from hotreload.words import article

_KINDS: dict[inspect._ParameterKind, ParameterKind] = {
    inspect.Parameter.POSITIONAL_ONLY: "positional_only",
    inspect.Parameter.POSITIONAL_OR_KEYWORD: "positional_or_keyword",
    inspect.Parameter.VAR_POSITIONAL: "var_positional",
    inspect.Parameter.KEYWORD_ONLY: "keyword_only",
    inspect.Parameter.VAR_KEYWORD: "var_keyword",
}
_FORWARD_REF = re.compile(r"ForwardRef\('([^']*)'(?:, [^)]*)?\)")
_UNKNOWN = "..."  # a default that is not a literal: only its presence is compared


def verify_class(
    name: str, obj: object, expected: TypeShape, namespace: Mapping[str, Any] | None = None
) -> list[Violation]:
    """Every way a live class breaks its frozen shape; empty when it still matches.

    ``obj`` is what the module's namespace holds under ``name`` after its code ran. Only the
    frozen members are looked at: a new method or field is as free here as in the source.
    With the module's ``namespace``, the frozen annotations and defaults are first read as the
    module's code would evaluate them (`as_run`), so that like is compared with like: the
    frozen `Money` is the live `float` where `Money = float`, a TypeVar is itself, a default
    `DEFAULT_RATE` is its value.
    """
    if not is_class(obj):  # type(obj) alone: a proxy's __class__ is the user's code
        what = article(type(obj).__name__)
        message = (
            f"{name}: type replaced: expected a class, found {what} once the module ran "
            "(a class decorator that returns something else?); return the class itself"
        )
        return [Violation("type_replaced", name, expected.summary(), what, None, message, name)]
    actual = live_shape(obj, expected)
    if namespace is not None:  # both sides: a live annotation may be text too (PEP 563)
        expected, actual = as_run(expected, namespace), as_run(actual, namespace)
    return compare_shape(name, loosen(expected), loosen(actual))


def as_run(shape: TypeShape, namespace: Mapping[str, Any]) -> TypeShape:
    """A frozen shape with each annotation and default evaluated in the module's namespace and
    written back as a live object is written (only names, attributes, subscripts, unions and
    constants are evaluated, never a call; what does not evaluate stays as written)."""

    def signature(s: Signature) -> Signature:
        return Signature(
            tuple(
                Parameter(
                    p.name,
                    p.kind,
                    _annotation(p.annotation, namespace),
                    _default(p.default, namespace),
                )
                for p in s.parameters
            ),
            _annotation(s.returns, namespace),
            s.is_async,
        )

    return TypeShape(
        methods={n: signature(s) for n, s in shape.methods.items()},
        properties={n: signature(s) for n, s in shape.properties.items()},
        fields=tuple(
            FieldShape(
                f.name,
                _annotation(f.annotation, namespace) or f.annotation,
                _default(f.default, namespace),
            )
            for f in shape.fields
        ),
        members=shape.members,
    )


_SAFE = (
    ast.Expression,
    ast.Name,
    ast.Attribute,
    ast.Subscript,
    ast.Tuple,
    ast.List,
    ast.Constant,
    ast.BinOp,
    ast.BitOr,
    ast.Load,
)


def _evaluated(text: str, namespace: Mapping[str, Any]) -> tuple[bool, object]:
    """(True, value) for an expression of only names, attributes, subscripts and unions that
    evaluates in ``namespace``; (False, None) otherwise. `Annotated[T, ...]` is read as T."""
    try:
        tree = parse(text.strip(), mode="eval")
    except (SyntaxError, ValueError):
        return False, None
    body = tree.body
    if isinstance(body, ast.Subscript) and ast.unparse(body.value).endswith("Annotated"):
        inner = body.slice.elts[0] if isinstance(body.slice, ast.Tuple) else body.slice
        tree = ast.Expression(body=inner)
    if not all(isinstance(n, _SAFE) for n in ast.walk(tree)):
        return False, None
    try:
        code = compile(ast.fix_missing_locations(tree), "<annotation>", "eval")
        return True, eval(code, {"__builtins__": __builtins__, **namespace})
    except Exception:
        return False, None


def _annotation(text: str | None, namespace: Mapping[str, Any]) -> str | None:
    if text is None:
        return None
    ok, value = _evaluated(text, namespace)
    if not ok or isinstance(value, str):
        return text
    return annotation_text(_unannotated(value)) or text


def _default(text: str | None, namespace: Mapping[str, Any]) -> str | None:
    """A default that names a value (`DEFAULT_RATE`, `Color.RED`) as that value's text."""
    if text is None or _is_literal(text):
        return text
    try:
        node = parse(text.strip(), mode="eval").body
    except SyntaxError:
        return text
    if not isinstance(node, ast.Name | ast.Attribute):
        return text
    ok, value = _evaluated(text, namespace)
    return _value_text(value) if ok else text


def _unannotated(annotation: object) -> object:
    """`Annotated[int, Field(ge=1)]` is `int` to compare: pydantic keeps only `int` as the
    field's annotation, with the rest in its own metadata."""
    if typing.get_origin(annotation) is typing.Annotated:
        return typing.get_args(annotation)[0]
    return annotation


def live_shape(cls: type, expected: TypeShape) -> TypeShape:
    """What a live class has of the members ``expected`` names, as text."""
    methods: dict[str, Signature] = {}
    properties: dict[str, Signature] = {}
    for member in [*expected.methods, *expected.properties]:
        found = _member(cls, member)
        if found is not None:
            is_property, function = found
            signature = _signature(function)
            if signature is not None:
                (properties if is_property else methods)[member] = signature
    wanted = {f.name for f in expected.fields}
    fields = tuple(f for f in _fields(cls) if f.name in wanted)
    members = tuple(cls.__members__) if issubclass(cls, enum.Enum) else ()
    return TypeShape(methods, properties, fields, members)


def _member(cls: type, name: str) -> tuple[bool, Callable[..., Any]] | None:
    """(is it a property, the function to read a signature from), or None if there is none."""
    try:
        attribute = inspect.getattr_static(cls, name)
    except AttributeError:
        return None
    if isinstance(attribute, property):
        return (True, attribute.fget) if attribute.fget is not None else None
    if isinstance(attribute, functools.cached_property):
        return True, attribute.func
    if isinstance(attribute, staticmethod | classmethod):
        return False, attribute.__func__
    return (False, attribute) if callable(attribute) else None


def _signature(function: Callable[..., Any]) -> Signature | None:
    """The signature as text (decorators seen through ``__wrapped__``); None if unreadable."""
    try:
        signature = inspect.signature(function)
    except (TypeError, ValueError):  # a builtin or C callable without a signature: cannot tell
        return None
    parameters = tuple(
        Parameter(
            p.name,
            _KINDS[p.kind],
            annotation_text(p.annotation),
            None if p.default is inspect.Parameter.empty else _value_text(p.default),
        )
        for p in signature.parameters.values()
    )
    returns = annotation_text(signature.return_annotation)
    is_async = inspect.iscoroutinefunction(inspect.unwrap(function))
    return Signature(parameters, returns, is_async)


def annotation_text(annotation: object) -> str | None:
    """A live annotation as source-like text: ``int``, ``list[Item]``, ``Item | None``."""
    if annotation is inspect.Parameter.empty or annotation is inspect.Signature.empty:
        return None
    if isinstance(annotation, str):
        return annotation
    annotation = _unannotated(annotation)
    if isinstance(annotation, typing.ForwardRef):
        return annotation.__forward_arg__
    if annotation is None or annotation is type(None):
        return "None"
    if isinstance(annotation, type) and not typing.get_args(annotation):
        return annotation.__qualname__
    return _FORWARD_REF.sub(r"\1", repr(annotation))


def _value_text(value: object) -> str:
    text = repr(value)
    return text if _is_literal(text) else _UNKNOWN


def _is_literal(text: str) -> bool:
    try:
        ast.literal_eval(text)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return False
    return True


def _fields(cls: type) -> list[FieldShape]:
    """A live data type's fields (inherited ones too); empty for any other class."""
    if dataclasses.is_dataclass(cls):
        return [_dataclass_field(f) for f in dataclasses.fields(cls)]
    model_fields: Mapping[str, Any] | None = getattr(cls, "model_fields", None)
    if isinstance(model_fields, Mapping):  # a pydantic model
        return [_pydantic_field(name, info) for name, info in model_fields.items()]
    if typing.is_typeddict(cls):
        return [FieldShape(n, annotation_text(a) or "") for n, a in cls.__annotations__.items()]
    if issubclass(cls, tuple) and hasattr(cls, "_fields"):  # a NamedTuple
        annotations = getattr(cls, "__annotations__", {})
        defaults: dict[str, object] = getattr(cls, "_field_defaults", {})
        return [
            FieldShape(
                n,
                annotation_text(annotations.get(n)) or "",
                _value_text(defaults[n]) if n in defaults else None,
            )
            for n in cls._fields
        ]
    return []


def _dataclass_field(f: dataclasses.Field[Any]) -> FieldShape:
    if f.default is not dataclasses.MISSING:
        default: str | None = _value_text(f.default)
    elif f.default_factory is not dataclasses.MISSING:
        default = _UNKNOWN
    else:
        default = None
    return FieldShape(f.name, annotation_text(f.type) or "", default)


def _pydantic_field(name: str, info: Any) -> FieldShape:
    if info.is_required():
        default: str | None = None
    elif info.default_factory is not None:
        default = _UNKNOWN
    else:
        default = _value_text(info.default)
    return FieldShape(name, annotation_text(info.annotation) or "", default)


def loosen(shape: TypeShape) -> TypeShape:
    """A shape as live objects can be compared with it: annotations cut to last dotted parts,
    defaults that are not literals (``field(default_factory=list)``) reduced to "present"."""
    return TypeShape(
        methods={n: _loose_signature(s) for n, s in shape.methods.items()},
        properties={n: _loose_signature(s) for n, s in shape.properties.items()},
        fields=tuple(
            FieldShape(f.name, loose_annotation(f.annotation) or "", _loose_default(f.default))
            for f in shape.fields
        ),
        members=shape.members,
    )


def _loose_signature(signature: Signature) -> Signature:
    return Signature(
        tuple(
            Parameter(p.name, p.kind, loose_annotation(p.annotation), _loose_default(p.default))
            for p in signature.parameters
        ),
        loose_annotation(signature.returns),
        signature.is_async,
    )


def _loose_default(text: str | None) -> str | None:
    """A default's literal value as canonical text, else "present"; ``field(default=1)`` and
    ``Field(1, ...)`` are the value they hold, ``field()`` / ``Field(...)`` no default at all."""
    if text is None:
        return None
    try:
        node = parse(text.strip(), mode="eval").body
    except SyntaxError:
        return _UNKNOWN
    if isinstance(node, ast.Call) and ast.unparse(node.func) in FIELD_CALLS:
        keywords = {k.arg: k.value for k in node.keywords}
        if "default" in keywords:
            node = keywords["default"]
        elif node.args and not (
            isinstance(node.args[0], ast.Constant) and node.args[0].value is Ellipsis
        ):
            node = node.args[0]
        elif "default_factory" in keywords:
            return _UNKNOWN
        else:
            return None
    value = ast.unparse(node)
    return value if _is_literal(value) else _UNKNOWN


def loose_annotation(text: str | None) -> str | None:
    """An annotation normalised, with every dotted name cut to its last part."""
    normal = normalise_annotation(text)
    if normal is None:
        return None
    try:
        tree = parse(normal, mode="eval")
    except SyntaxError:
        return normal
    return normalise_annotation(ast.unparse(_CutModules().visit(tree)))


class _CutModules(ast.NodeTransformer):
    """``numpy.ndarray`` -> ``ndarray``: a live annotation's module is not the source's alias."""

    def visit_Attribute(self, node: ast.Attribute) -> ast.expr:
        return ast.Name(id=node.attr, ctx=ast.Load())
