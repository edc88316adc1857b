"""`record`: a dataclass whose fields are never assigned after `__init__`, held to that by the
type checker rather than by a run-time guard.

`@dataclass(frozen=True)` writes two methods more than a plain dataclass (`__setattr__` and
`__delattr__`, which raise), and on Python 3.11 each method a dataclass writes is compiled by an
`exec` of its own: 1.4 M instructions, about 0.2 ms, for each frozen class a process defines. A
start-up defines some twenty such records (the manifest's tables, the contract's signatures, a
module's analysis): over 30 M instructions, near a tenth of `hotreload up`'s own start (issue
19). A `record` is a plain dataclass at run time, which type checkers see frozen
(`dataclass_transform(frozen_default=True)`): `mypy --strict` (CI) rejects an assignment to a
field wherever the code makes one, where the guard would have raised when it ran. A compared
record (``eq``, the default) is hashed by its fields, as a frozen dataclass is; an ``eq=False``
one by identity, as ever.

Code that must write a field once (a value derived in `__post_init__`) uses
`object.__setattr__`, as with a frozen dataclass.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import Field, dataclass, field
from typing import Any, TypeVar, dataclass_transform, overload

_T = TypeVar("_T")


@overload
def record(cls: type[_T], /) -> type[_T]: ...


@overload
def record(
    *, eq: bool = True, kw_only: bool = False, slots: bool = False
) -> Callable[[type[_T]], type[_T]]: ...


@dataclass_transform(frozen_default=True, field_specifiers=(field, Field))
def record(
    cls: type[_T] | None = None, /, *, eq: bool = True, kw_only: bool = False, slots: bool = False
) -> Any:
    """`@record`, or `@record(eq=False, kw_only=True, slots=True)`: the dataclass options it
    takes mean what they mean to `dataclass`."""

    def make(cls: type[_T]) -> type[_T]:
        return dataclass(cls, eq=eq, unsafe_hash=eq, kw_only=kw_only, slots=slots)

    return make if cls is None else make(cls)
