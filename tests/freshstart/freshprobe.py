"""What a process computed from a project's modules, as plain JSON strings: the same code runs in
the live child (after a save) and in a fresh interpreter (on the same files), to compare the two.

Standard library only: it runs inside the children, next to the project's own modules.
"""

from __future__ import annotations

import atexit
import dis
import os
import sys
import types
import zlib
from collections.abc import Callable, Iterable
from typing import Any

_PLAIN = (int, float, complex, str, bytes, bool, type(None))
_MAX_ITEMS = 40  # a container is described by its first items; enough to see a difference
_MAX_DEPTH = 4
_CLASS_INTERNALS = frozenset({"_abc_impl"})  # caches of the abc machinery, not the user's

# atexit has no public way to list its callbacks, and `atexit._ncallbacks()` still counts one
# that `atexit.unregister` took out: both sides count the callbacks the project's code registered
# (a project file on the stack: not the `logging` that hotreload imports) and did not unregister
# since, with the same two wrappers, installed right before the project is imported
# (`atexit_count()` in a probe).
_atexit_live: list[Any] = []
_atexit_counting = False
_project_roots: tuple[str, ...] = ()


def _from_project() -> bool:
    """Whether the module whose top-level code runs nearest on the stack is the project's (not
    a library the project imports, which registers once whoever imports it first)."""
    frame = sys._getframe(2)
    while frame is not None:
        if frame.f_code.co_name == "<module>":
            return frame.f_code.co_filename.startswith(_project_roots)
        frame = frame.f_back  # type: ignore[assignment]
    return False


def reset_atexit_base() -> None:
    """Count atexit registrations from now on (called right before the project is imported, in
    the project's directory)."""
    global _atexit_counting, _project_roots
    _atexit_live.clear()
    here = os.getcwd()
    _project_roots = (os.path.join(here, ""), os.path.join(os.path.realpath(here), ""))
    if _atexit_counting:
        return
    _atexit_counting = True
    register, unregister = atexit.register, atexit.unregister

    def counted_register(func: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Any:
        if _from_project():
            _atexit_live.append(func)
        return register(func, *args, **kwargs)

    def counted_unregister(func: Callable[..., Any], /) -> None:
        _atexit_live[:] = [f for f in _atexit_live if f != func]
        unregister(func)

    atexit.register = counted_register  # type: ignore[assignment]
    atexit.unregister = counted_unregister  # type: ignore[assignment]


def atexit_count() -> int:
    return len(_atexit_live)


def _clean(text: str) -> str:
    """Without memory addresses, which differ between any two processes."""
    if "0x" not in text:
        return text
    import re  # only here: the fresh side imports little, as it starts once per case

    return re.sub(r" at 0x[0-9a-fA-F]+|0x[0-9a-fA-F]{6,}", "", text)


def _safe_repr(value: Any) -> str:
    try:
        return _clean(repr(value))
    except Exception as error:  # a user's __repr__ that raises is part of what it shows
        return f"<repr raised {type(error).__name__}>"


def _instructions(code: types.CodeType) -> Iterable[str]:
    """What the code does, instruction by instruction, without what two compilations of the same
    source may differ in (3.11 compiles ``functools.wraps(fn)`` as LOAD_METHOD or as LOAD_ATTR,
    which moves every jump target), nor line numbers."""
    for instruction in dis.get_instructions(code):
        name = instruction.opname
        if name in ("NOP", "RESUME", "CACHE", "EXTENDED_ARG", "PRECALL", "PUSH_NULL"):
            continue
        if name == "LOAD_METHOD":
            name = "LOAD_ATTR"
        if instruction.opcode in dis.hasjrel or instruction.opcode in dis.hasjabs:
            yield name
        elif isinstance(instruction.argval, types.CodeType):
            yield f"{name} <code>"
        else:
            yield f"{name} {_safe_repr(instruction.argval)}"


def code_digest(code: types.CodeType) -> str:
    """What a code object runs: its instructions and those of the code objects inside it."""
    parts: list[str] = []

    def feed(co: types.CodeType) -> None:
        parts.extend(_instructions(co))
        for const in co.co_consts:
            if isinstance(const, types.CodeType):
                feed(const)

    feed(code)
    return f"{zlib.crc32(chr(10).join(parts).encode()):08x}"


def _global_loads(code: types.CodeType) -> Iterable[str]:
    for instruction in dis.get_instructions(code):
        if instruction.opname in ("LOAD_GLOBAL", "LOAD_NAME"):
            yield str(instruction.argval)
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            yield from _global_loads(const)


def missing_globals(function: types.FunctionType) -> list[str]:
    """The globals a function reads that neither its module nor builtins has: NameErrors waiting."""
    namespace = function.__globals__
    builtins = namespace.get("__builtins__", {})
    if isinstance(builtins, types.ModuleType):
        builtins = vars(builtins)
    return sorted(
        {n for n in _global_loads(function.__code__) if n not in namespace and n not in builtins}
    )


def _home(obj: Any) -> str:
    return f"{getattr(obj, '__module__', '?')}.{getattr(obj, '__qualname__', '?')}"


def _is_bound_at_home(obj: Any) -> bool | None:
    """Is ``obj`` the object its module names at its qualified name? None where that cannot be
    asked (a lambda, a function made inside another)."""
    qualname = getattr(obj, "__qualname__", None)
    module = sys.modules.get(getattr(obj, "__module__", None) or "")
    if not isinstance(qualname, str) or module is None or "<" in qualname:
        return None
    current: Any = module
    for part in qualname.split("."):
        namespace = vars(current) if hasattr(current, "__dict__") else {}
        if part not in namespace:
            return False
        current = namespace[part]
        if isinstance(current, (staticmethod, classmethod)):
            current = current.__func__
    return current is obj


def _mark(obj: Any) -> str:
    bound = _is_bound_at_home(obj)
    return "" if bound is not False else " NOT-AT-HOME"


def ref(value: Any, depth: int = 0) -> str:
    """A short, deterministic description of any value (used inside containers and for probes)."""
    if type(value) in _PLAIN:
        return _safe_repr(value)
    if depth >= _MAX_DEPTH:
        return f"<{type(value).__name__} ...>"
    if isinstance(value, types.ModuleType):
        return f"<module {value.__name__}>"
    if isinstance(value, type):
        return f"<class {_home(value)}{_mark(value)}>"
    if isinstance(value, types.FunctionType):
        return f"<function {_home(value)}{_mark(value)} code={code_digest(value.__code__)}>"
    if isinstance(value, types.MethodType):
        return f"<method of {ref(value.__self__, depth + 1)}: {ref(value.__func__, depth + 1)}>"
    if isinstance(value, (types.BuiltinFunctionType, types.WrapperDescriptorType)):
        return f"<builtin {_home(value)}>"
    if type(value) in (list, tuple):
        items = [ref(v, depth + 1) for v in value[:_MAX_ITEMS]]
        more = ", ..." if len(value) > _MAX_ITEMS else ""
        text = ", ".join(items) + more
        return (
            f"[{text}]" if isinstance(value, list) else f"({text}{',' if len(value) == 1 else ''})"
        )
    if type(value) is dict:
        items = [f"{ref(k, depth + 1)}: {ref(v, depth + 1)}" for k, v in list(value.items())]
        return (
            "{" + ", ".join(items[:_MAX_ITEMS]) + (", ..." if len(items) > _MAX_ITEMS else "") + "}"
        )
    if type(value) in (set, frozenset):
        items = sorted(ref(v, depth + 1) for v in value)
        name = type(value).__name__
        return f"{name}({{{', '.join(items[:_MAX_ITEMS])}}})"
    return _describe_object(value, depth)


def _describe_object(value: Any, depth: int) -> str:
    kind = type(value)
    wrapped = getattr(value, "__wrapped__", None)
    if callable(value) and isinstance(wrapped, types.FunctionType):
        # functools.wraps, lru_cache, singledispatch wrappers: what they wrap is what runs
        return f"<{kind.__name__} wrapping {ref(wrapped, depth + 1)}>"
    text = f"<{_home(kind)}{_mark(kind)} instance"
    if kind.__repr__ is not object.__repr__:
        text += " " + _safe_repr(value)
    elif hasattr(value, "__dict__") and isinstance(vars(value), dict):
        attrs = {k: v for k, v in vars(value).items() if not k.startswith("__")}
        text += " " + ref(attrs, depth + 1)
    return text + ">"


def describe_function(function: types.FunctionType) -> str:
    text = ref(function)
    missing = missing_globals(function)
    return text + (f" missing={missing}" if missing else "")


def _dispatch_registry(value: Any) -> str:
    registry = getattr(value, "registry", None)
    if not hasattr(registry, "items"):
        return ""
    entries = sorted(f"{ref(k)}: {describe_top(v)}" for k, v in registry.items())
    return " registry={" + ", ".join(entries) + "}"


def describe_class(cls: type) -> str:
    parts = [f"<class {_home(cls)}{_mark(cls)}>"]
    parts.append("bases=[" + ", ".join(ref(b) for b in cls.__bases__) + "]")
    if type(cls) is not type:
        parts.append(f"meta={ref(type(cls))}")
    attrs = []
    for name, value in vars(cls).items():
        if name.startswith("__") or name in _CLASS_INTERNALS:
            continue
        if name.startswith("_") and name.endswith("_") and len(name) > 2:
            continue  # enum's and other frameworks' _sunder_ bookkeeping
        if isinstance(value, (staticmethod, classmethod)):
            value = value.__func__
        if isinstance(value, property) and isinstance(value.fget, types.FunctionType):
            value = value.fget
        attrs.append(
            f"{name}={describe_function(value)}"
            if isinstance(value, types.FunctionType)
            else f"{name}={ref(value, 1)}"
        )
    for name in ("__init__", "__repr__", "__eq__", "__call__"):
        value = vars(cls).get(name)
        if isinstance(value, types.FunctionType):
            attrs.append(f"{name}={describe_function(value)}")
    parts.append("{" + ", ".join(sorted(attrs)) + "}")
    return " ".join(parts)


def describe_top(value: Any) -> str:
    """A module global described in full: functions with the globals they miss, classes with their
    bases and members, dispatch registries with what they dispatch to."""
    if isinstance(value, types.FunctionType):
        return describe_function(value) + _dispatch_registry(value)
    if isinstance(value, type):
        return describe_class(value)
    wrapped = getattr(value, "__wrapped__", None)
    if callable(value) and isinstance(wrapped, types.FunctionType):
        return f"<{type(value).__name__} wrapping {describe_function(wrapped)}>"
    return ref(value)


def project_modules(root: str) -> dict[str, types.ModuleType]:
    """The modules of this process whose file is under the directory ``root``, by name."""
    prefixes = (os.path.join(root, ""), os.path.join(os.path.realpath(root), ""))
    found = {}
    for name, module in list(sys.modules.items()):
        path = getattr(module, "__file__", None)
        if isinstance(path, str) and path.startswith(prefixes):  # __file__ is absolute
            found[name] = module
    return dict(sorted(found.items()))


def fingerprint(root: str) -> dict[str, str]:
    """Every project module: which ones, and per module each global not a dunder, its docstring and
    its ``__all__`` (flat keys ``module:name`` so that a difference reads as one line)."""
    out: dict[str, str] = {}
    modules = project_modules(root)
    out["modules"] = ", ".join(modules)
    for name, module in modules.items():
        namespace = vars(module)
        out[f"{name}:__doc__"] = ref(namespace.get("__doc__"))
        if "__all__" in namespace:
            out[f"{name}:__all__"] = ref(namespace["__all__"])
        for key in sorted(namespace):
            if not key.startswith("__"):
                out[f"{name}:{key}"] = describe_top(namespace[key])
    return out


def namespace(root: str, main: str | None, *, uses: str = "") -> dict[str, Any]:
    """What a probe expression or a set-up statement sees: each top-level project package or module
    by its name, the case's main module as ``m``, ``sys``, ``atexit_count()``, and ``pickle`` if
    ``uses`` (the expressions' text) names it (the fresh side imports no more than it needs)."""
    names: dict[str, Any] = {"sys": sys, "atexit_count": atexit_count}
    if "pickle" in uses:
        import pickle

        names["pickle"] = pickle
    for name in project_modules(root):
        top = name.partition(".")[0]
        if top in sys.modules:
            names.setdefault(top, sys.modules[top])
    if main is not None and main in sys.modules:
        names["m"] = sys.modules[main]
    return names


def run_probes(expressions: list[str], root: str, main: str | None) -> dict[str, str]:
    """Each expression's described value (or the exception it raised), by expression."""
    names = namespace(root, main, uses=" ".join(expressions))
    results = {}
    for expression in expressions:
        try:
            value = eval(expression, dict(names))
        except Exception as error:
            results[expression] = f"raises {type(error).__name__}: {_clean(str(error))}"
        else:
            results[expression] = ref(value)
    return results


def snapshot(expressions: list[str], root: str, main: str | None) -> dict[str, str]:
    """The probe's expressions (keys as written) and the fingerprint (keys ``module:name``)."""
    out = {f"probe: {k}": v for k, v in run_probes(expressions, root, main).items()}
    out.update(fingerprint(root))
    return out


def protocol_stdout() -> Callable[[dict[str, Any]], None]:
    """A writer of JSON lines on the process's real stdout; fd 1 then goes to stderr, so that a
    project module that prints cannot break the protocol."""
    import json
    import threading

    sys.stdout.flush()
    stream = os.fdopen(os.dup(1), "w", encoding="utf-8", buffering=1)
    os.dup2(2, 1)
    lock = threading.Lock()

    def write(message: dict[str, Any]) -> None:
        line = json.dumps(message, default=str)
        with lock:
            stream.write(line + "\n")
            stream.flush()

    return write
