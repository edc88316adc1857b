"""Looking at a user's live objects without running any of their code.

The engine walks module namespaces, classes and closures to find functions to patch. The objects
there are the user's: werkzeug's `request` proxy raises outside a request, a Django-style lazy
object builds itself (or raises) on any access, SQLAlchemy's `scoped_session` opens a session,
an object may have a slow `__getattr__`. `getattr`, `hasattr`, `vars`, `==`, `hash` and even
`isinstance` (it reads `__class__`) can run that code. Everything here reads type dictionaries
and the descriptors of builtin types only: `type(x)` is the one question that never runs user
code.
"""

from __future__ import annotations

import ast
import functools
import inspect
import types
from collections.abc import Mapping
from typing import Any, TypeGuard

MISSING: Any = object()

_TYPE_DICT = type.__dict__["__dict__"]  # the real class dict, whatever a metaclass says
_TYPE_MRO = type.__dict__["__mro__"]
_TYPE_MODULE = type.__dict__["__module__"]
_TYPE_QUALNAME = type.__dict__["__qualname__"]
_METHOD_FUNC = types.MethodType.__dict__["__func__"]
_STATIC_FUNC = staticmethod.__dict__["__func__"]
_CLASS_FUNC = classmethod.__dict__["__func__"]
_PARTIAL_FUNC = functools.partial.__dict__["func"]
_PROPERTY_ACCESSORS = tuple(property.__dict__[a] for a in ("fget", "fset", "fdel"))


def is_a(value: object, *kinds: type) -> bool:
    """`isinstance` that asks the object's real type only, never its `__class__`."""
    return issubclass(type(value), kinds)


def is_class(value: object) -> TypeGuard[type]:
    return issubclass(type(value), type)


def class_dict(cls: type) -> dict[str, Any]:
    """A class's own namespace (a read-only view), as `type` keeps it."""
    return dict(_TYPE_DICT.__get__(cls, type(cls)))


def class_module(cls: type) -> Any:
    return _TYPE_MODULE.__get__(cls, type(cls))


def class_qualname(cls: type) -> Any:
    return _TYPE_QUALNAME.__get__(cls, type(cls))


def type_module(value: object) -> str:
    """The module that defines the value's real type (`flask.app`, `fastapi.applications`)."""
    module = class_module(type(value))
    return module if isinstance(module, str) else ""


def type_modules(value: object) -> list[str]:
    """The modules of the value's type and of every class it derives from, in MRO order."""
    modules = (class_module(klass) for klass in _TYPE_MRO.__get__(type(value), type))
    return [module for module in modules if isinstance(module, str)]


def instance_dict(value: object) -> dict[str, Any] | None:
    """An object's instance `__dict__`, when it has the ordinary one; None otherwise (a proxy
    that forwards `__dict__` to what it stands for has no ordinary one)."""
    for klass in _TYPE_MRO.__get__(type(value), type):
        descriptor = _TYPE_DICT.__get__(klass, type(klass)).get("__dict__", MISSING)
        if descriptor is MISSING:
            continue
        # A class's `__dict__` slot is a getset descriptor; a module's is a member descriptor.
        if type(descriptor) in (types.GetSetDescriptorType, types.MemberDescriptorType):
            found = descriptor.__get__(value, type(value))
            return found if type(found) is dict else None
        return None
    return None


def static_attr(value: object, name: str, default: Any = None) -> Any:
    """`inspect.getattr_static`: the attribute as stored (a descriptor is not called)."""
    try:
        return inspect.getattr_static(value, name)
    except AttributeError:
        return default


def bound_value(node: ast.expr, namespace: Mapping[str, Any]) -> Any:
    """What a name or an attribute chain of the source (`logging.getLogger`, `app.router`) is
    bound to now in ``namespace``, each attribute read as stored (`static_attr`); MISSING for
    anything else, or a name not bound."""
    if isinstance(node, ast.Name):
        return namespace.get(node.id, MISSING)
    if isinstance(node, ast.Attribute):
        owner = bound_value(node.value, namespace)
        return MISSING if owner is MISSING else static_attr(owner, node.attr, MISSING)
    return MISSING


def own_attr(value: object, name: str, default: Any = None) -> Any:
    """An attribute stored in the object's instance dict (such as `__wrapped__`), else default."""
    found = instance_dict(value)
    return default if found is None else found.get(name, default)


def inner_function(value: object) -> Any:
    """What a bound method, staticmethod, classmethod or partial wraps; MISSING for others."""
    kind = type(value)
    if kind is types.MethodType:
        return _METHOD_FUNC.__get__(value, kind)
    if issubclass(kind, staticmethod):
        return _STATIC_FUNC.__get__(value, kind)
    if issubclass(kind, classmethod):
        return _CLASS_FUNC.__get__(value, kind)
    if issubclass(kind, functools.partial):
        return _PARTIAL_FUNC.__get__(value, kind)
    return MISSING


def accessors(value: property) -> tuple[Any, Any, Any]:
    """A property's getter, setter and deleter, read through `property`'s own descriptors."""
    fget, fset, fdel = (d.__get__(value, type(value)) for d in _PROPERTY_ACCESSORS)
    return fget, fset, fdel


def is_cache_wrapper(value: object) -> bool:
    """`functools.lru_cache` / `cache` wrappers (or look-alikes): a `cache_clear` method on the
    type, the function kept in the instance's `__wrapped__`."""
    kind = type(value)
    if id(kind) in _NEVER_WRAPPERS or is_a(value, types.FunctionType, type, types.ModuleType):
        return False
    clear = _type_attr(kind, "cache_clear")
    return callable(clear) and own_attr(value, "__wrapped__", MISSING) is not MISSING


# Builtin types whose instances are never cache wrappers (their type dicts cannot change),
# functions and modules first (most of a namespace), by id: hashing a class asks its
# metaclass, which may be the user's.
_NEVER_WRAPPERS = frozenset(
    id(kind)
    for kind in (
        *(types.FunctionType, types.ModuleType, types.BuiltinFunctionType, types.MethodType),
        *(int, float, complex, bool, str, bytes, bytearray, tuple, list, dict, set, frozenset),
        type(None),
    )
)


def _type_attr(cls: type, name: str) -> Any:
    """`static_attr(cls, name)` for a class: the first of its MRO's own dicts that has the name,
    else its metaclass's. Read from the dicts directly where every class involved is a plain
    `type` (the usual case; `getattr_static` is ten times slower), through `static_attr` where a
    metaclass might shadow `__dict__` (then `getattr_static` skips that class)."""
    if type(cls) is not type:
        return static_attr(cls, name)
    mro = _TYPE_MRO.__get__(cls, type)
    for klass in mro:
        if type(klass) is not type:
            return static_attr(cls, name)
    for klass in mro:
        found = _TYPE_DICT.__get__(klass, type).get(name, MISSING)
        if found is not MISSING:
            return found
    for klass in (type, object):  # the metaclass's MRO
        found = _TYPE_DICT.__get__(klass, type).get(name, MISSING)
        if found is not MISSING:
            return found
    return None


def wrapped_of(value: object) -> Any:
    """A function's or cache wrapper's `__wrapped__` (set by `functools.wraps`), else None."""
    return own_attr(value, "__wrapped__", None)
