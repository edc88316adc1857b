"""What a manifest error says: the key path as it is written in TOML, what was found there,
what was expected, and the fix; one line for each error pydantic reports."""

from __future__ import annotations

import difflib
import re
import types
from collections.abc import Mapping, Sequence
from typing import Annotated, Any, Union, get_args, get_origin

from annotated_types import Ge, Le
from pydantic import BaseModel
from pydantic_core import ErrorDetails

_BARE_TOML_KEY = re.compile(r"^[A-Za-z0-9_-]+$")


def key_path(loc: Sequence[int | str]) -> str:
    """``('modules', 'a.b', 'keep', 0)`` -> ``modules."a.b".keep[0]``, as it is written in TOML."""
    text = ""
    for part in loc:
        if isinstance(part, int):
            text += f"[{part}]"
        elif part != "[key]":  # pydantic's marker for an error in a dict key, not a key itself
            shown = part if _BARE_TOML_KEY.match(part) else '"' + part.replace('"', '\\"') + '"'
            text += f".{shown}" if text else shown
    return text


def _found(value: object) -> str:
    """A value the way the user wrote it in TOML, so they can find it in the file."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return repr(value)
    if isinstance(value, dict):
        return "a table"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, int | float):
        return str(value)
    return f"{value} ({type(value).__name__})"


def _unwrap(annotation: Any) -> Any:
    """``X | None`` and ``Annotated[X, ...]`` -> ``X``: the shape that the next key steps into."""
    while True:
        origin = get_origin(annotation)
        members = [arg for arg in get_args(annotation) if arg is not type(None)]
        if origin is Annotated or (origin in (Union, types.UnionType) and len(members) == 1):
            annotation = members[0]
        else:
            return annotation


def _type_at(loc: Sequence[int | str], root: type[BaseModel]) -> Any:
    """The declared type at an error location, found by walking the models; None if unknown."""
    current: Any = root
    for part in loc:
        current = _unwrap(current)
        if isinstance(current, type) and issubclass(current, BaseModel):
            field = current.model_fields.get(str(part))
            if field is None:
                return None
            current = field.annotation
        elif get_origin(current) in (dict, list):
            current = get_args(current)[-1]
        else:
            return None
    return _unwrap(current)


def _model_at(loc: Sequence[int | str], root: type[BaseModel]) -> type[BaseModel] | None:
    found = _type_at(loc, root)
    return found if isinstance(found, type) and issubclass(found, BaseModel) else None


_EXPECTED = {
    "int": "an integer",
    "bool": "true or false",
    "string": "a string",
    "list": "an array",
    "dict": "a table",
    "model": "a table",
}


def _bounds(loc: Sequence[int | str], root: type[BaseModel]) -> str:
    """' between 0 and 10000' for a bounded integer field: every integer error states the range."""
    parent = _model_at(loc[:-1], root)
    if parent:
        field = parent.model_fields.get(str(loc[-1]))
        metadata = field.metadata if field else []
        low = next((m.ge for m in metadata if isinstance(m, Ge)), None)
        high = next((m.le for m in metadata if isinstance(m, Le)), None)
        if low is not None and high is not None:
            return f" between {low} and {high}"
    return ""


def describe(error: ErrorDetails, root: type[BaseModel]) -> tuple[str, str]:
    """One pydantic error of a ``root`` model -> (key path, message) in the manifest's own
    words."""
    loc: tuple[int | str, ...] = tuple(error["loc"])
    key = key_path(loc)
    kind = error["type"]
    ctx: Mapping[str, Any] = error.get("ctx") or {}
    value = error.get("input")
    if kind == "hotreload":
        return ctx.get("key") or key, error["msg"]
    if kind == "extra_forbidden":
        parent = _model_at(loc[:-1], root)
        known = list(parent.model_fields) if parent else []
        message = f"unknown key; known keys: {', '.join(known)}"
        close = difflib.get_close_matches(str(loc[-1]), known, n=1)
        if close:
            message += f"; did you mean {close[0]!r}?"
        elif loc[0] == "modules" and len(loc) == 3 and isinstance(value, dict):
            dotted = f"{loc[1]}.{loc[2]}"
            message += f'; for the dotted module {dotted!r}, quote it: [modules."{dotted}"]'
        return key, message
    if kind == "missing":
        if _model_at(loc, root) or get_origin(_type_at(loc, root)) is dict:
            return key, f"required table [{key}] is missing"
        parent = _model_at(loc[:-1], root)
        field = parent.model_fields.get(str(loc[-1])) if parent else None
        hint = f" ({field.description})" if field and field.description else ""
        return key, f"required key is missing{hint}"
    if kind == "literal_error":
        return key, f"expected {ctx['expected']}, found {_found(value)}"
    if kind == "string_too_short":
        return key, "expected a non-empty string, found ''"
    category = kind.split("_")[0]
    if category == "int" or kind in ("greater_than_equal", "less_than_equal"):
        return key, f"expected an integer{_bounds(loc, root)}, found {_found(value)}"
    if category in _EXPECTED:
        return key, f"expected {_EXPECTED[category]}, found {_found(value)}"
    return key, f"{error['msg']}, found {_found(value)}"
