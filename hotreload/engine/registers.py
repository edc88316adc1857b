"""Whether making a class again registers it somewhere the engine cannot undo.

A class statement that runs again makes a new class object, which the live class takes in by
patching. But a metaclass, an `__init_subclass__` of a base, or a class decorator may have
put the new object into a registry (a plugin table, an ORM's metadata) beside the live one;
removing the class leaves the old one registered. A fresh start registers each class once.
The classes the standard library makes (ABCs, Enums, NamedTuples, TypedDicts, Protocols,
dataclasses) register nothing of the kind.
"""

from __future__ import annotations

import ast

# Modules whose metaclasses and `__init_subclass__` keep no registry of subclasses.
_PLAIN_MODULES = frozenset(
    {
        "builtins",
        "abc",
        "enum",
        "typing",
        "typing_extensions",
        "collections",
        "_collections_abc",
        "pydantic._internal._model_construction",  # a model is patched, its validator rebuilt
        "pydantic.main",
    }
)
# Class decorators that return the class they are given, registered nowhere.
PLAIN_DECORATORS = frozenset(
    {
        "dataclass",
        "total_ordering",
        "unique",
        "verify",
        "final",
        "runtime_checkable",
        "dataclass_transform",
        "define",
        "frozen",
        "mutable",
        "attrs",
        "s",
    }
)


def registration(cls: type, node: ast.stmt | None) -> str | None:
    """What may have registered ``cls`` when its statement ran (for the message), or None."""
    meta = type(cls)
    if meta.__module__ not in _PLAIN_MODULES:
        return f"its metaclass {meta.__qualname__}"
    for base in cls.__mro__[1:]:
        if "__init_subclass__" in vars(base) and base.__module__ not in _PLAIN_MODULES:
            return f"{base.__qualname__}.__init_subclass__"
    for decorator in getattr(node, "decorator_list", ()):
        target = decorator.func if isinstance(decorator, ast.Call) else decorator
        name = target.attr if isinstance(target, ast.Attribute) else getattr(target, "id", "")
        if name not in PLAIN_DECORATORS:
            return f"its decorator @{ast.unparse(target)}"
    return None
