"""What a manifest error says: the key path as it is written in TOML, what was found there,
what was expected, and the fix; one line for each error pydantic reports.

The manifest's types are stdlib dataclasses (`manifesttypes`): their keys, bounds and
descriptions are read from the dataclass fields, so pydantic is needed only for the error itself.
"""

from __future__ import annotations

import dataclasses
import functools
import re
import types
import typing
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Annotated, Any, Union, get_args, get_origin

from hotreload.manifesttypes import ManifestProblem

if TYPE_CHECKING:
    from pydantic_core import ErrorDetails

_BARE_TOML_KEY = r"^[A-Za-z0-9_-]+$"  # compiled at the first error written (re caches it)


def key_path(loc: Sequence[int | str]) -> str:
    """``('modules', 'a.b', 'keep', 0)`` -> ``modules."a.b".keep[0]``, as it is written in TOML."""
    text = ""
    for part in loc:
        if isinstance(part, int):
            text += f"[{part}]"
        elif part != "[key]":  # pydantic's marker for an error in a dict key, not a key itself
            shown = part if re.match(_BARE_TOML_KEY, part) else '"' + part.replace('"', '\\"') + '"'
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


def unwrap(annotation: Any) -> Any:
    """``X | None`` and ``Annotated[X, ...]`` -> ``X``: the shape that the next key steps into."""
    while True:
        origin = get_origin(annotation)
        members = [arg for arg in get_args(annotation) if arg is not type(None)]
        if origin is Annotated or (origin in (Union, types.UnionType) and len(members) == 1):
            annotation = members[0]
        else:
            return annotation


def is_table(annotation: Any) -> bool:
    """Whether a (unwrapped) type is one of the manifest's tables, a dataclass."""
    return isinstance(annotation, type) and dataclasses.is_dataclass(annotation)


@functools.cache
def table_fields(table: type) -> dict[str, tuple[Any, Mapping[str, Any]]]:
    """A table's keys in order -> (declared type, metadata: description, bounds)."""
    hints = typing.get_type_hints(table, include_extras=True)
    return {f.name: (hints[f.name], f.metadata) for f in dataclasses.fields(table)}


def _type_at(loc: Sequence[int | str], root: type) -> Any:
    """The declared type at an error location, found by walking the tables; None if unknown."""
    current: Any = root
    for part in loc:
        current = unwrap(current)
        if is_table(current):
            found = table_fields(current).get(str(part))
            if found is None:
                return None
            current = found[0]
        elif get_origin(current) in (dict, list):
            current = get_args(current)[-1]
        else:
            return None
    return unwrap(current)


def _table_at(loc: Sequence[int | str], root: type) -> type | None:
    found = _type_at(loc, root)
    return found if is_table(found) else None


def _metadata(loc: Sequence[int | str], root: type) -> Mapping[str, Any]:
    """The metadata of the field at ``loc`` (description, bounds); empty if it is no field."""
    parent = _table_at(loc[:-1], root)
    found = table_fields(parent).get(str(loc[-1])) if parent else None
    return found[1] if found else {}


_EXPECTED = {
    "int": "an integer",
    "bool": "true or false",
    "string": "a string",
    "list": "an array",
    "dict": "a table",
    "model": "a table",
    "dataclass": "a table",
}


def _bounds(loc: Sequence[int | str], root: type) -> str:
    """' between 0 and 10000' for a bounded integer field: every integer error states the range."""
    metadata = _metadata(loc, root)
    if "ge" in metadata and "le" in metadata:
        return f" between {metadata['ge']} and {metadata['le']}"
    return ""


def describe(error: ErrorDetails, root: type) -> tuple[str, str]:
    """One pydantic error of the ``root`` table -> (key path, message) in the manifest's own
    words."""
    loc: tuple[int | str, ...] = tuple(error["loc"])
    key = key_path(loc)
    kind = error["type"]
    ctx: Mapping[str, Any] = error.get("ctx") or {}
    value = error.get("input")
    if kind == "hotreload":
        return ctx.get("key") or key, error["msg"]
    problem = ctx.get("error")
    if kind == "value_error" and isinstance(problem, ManifestProblem):  # a whole-table check
        return problem.key or key, str(problem)
    if kind in ("extra_forbidden", "unexpected_keyword_argument"):
        parent = _table_at(loc[:-1], root)
        known = list(table_fields(parent)) if parent else []
        message = f"unknown key; known keys: {', '.join(known)}"
        import difflib  # a manifest's error only: not loaded with every start

        close = difflib.get_close_matches(str(loc[-1]), known, n=1)
        if close:
            message += f"; did you mean {close[0]!r}?"
        elif loc[0] == "modules" and len(loc) == 3 and isinstance(value, dict):
            dotted = f"{loc[1]}.{loc[2]}"
            message += f'; for the dotted module {dotted!r}, quote it: [modules."{dotted}"]'
        return key, message
    if kind.startswith("missing"):
        if _table_at(loc, root) or get_origin(_type_at(loc, root)) is dict:
            return key, f"required table [{key}] is missing"
        description = _metadata(loc, root).get("description")
        hint = f" ({description})" if description else ""
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
