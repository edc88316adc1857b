"""In-place patching: live functions and classes get the new code and keep their identity."""

from __future__ import annotations

import enum
import functools
import types
from typing import Any

from hotreload.lookup import (
    accessors,
    class_dict,
    class_module,
    class_qualname,
    inner_function,
    is_a,
    is_cache_wrapper,
    is_class,
    wrapped_of,
)

_MISSING = object()
# The plain containers whose items retarget_instances visits (exact types: a subclass may be a
# user's, whose methods are user code), and how deep.
_CONTAINERS = (tuple, list, dict, set, frozenset)
_RETARGET_DEPTH = 4

# Class attributes that belong to the class object itself, not to its version of the code.
_CLASS_SKIP = frozenset(
    {
        "__dict__",
        "__weakref__",
        "__module__",
        "__qualname__",
        "__doc__",
        "_abc_impl",
        "__firstlineno__",
        "__static_attributes__",
    }
)


def _name_of(cls: type) -> tuple[str, str]:
    return (class_module(cls), class_qualname(cls))


def _enum_members(cls: type) -> list[tuple[str, Any]] | None:
    if is_a(cls, enum.EnumMeta):
        members: dict[str, Any] = dict(cls.__members__)  # type: ignore[attr-defined]
        return [(name, member.value) for name, member in members.items()]
    return None


def _has_identity(obj: object) -> bool:
    """Objects that references elsewhere hold on to: replacing one must be reported as rebound."""
    return is_a(obj, types.FunctionType, type, staticmethod, classmethod, property) or (
        is_cache_wrapper(obj)
    )


def _same_definition(old: Any, new: Any) -> bool:
    """Whether ``new`` comes from the definition that made ``old``, run again.

    A name may be re-pointed at another object (`impl = _xml` instead of `_json`, `from lib
    import b as impl` instead of `a`): patching the old object with the new one's code would
    rewrite `_json`, or a library's function, everywhere. Code objects name their definition
    even through `functools.wraps`, which copies `__qualname__` onto a wrapper.
    """
    if is_a(old, types.FunctionType):
        return is_a(new, types.FunctionType) and (
            old.__code__.co_filename,
            old.__code__.co_qualname,
        ) == (new.__code__.co_filename, new.__code__.co_qualname)
    if is_class(old) and is_class(new):
        return _name_of(old) == _name_of(new)
    return False


def _is_enum_internal(cls: type, attr: str, value: object) -> bool:
    """EnumType's bookkeeping (`_member_map_`, `_value2member_map_`, ...): it holds the members.

    Copying the new class's onto the live enum would make `Color(1)`, `Color["RED"]` and
    iteration return the members of the discarded class, not the live ones.
    """
    return (
        is_a(cls, enum.EnumMeta)
        and len(attr) > 2
        and attr[0] == attr[-1] == "_"
        and attr[1] != "_"
        and not is_a(value, types.FunctionType, staticmethod, classmethod, property)
    )


def classes_compatible(old: type, new: type) -> bool:
    """Whether ``old`` can take ``new``'s attributes and still be a sound class."""
    return (
        _same_definition(old, new)
        and _name_of(type(old)) == _name_of(type(new))
        and [_name_of(b) for b in old.__bases__] == [_name_of(b) for b in new.__bases__]
        and class_dict(old).get("__slots__") == class_dict(new).get("__slots__")
        and _enum_members(old) == _enum_members(new)
        and _namedtuple_fields(old) == _namedtuple_fields(new)
    )


def _namedtuple_fields(cls: type) -> Any:
    fields = next((class_dict(k).get("_fields") for k in cls.__mro__ if k is not object), None)
    return fields if type(fields) is tuple else None


_PLAIN_VALUES = (int, float, complex, str, bytes, bool, type(None))


def keeps_identity(old: Any, new: Any) -> bool:
    """Whether patching ``old`` with ``new`` leaves the name bound to the same object (or an
    equal plain value): what depends on the name then need not run again."""
    if old is new:
        return True
    if type(old) is not type(new):
        return False
    if is_a(old, types.FunctionType):
        return _same_definition(old, new) and old.__code__.co_freevars == new.__code__.co_freevars
    if is_class(old):
        return classes_compatible(old, new)
    if is_a(old, staticmethod, classmethod):
        return keeps_identity(inner_function(old), inner_function(new))
    if is_cache_wrapper(old):
        return keeps_identity(wrapped_of(old), wrapped_of(new))
    if type(old) in _PLAIN_VALUES:  # exactly: a subclass's __eq__ is the user's code
        return bool(old == new)
    return False


def made_here(value: Any, namespace: dict[str, Any]) -> bool:
    """A function or class that a statement of the module owning ``namespace`` made (not an
    object another module handed over), e.g. a `def` under `try: from itertools import x`."""
    if is_a(value, types.FunctionType):
        return value.__globals__ is namespace
    return is_class(value) and class_module(value) == namespace.get("__name__")


def taken_as_same(old: Any, new: Any) -> bool:
    """Whether taking ``new`` for ``old`` as it is (never patched) leaves the name as it was:
    the same object, or an equal plain value."""
    return old is new or (not _has_identity(old) and keeps_identity(old, new))


class Patcher:
    """Patches one module's old objects with the new version's, and records what it could not.

    One Patcher serves one reload; it remembers every pair it has handled, so an inner function
    reached through a closure cell and through ``__wrapped__`` is patched once.
    """

    def __init__(self) -> None:
        self.rebound: list[str] = []
        self._done: dict[tuple[int, int], Any] = {}
        self._keepalive: list[Any] = []  # ids in _done stay valid while this patcher lives
        # new class id -> live class (by id: a metaclass's __hash__ or __eq__ is user code)
        self.class_map: dict[int, type] = {}
        # new function id -> the live function that took its code (an alias the run bound to
        # the new object, `batched = _batched`, is swapped for the live one)
        self.function_map: dict[int, types.FunctionType] = {}

    def patch(self, old: Any, new: Any, name: str | None, *, owner: type | None = None) -> Any:
        """Return the object to keep under ``name``: ``old`` patched in place, or ``new``.

        A ``name`` of None means the object is reached through another one that keeps its
        identity (a closure cell, ``__wrapped__``), so a replacement is not worth reporting.
        """
        if old is new:
            return old
        key = (id(old), id(new))
        if key in self._done:
            return self._done[key]
        self._keepalive.append((old, new))
        result = self._patch(old, new, name, owner)
        self._done[key] = result
        return result

    def take(self, old: Any, new: Any, name: str) -> Any:
        """An imported name: ``new`` (another module's object) as it is, never rewritten; a
        function or class it replaces is reported as rebound."""
        if old is not new and _has_identity(old):
            self._rebound(name)
        return new

    def _rebound(self, name: str | None) -> None:
        if name is not None:
            self.rebound.append(name)

    def _patch(self, old: Any, new: Any, name: str | None, owner: type | None) -> Any:
        if is_a(old, types.FunctionType) and is_a(new, types.FunctionType):
            if _same_definition(old, new) and self._patch_function(old, new):
                self.function_map[id(new)] = old
                return old
            self._rebound(name)
            return rehome(new, owner)
        if is_cache_wrapper(old):
            old.cache_clear()  # never serve a result computed by the old code
        if is_cache_wrapper(old) and type(old) is type(new):
            old_inner, new_inner = wrapped_of(old), wrapped_of(new)
            inner = self.patch(old_inner, new_inner, name, owner=owner)
            if inner is old_inner:
                return old
            if inner is not new_inner and type(new) is type(functools.lru_cache()(len)):
                # rehome() copied the method for zero-argument super(): cache the copy instead.
                return functools.lru_cache(**new.cache_parameters())(inner)
            return new
        if is_a(old, staticmethod, classmethod) and type(old) is type(new):
            old_inner = inner_function(old)
            inner = self.patch(old_inner, inner_function(new), name, owner=owner)
            if inner is old_inner:
                return old
            # Wrap what patch() returned: it may be an rehomed copy whose super() names the live
            # class; the new wrapper's own function names the discarded one.
            return type(new)(inner)
        if is_a(old, property) and is_a(new, property):
            return self._patch_property(old, new, name, owner)
        if is_class(old) and is_class(new):
            return self._patch_class(old, new, name)
        if _has_identity(old):
            # A function became a cache wrapper, a class became a function, and so on: the
            # new object replaces it here, but references held elsewhere keep the old one.
            self._rebound(name)
        if is_a(new, types.FunctionType):
            return rehome(new, owner)
        return new

    def _patch_function(self, old: types.FunctionType, new: types.FunctionType) -> bool:
        """Swap the code of ``old`` for the code of ``new``; False when Python forbids it."""
        if old.__code__.co_freevars != new.__code__.co_freevars:
            return False  # __code__ assignment needs the same closure shape
        for var, old_cell, new_cell in zip(
            old.__code__.co_freevars, old.__closure__ or (), new.__closure__ or (), strict=True
        ):
            if var == "__class__":
                continue  # zero-argument super(): the old cell already names the live class
            try:
                new_value = new_cell.cell_contents
            except ValueError:
                continue  # an empty cell in the new version: nothing to carry over
            try:
                old_value = old_cell.cell_contents
            except ValueError:
                old_value = _MISSING
            kept = new_value if old_value is _MISSING else self.patch(old_value, new_value, None)
            if kept is not old_value:
                old_cell.cell_contents = kept
        new_dict = dict(new.__dict__)
        if "__wrapped__" in new_dict and "__wrapped__" in old.__dict__:
            new_dict["__wrapped__"] = self.patch(
                old.__dict__["__wrapped__"], new_dict["__wrapped__"], None
            )
        old.__code__ = new.__code__
        old.__defaults__ = new.__defaults__
        old.__kwdefaults__ = new.__kwdefaults__
        old.__annotations__ = new.__annotations__
        old.__doc__ = new.__doc__
        old.__qualname__ = new.__qualname__
        old.__dict__.clear()
        old.__dict__.update(new_dict)
        return True

    def _patch_property(
        self, old: property, new: property, name: str | None, owner: type | None
    ) -> Any:
        kept: list[Any] = []
        for old_fn, new_fn in zip(accessors(old), accessors(new), strict=True):
            if old_fn is not None and new_fn is not None:
                kept.append(self.patch(old_fn, new_fn, name, owner=owner))
            else:  # a setter or deleter came or went
                kept.append(rehome(new_fn, owner))
        if all(k is a for k, a in zip(kept, accessors(old), strict=True)):
            return old
        if type(new) is property:
            # Built from the patched or rehomed accessors, so super() in them names the live class.
            return property(kept[0], kept[1], kept[2], new.__doc__)
        return new

    def _patch_class(self, old: type, new: type, name: str | None) -> type:
        """Move the new class body onto the live class: existing instances run the new methods."""
        if not classes_compatible(old, new) or not self._same_bases(old, new):
            self._rebound(name)
            return new
        self.class_map[id(new)] = old
        members = {m for m, _ in _enum_members(old) or ()}
        new_dict = class_dict(new)
        for attr, new_value in new_dict.items():
            if attr in _CLASS_SKIP or attr in members or _is_enum_internal(old, attr, new_value):
                continue
            old_value = class_dict(old).get(attr, _MISSING)
            if is_a(old_value, types.MemberDescriptorType) and type(new_value) is type(old_value):
                continue  # a __slots__ slot: the new class's descriptor refuses live instances
            if old_value is _MISSING:
                value = rehome(new_value, old)
            else:
                where = f"{class_qualname(old)}.{attr}"
                value = self.patch(old_value, new_value, where, owner=old)
            if value is not old_value:
                setattr(old, attr, value)
        old_dict = class_dict(old)
        for attr in [a for a in old_dict if a not in new_dict]:
            if attr in _CLASS_SKIP or attr in members:
                continue
            if not _is_enum_internal(old, attr, old_dict[attr]):
                delattr(old, attr)
        if new.__doc__ != old.__doc__:
            old.__doc__ = new.__doc__
        _rebuild_validator(old)
        return old

    def _same_bases(self, old: type, new: type) -> bool:
        """Whether the new class derives from the live class's very bases (a base patched in
        place by this reload counts as itself): one rebound, with a new object, takes its
        subclasses along, so that `isinstance(Child(), Base)` holds for the live `Base`."""
        return all(
            self.class_map.get(id(b), b) is a
            for a, b in zip(old.__bases__, new.__bases__, strict=True)
        )

    def retarget_instances(self, namespace: dict[str, Any]) -> None:
        """What the new code built from classes patched in place joins the live classes.

        Module-level names, what their plain containers hold (tuples, lists, dicts, sets, a few
        levels deep), default argument values and class attributes are visited. An instance of a
        discarded class gets the live class; a discarded class itself (``MARK = (Key,)`` run again
        after ``class Key``) is swapped for the live one, and so is the base of a class this run
        made (a new ``class Child(Base)``), so that one class has one object, as in a fresh start.
        An enum member is swapped for the live member of the same name: members compare by
        identity, so `Color.RED` from the discarded class is never equal to the live `Color.RED`.
        """
        if not self.class_map and not self.function_map:
            return
        module = namespace.get("__name__")
        memo: dict[int, Any] = {}
        for name, value in list(namespace.items()):
            namespace[name] = self._retarget(value, name, memo, 0)
        for value in list(namespace.values()):
            if is_class(value) and class_module(value) == module:
                self._retarget_bases(value)
                for attr, member in list(class_dict(value).items()):
                    rehomed = self._retarget(member, None, memo, 0)
                    if rehomed is not member and not is_a(value, enum.EnumMeta):
                        setattr(value, attr, rehomed)
                    for function in _functions_in(member):
                        self._retarget_defaults(function)
            elif is_a(value, types.FunctionType) and value.__globals__ is namespace:
                for function in _functions_in(value):
                    self._retarget_defaults(function)

    def _retarget_bases(self, cls: type) -> None:
        bases = tuple(self.class_map.get(id(b), b) for b in cls.__bases__)
        if any(a is not b for a, b in zip(bases, cls.__bases__, strict=True)):
            try:
                cls.__bases__ = bases
            except TypeError:  # a layout Python will not switch: it stays on the discarded base
                self._rebound(class_qualname(cls))

    def _retarget(self, value: Any, name: str | None, memo: dict[int, Any], depth: int) -> Any:
        """``value`` with discarded classes and their instances swapped for the live ones; a
        plain container is updated in place (a tuple or frozenset made again, once per object)."""
        if is_class(value):
            return self.class_map.get(id(value), value)
        if is_a(value, types.FunctionType):
            return self.function_map.get(id(value), value)
        kind = type(value)
        if kind not in _CONTAINERS:
            return self._retarget_instance(value, name)
        if id(value) in memo or depth >= _RETARGET_DEPTH:
            return memo.get(id(value), value)
        memo[id(value)] = value  # a container that holds itself
        if kind is list:
            for index, item in enumerate(value):
                if (swapped := self._retarget(item, None, memo, depth + 1)) is not item:
                    value[index] = swapped
        elif kind is dict:
            for key, item in list(value.items()):
                if (swapped := self._retarget(item, None, memo, depth + 1)) is not item:
                    value[key] = swapped
        else:
            items = list(value)
            swapped_items = [self._retarget(i, None, memo, depth + 1) for i in items]
            if any(a is not b for a, b in zip(items, swapped_items, strict=True)):
                if kind is set:
                    value.clear()
                    value.update(swapped_items)
                else:
                    memo[id(value)] = kind(swapped_items)
        return memo[id(value)]

    def _retarget_instance(self, value: Any, name: str | None) -> Any:
        live = self.class_map.get(id(type(value)))
        if live is None:
            return value
        if is_a(value, enum.Enum):
            return live.__members__.get(value.name, value)  # type: ignore[attr-defined]
        try:
            value.__class__ = live
        except TypeError:
            self._rebound(name)
        return value

    def _retarget_defaults(self, function: types.FunctionType) -> None:
        if function.__defaults__:
            memo: dict[int, Any] = {}
            defaults = tuple(self._retarget(v, None, memo, 0) for v in function.__defaults__)
            if any(a is not b for a, b in zip(defaults, function.__defaults__, strict=True)):
                function.__defaults__ = defaults
        if function.__kwdefaults__:
            for key, value in function.__kwdefaults__.items():
                function.__kwdefaults__[key] = self._retarget(value, None, {}, 0)


def _functions_in(obj: Any, depth: int = 0) -> list[types.FunctionType]:
    """The plain functions inside a class attribute: methods, accessors, wrapped functions."""
    if depth > 8:  # a __wrapped__ chain that loops
        return []
    if is_a(obj, staticmethod, classmethod):
        return _functions_in(inner_function(obj), depth + 1)
    if is_a(obj, property):
        return [f for a in accessors(obj) for f in _functions_in(a, depth + 1)]
    found = [obj] if is_a(obj, types.FunctionType) else []
    wrapped = wrapped_of(obj) if found or is_cache_wrapper(obj) else None
    return found + (_functions_in(wrapped, depth + 1) if wrapped is not None else [])


def _rebuild_validator(cls: type) -> None:
    """A pydantic model's validator was built for the class it came with: the patched live
    class builds its own again, so `model_validate` makes instances of the live class."""
    if "__pydantic_validator__" not in class_dict(cls):
        return  # looked at statically first (`lookup`): only a pydantic model is asked further
    rebuild = getattr(cls, "model_rebuild", None)
    if callable(rebuild):
        try:
            rebuild(force=True)
        except Exception:  # a model that cannot rebuild keeps the validator it was given
            return


def rehome(function: Any, owner: type | None) -> Any:
    """A new method's zero-argument ``super()`` must name the live class, not the discarded one."""
    if owner is None or not is_a(function, types.FunctionType):
        return function
    freevars = function.__code__.co_freevars
    if "__class__" not in freevars or function.__closure__ is None:
        return function
    closure = tuple(
        types.CellType(owner) if var == "__class__" else cell
        for var, cell in zip(freevars, function.__closure__, strict=True)
    )
    rehomed = types.FunctionType(
        function.__code__, function.__globals__, function.__name__, function.__defaults__, closure
    )
    rehomed.__kwdefaults__ = function.__kwdefaults__
    rehomed.__annotations__ = function.__annotations__
    rehomed.__doc__ = function.__doc__
    rehomed.__qualname__ = function.__qualname__
    rehomed.__module__ = function.__module__
    rehomed.__dict__.update(function.__dict__)
    return rehomed
