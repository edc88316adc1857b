"""The closures made from nested code objects, found without walking the whole heap.

A function defined inside another (a route made in `main()`, a callback a factory returns) is
a new function object each time its enclosing code runs, kept wherever that code put it.
`gc.get_referrers` finds them all, but walks every object the collector tracks: 20 ms a save in
a process holding 5 million objects, a fifth of a second at 50 million.

Instead, the places closures live are searched first: the module's namespace and what it
holds (its classes, the cells of its functions' closures, the dicts, lists and instance
attributes of its objects: a framework's route table hangs off the app object in the module's
globals), with a bound on how much is looked at. Whether that found every one is then known
exactly from the code object's reference count: each function made from it holds one
reference, and every other holder that may be there is counted (the enclosing code's
constants, the indexes of the module's code). Only a code object with a reference left
unexplained (a closure stored where the search did not look, a frame running it) is looked
for with the collector.

Live objects are looked at through their real type only (`type(x)`, type dictionaries and
builtin descriptors): a proxy or a lazy object in the user's globals must never run.
"""

from __future__ import annotations

import collections
import gc
import sys
import types
from collections.abc import Iterable
from typing import Any

from hotreload.lookup import MISSING, accessors, class_dict, inner_function, instance_dict

# How much of a module's object graph is looked at before giving the rest to the collector.
# A few microseconds an object: the walk stays well under what the collector's pass costs in a
# process big enough for that pass to matter.
MAX_VISITED = 5_000  # objects looked into, in all, nearest the module's globals first
MAX_ITEMS = 2_000  # a bigger container (a data set) holds no closures worth its walk
MAX_DEPTH = 10

# Objects that hold no function: never looked into.
_ATOMS = frozenset(
    {
        int,
        float,
        complex,
        bool,
        str,
        bytes,
        bytearray,
        type(None),
        range,
        slice,
        types.CodeType,
        types.ModuleType,
        types.BuiltinFunctionType,
        type(Ellipsis),
        type(NotImplemented),
    }
)
_SEQUENCES = (list, tuple, set, frozenset, collections.deque)


def closures_of(
    codes: list[types.CodeType],
    namespace: dict[str, Any],
    known: Iterable[types.FunctionType],
    holders: tuple[Any, ...],
) -> list[types.FunctionType]:
    """Every live function made from one of ``codes`` (nested code objects of a module).

    ``known``: functions found already (the module's own, reached from its globals), counted
    but not returned again. ``holders``: the containers (dicts, lists, tuples) through which
    the caller keeps code objects: each reference they hold to one of ``codes`` is explained,
    directly or as a constant of a code object they hold (the old version's code index).
    """
    wanted = {id(code): code for code in codes}
    found: dict[int, types.FunctionType] = {}
    known_ids = set()
    for function in known:
        known_ids.add(id(function))
        if id(function.__code__) in wanted:
            found[id(function)] = function
    _Walk(wanted, found).run(namespace)
    # The probe goes through the very same count as the others, so what the count itself
    # holds (the loop's variable, the calls' arguments) is measured, not assumed.
    looked_at = [*codes, *_probe()]
    explainers = (*holders, codes, wanted, looked_at, [_PROBE])
    functions = list(found.values())
    excess = [_excess(code, functions, explainers) for code in looked_at]
    missing = [code for code, left in zip(codes, excess, strict=False) if left > excess[-1]]
    if missing:
        # Some closure lives where the search did not look: the collector knows every object.
        for referrer in gc.get_referrers(*missing):
            if type(referrer) is types.FunctionType and id(referrer.__code__) in wanted:
                found[id(referrer)] = referrer
    return [f for f in found.values() if id(f) not in known_ids]


class _Walk:
    """A bounded walk of what a namespace holds, collecting functions made from ``wanted``."""

    def __init__(
        self, wanted: dict[int, types.CodeType], found: dict[int, types.FunctionType]
    ) -> None:
        self.wanted = wanted
        self.found = found
        self.seen: set[int] = set()
        self.budget = MAX_VISITED

    def run(self, namespace: dict[str, Any]) -> None:
        # Breadth first, a level at a time: closures live near the globals (app -> router ->
        # routes -> route), and a deep graph elsewhere must not spend the budget before they
        # are reached. A level is a plain list, extended from containers at C speed.
        level: list[Any] = list(namespace.values())
        seen = self.seen
        for _depth in range(MAX_DEPTH + 1):
            following: list[Any] = []
            for value in level:
                kind = type(value)
                if kind in _ATOMS or id(value) in seen:
                    continue
                if self.budget <= 0:
                    return
                seen.add(id(value))
                self.budget -= 1
                following.extend(self._inside(value, kind))
            if not following:
                return
            level = following

    def _inside(self, value: Any, kind: type) -> Iterable[Any]:
        """What ``value`` holds that may be, or lead to, a function."""
        if issubclass(kind, types.FunctionType):
            if id(value.__code__) in self.wanted:
                self.found[id(value)] = value
            cells = [_cell_contents(cell) for cell in value.__closure__ or ()]
            attributes = instance_dict(value)
            return [*cells, *(attributes.values() if attributes else ())]
        if issubclass(kind, dict):
            return dict.values(value) if dict.__len__(value) <= MAX_ITEMS else ()
        if issubclass(kind, _SEQUENCES):
            return value if kind in _SEQUENCES and len(value) <= MAX_ITEMS else ()
        if issubclass(kind, type):
            return list(class_dict(value).values())
        inner = inner_function(value)  # a bound method, staticmethod, classmethod, partial
        if inner is not MISSING:
            return (inner,)
        if issubclass(kind, property):
            return list(accessors(value))
        if issubclass(kind, types.ModuleType):
            return ()  # another module's namespace: its own closures are its own reload's
        attributes = instance_dict(value)
        if attributes is None or len(attributes) > MAX_ITEMS:
            return ()
        return list(attributes.values())


def _cell_contents(cell: types.CellType) -> Any:
    try:
        return cell.cell_contents
    except ValueError:  # an empty cell
        return None


def _references(code: types.CodeType) -> int:
    return sys.getrefcount(code)


def _excess(code: types.CodeType, found: list[types.FunctionType], holders: tuple[Any, ...]) -> int:
    """References to ``code`` that no function found and no holder explains. Only references
    seen are counted (by identity), so a closure the search missed always leaves one over."""
    explained = sum(1 for f in found if f.__code__ is code)
    parents: set[int] = set()  # a code object held twice holds its constants once
    for holder in holders:
        for item in holder.values() if type(holder) is dict else holder:
            if item is code:
                explained += 1
            elif type(item) is types.CodeType and id(item) not in parents:
                parents.add(id(item))
                explained += sum(1 for const in item.co_consts if const is code)
            elif type(item) is tuple:
                explained += sum(1 for part in item if part is code)
    return _references(code) - explained


# A nested code object whose one holder is known (its enclosing code's constants) and of which
# no function is ever made: its excess is what the count itself holds.
_PROBE = next(
    const
    for const in compile(
        "def probe():\n    def inner():\n        pass\n", "<probe>", "exec"
    ).co_consts
    if type(const) is types.CodeType
)


def _probe() -> list[types.CodeType]:
    return [const for const in _PROBE.co_consts if type(const) is types.CodeType]
