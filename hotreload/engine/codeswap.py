"""New code into live functions: find a module's functions, pair old code with new, swap.

An edit inside a function body needs no module code to run: every live function made from the
old definition (the module's function, a method on its class, the wrapper a decorator built,
a closure held in a cell) takes the new definition's code object, and keeps its identity, its
defaults, its closure and its decorators. Code objects are paired by qualified name and by
order of appearance among those of the same name, so a definition that moved keeps its pair.
"""

from __future__ import annotations

import types
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from hotreload.engine.statements import nested_codes
from hotreload.lookup import (
    MISSING,
    accessors,
    class_dict,
    class_module,
    inner_function,
    instance_dict,
    is_a,
    is_cache_wrapper,
    is_class,
    wrapped_of,
)
from hotreload.records import record

CodeKey = tuple[str, int]  # (co_qualname, n-th code object of that name in the module)

_MAX_ATTRIBUTES = 64  # an object's attributes are looked into only when there are few


@record(eq=False)  # never compared: no field-wise __eq__, __hash__ to make
class CodeIndex:
    """Every code object a version of a module compiles to, by position and by pairing key."""

    by_position: dict[tuple[str, int], CodeKey]  # (co_qualname, co_firstlineno) -> key
    by_key: dict[CodeKey, types.CodeType]

    def key_of(self, code: types.CodeType) -> CodeKey | None:
        return self.by_position.get((code.co_qualname, code.co_firstlineno))


def index_code(module_codes: Iterable[types.CodeType]) -> CodeIndex:
    """Index the code objects nested in a module's code (its statements' codes, in order),
    depth first, in source order."""
    return index_nested(nested_codes(module) for module in module_codes)


def index_nested(nested: Iterable[Sequence[types.CodeType]]) -> CodeIndex:
    """`index_code`, from the code objects nested in each statement's code (in order), where
    they are known already (`Statement.nested`)."""
    by_position: dict[tuple[str, int], CodeKey] = {}
    by_key: dict[CodeKey, types.CodeType] = {}
    seen: dict[str, int] = {}
    ambiguous: set[tuple[str, int]] = set()
    for code in (code for codes in nested for code in codes):
        nth = seen.get(code.co_qualname, 0)
        seen[code.co_qualname] = nth + 1
        key = (code.co_qualname, nth)
        by_key[key] = code
        position = (code.co_qualname, code.co_firstlineno)
        if position in by_position:
            ambiguous.add(position)  # two lambdas on one line: which live one is which?
        by_position[position] = key
    for position in ambiguous:
        del by_position[position]
    return CodeIndex(by_position, by_key)


def live_functions(
    namespace: dict[str, Any],
    filename: str,
    module_name: str,
    extra: Sequence[tuple[types.FunctionType, str]] = (),
) -> list[tuple[types.FunctionType, str]]:
    """The functions made by this module's code that the module can reach, each with the
    top-level name it was reached from (the statement that made it).

    Reached: module globals, the classes the module defines (their methods, properties,
    nested classes), what decorators keep (``__wrapped__``, closure cells, ``__func__``, the
    attributes of an object a decorator returned), and ``extra`` (functions a re-run statement
    handed to someone else). Containers (lists, dicts) are not searched.
    """
    finder = _Finder(filename, module_name)
    for name, value in list(namespace.items()):
        finder.visit(value, name, depth=0)
    for function, root in extra:
        finder.visit(function, root, depth=0)
    return finder.found


class _Finder:
    def __init__(self, filename: str, module_name: str) -> None:
        self.filename = filename
        self.module_name = module_name
        self.found: list[tuple[types.FunctionType, str]] = []
        self._seen: set[int] = set()

    def visit(self, value: Any, root: str, depth: int) -> None:
        """Look into ``value`` with static lookups only (see `hotreload.lookup`): a proxy or a
        lazy object in the module's globals must never run, nor raise, because it was seen."""
        if id(value) in self._seen or depth > 12:
            return
        if type(value) is types.FunctionType:  # most globals: a plain function, asked first
            self._seen.add(id(value))
            self._function(value, root, depth)
        elif is_a(value, types.FunctionType):
            self._seen.add(id(value))
            self._function(value, root, depth)
        elif is_class(value):
            self._seen.add(id(value))
            if class_module(value) == self.module_name:
                for member in list(class_dict(value).values()):
                    self.visit(member, root, depth + 1)
        elif (inner := inner_function(value)) is not MISSING:
            self._seen.add(id(value))
            self.visit(inner, root, depth + 1)
        elif is_a(value, property):
            self._seen.add(id(value))
            for accessor in accessors(value):
                self.visit(accessor, root, depth + 1)
        elif not is_a(value, types.ModuleType) and depth <= 1:
            # An object a decorator returned (a command, a task, an lru_cache wrapper, a
            # cached_property) keeps the function in an attribute.
            self._seen.add(id(value))
            for member in _attributes(value):
                if is_a(member, types.FunctionType, staticmethod, classmethod, property):
                    self.visit(member, root, depth + 1)

    def _function(self, function: types.FunctionType, root: str, depth: int) -> None:
        if function.__code__.co_filename == self.filename:
            self.found.append((function, root))
        attributes = function.__dict__
        wrapped = attributes.get("__wrapped__") if attributes else None
        if wrapped is not None:
            self.visit(wrapped, root, depth + 1)
        for cell in function.__closure__ or ():
            try:
                content = cell.cell_contents
            except ValueError:
                continue  # an empty cell
            if is_a(content, types.FunctionType) or is_cache_wrapper(content):
                self.visit(content, root, depth + 1)


def _attributes(value: Any) -> list[Any]:
    """The values in an object's ordinary instance dict (none for a proxy that forwards it)."""
    wrapped = wrapped_of(value) if is_cache_wrapper(value) else None
    attributes = instance_dict(value)
    if attributes is None:
        return [wrapped] if wrapped is not None else []
    if len(attributes) > _MAX_ATTRIBUTES:
        return []
    return [*attributes.values(), *([wrapped] if wrapped is not None else [])]


@dataclass(eq=False)
class Swap:
    """One live function and the code it takes."""

    function: types.FunctionType
    old: types.CodeType
    new: types.CodeType
    old_doc: Any
    root: str  # the top-level name it was reached from

    def apply(self) -> None:
        self.function.__code__ = self.new
        if self.function.__doc__ == _docstring(self.old):  # not a doc copied by a decorator
            self.function.__doc__ = _docstring(self.new)

    def undo(self) -> None:
        self.function.__code__ = self.old
        self.function.__doc__ = self.old_doc


def _docstring(code: types.CodeType) -> str | None:
    """A function's docstring as CPython takes it: its code's first constant, if a string."""
    first = code.co_consts[0] if code.co_consts else None
    return first if isinstance(first, str) else None


@dataclass(eq=False)
class SwapPlan:
    """The swaps a new version needs, and what the swaps alone cannot reach."""

    swaps: list[Swap]
    blocked: set[str]  # top-level names whose statements must run: a closure changed shape
    reached: set[CodeKey]  # new code keys that some live function takes
    stale: list[str]  # closures made at run time that cannot take the new code (its shape)


def plan_swaps(
    functions: list[tuple[types.FunctionType, str]],
    old: CodeIndex,
    new: CodeIndex,
    namespace: dict[str, Any] | None = None,
) -> SwapPlan:
    """Pair each live function's code with the new version's; changed code only.

    A function whose new code needs other closure variables (it started to use `super()`, or a
    new variable of the enclosing function) cannot take it: Python ties `__code__` to the
    closure's shape. Its top-level statement must run again instead. ``namespace`` is the
    module's, where the closures made at run time are looked for first.
    """
    result = SwapPlan([], set(), set(), [])
    taken: set[int] = set()
    unchanged: set[int] = set()  # their nested definitions are unchanged too (code equality)
    for function, root in functions:
        taken.add(id(function))
        key = old.key_of(function.__code__)
        if key is None:
            continue  # made by code this version did not compile (an older one, an exec)
        new_code = new.by_key.get(key)
        if new_code is None:
            continue  # its definition is gone: the function keeps its code until released
        result.reached.add(key)
        if new_code is function.__code__ or new_code == function.__code__:
            unchanged.add(id(function))
            continue
        if new_code.co_freevars != function.__code__.co_freevars:
            result.blocked.add(root)
            continue
        result.swaps.append(Swap(function, function.__code__, new_code, function.__doc__, root))
    changed = [(f, root) for f, root in functions if id(f) not in unchanged]
    _plan_closure_swaps(functions, changed, old, new, taken, result, namespace or {})
    return result


def _changed_nested(
    functions: list[tuple[types.FunctionType, str]],
    old: CodeIndex,
    new: CodeIndex,
    swapped: set[int],
) -> dict[int, tuple[types.CodeType, types.CodeType, str]]:
    """The nested definitions whose code changed: old code, new code, top-level name.

    A function that takes new code (``swapped``) carries new nested code objects, even where
    they are equal to the old ones (compiled apart, or alone): the closures it made follow, so
    that the next save still finds them through the code objects it holds."""
    targets: dict[int, tuple[types.CodeType, types.CodeType, str]] = {}
    for function, root in functions:
        for code in nested_codes(function.__code__):
            if "<locals>" not in code.co_qualname:
                continue
            key = old.key_of(code)
            new_code = new.by_key.get(key) if key is not None else None
            if new_code is None or new_code is code:
                continue
            if new_code != code or id(function) in swapped:
                targets[id(code)] = (code, new_code, root)
    return targets


def _plan_closure_swaps(
    functions: list[tuple[types.FunctionType, str]],
    changed: list[tuple[types.FunctionType, str]],
    old: CodeIndex,
    new: CodeIndex,
    taken: set[int],
    result: SwapPlan,
    namespace: dict[str, Any],
) -> None:
    """Closures that live functions made when they ran (a route defined inside `main()` and
    handed to a framework) take the new code of their definition too.

    They are found through the code objects they were made from, which are constants of the
    live functions' code (`closures.closures_of`: where closures live first, the collector
    only for what that cannot account for); looked for only when such a nested definition
    changed, in the ``changed`` functions only (code equal to the new version's holds equal
    nested code).
    """
    swapped = {id(swap.function) for swap in result.swaps}
    targets = _changed_nested(changed, old, new, swapped)
    if not targets:
        return
    from hotreload.engine.closures import closures_of  # a save's, and only for nested defs

    known = [function for function, _ in functions]
    codes = [entry[0] for entry in targets.values()]
    # What keeps the old code objects here: the old index (each code there holds its nested
    # ones as constants) and `targets`.
    for referrer in closures_of(codes, namespace, known, (old.by_key, targets)):
        if id(referrer) in taken:
            continue
        target = targets.get(id(referrer.__code__))
        if target is None:
            continue
        code, new_code, root = target
        taken.add(id(referrer))
        if new_code.co_freevars != code.co_freevars:
            result.stale.append(referrer.__qualname__)
            continue
        result.swaps.append(Swap(referrer, code, new_code, referrer.__doc__, root))


def cache_wrappers(namespace: dict[str, Any]) -> list[Any]:
    """The module's `lru_cache`/`cache` wrappers: cleared at every reload, so no result of the
    old code is ever served."""
    found: list[Any] = []
    for value in list(namespace.values()):
        if is_cache_wrapper(value):
            found.append(value)
        elif is_class(value):
            found.extend(v for v in class_dict(value).values() if is_cache_wrapper(v))
    return found
