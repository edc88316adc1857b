"""Bindings: stable handles to a module's exports that a host holds across reloads."""

from __future__ import annotations

import functools
import inspect
import sys
import types
from collections.abc import AsyncGenerator, Callable, Generator, Iterable
from typing import Any, Protocol, TypeVar

from hotreload.engine.gate import VersionGate
from hotreload.words import article

_T = TypeVar("_T")


class Binding:
    """The exports of one module, and nothing else.

    In a profile without reload the exports are the functions themselves, and this class has no
    ``__getattr__`` hook: defining one turns off CPython's specialised attribute lookup, and a
    production binding must cost what the function costs. A name that is not an export raises
    the plain AttributeError there; development bindings (`ReloadingBinding`) explain it.
    """

    def __init__(self, module: str, manifest: str, exports: dict[str, Callable[..., Any]]) -> None:
        object.__setattr__(self, "_module", module)
        object.__setattr__(self, "_manifest", manifest)
        object.__setattr__(self, "_exports", tuple(exports))
        for name, function in exports.items():
            object.__setattr__(self, name, function)

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"bindings are read-only; cannot set {name!r}")

    def __dir__(self) -> list[str]:
        return list(object.__getattribute__(self, "_exports"))

    def __repr__(self) -> str:
        module = object.__getattribute__(self, "_module")
        exports = ", ".join(object.__getattribute__(self, "_exports"))
        return f"<hotreload binding {module} [{exports}]>"


class ReloadingBinding(Binding):
    """A binding in a reloading profile: each export is a small wrapper that looks the function
    up at call time and runs it inside the version gate, so a call never sees a half-applied
    reload; a name that is not an export gets an error that says how to export it (or, for a
    value that is not a function, that only functions can be exports).
    """

    def __init__(
        self,
        module: str,
        manifest: str,
        exports: dict[str, Callable[..., Any]],
        *,
        namespace: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(module, manifest, exports)
        object.__setattr__(self, "_namespace", namespace if namespace is not None else {})

    def __getattr__(self, name: str) -> Any:
        # Only called when normal lookup fails: the name is not an export.
        module = object.__getattribute__(self, "_module")
        manifest = object.__getattribute__(self, "_manifest")
        namespace = object.__getattribute__(self, "_namespace")
        raise AttributeError(not_exported(module, manifest, name, namespace))


class Bindings:
    """The bindings of a server's modules, one per module, made at the first ask.

    With a gate (a reloading profile) each export is gated and looked up at call time; without
    one the exports are the functions themselves, at full speed.
    """

    def __init__(self, manifest: str, gate: VersionGate | None) -> None:
        self.manifest = manifest
        self.gate = gate
        self._made: dict[str, Binding] = {}

    def of(self, module: str, namespace: dict[str, Any], exports: Iterable[str]) -> Binding:
        """The binding of ``module``, whose globals are ``namespace``."""
        binding = self._made.get(module)
        if binding is None:
            gate = self.gate
            if gate is not None:
                gated = {f: gated_export(namespace, f, gate) for f in exports}
                binding = ReloadingBinding(module, self.manifest, gated, namespace=namespace)
            else:
                binding = Binding(module, self.manifest, {f: namespace[f] for f in exports})
            self._made[module] = binding
        return binding


def not_exported(module: str, manifest: str, name: str, namespace: dict[str, Any]) -> str:
    """Why ``name`` is not on the binding, and the fix that fits what the module has there."""
    if name in namespace and not _is_function_like(namespace[name]):
        return (
            f"{module!r} does not export {name!r}: it is {_kind(namespace[name])}, not a "
            "function, and only functions can be exports (a binding hands out calls, not "
            f"state). Add a function that returns it, e.g. `def get_{name.lstrip('_')}()`, and "
            f"export that under [modules.{module}.exports] in {manifest}, then restart."
        )
    return (
        f"{module!r} does not export {name!r}: the host may only call exports. "
        f'Add `{name} = "(...) -> ..."` under [modules.{module}.exports] in {manifest} '
        f"(or run `hotreload freeze {module}`), then restart."
    )


def _is_function_like(value: object) -> bool:
    """A def, whatever wraps it (`functools.cache`, `wraps` chains): what freeze would export."""
    if not callable(value):
        return False
    try:
        return inspect.isroutine(inspect.unwrap(value))
    except ValueError:  # a __wrapped__ cycle: callable, so give it the benefit of the doubt
        return True


def _kind(value: object) -> str:
    """'a class', 'a module', 'a list' ...: what a person calls the value."""
    if isinstance(value, type):
        return "a class"
    if isinstance(value, types.ModuleType):
        return "a module"
    return article(type(value).__name__)


def gated_export(namespace: dict[str, Any], name: str, gate: VersionGate) -> Callable[..., Any]:
    """A callable that runs ``namespace[name]`` (whatever it is now) inside the gate."""
    current = namespace[name]
    if inspect.iscoroutinefunction(current):
        return _gated_coroutine_function(namespace, name, gate)
    if inspect.isasyncgenfunction(current):
        return _gated_async_generator_function(namespace, name, gate)

    # A generator's body runs after the call returns, one step per next(): each step must be
    # gated too, or it could run while a reload is half applied. Decided on the result, as a
    # reload may turn a function that returns a list into a generator and back.
    def stepped(result: Any) -> Any:
        if type(result) is types.GeneratorType:
            return _drive(result, gate)
        return _gated_async_generator(_given(result), gate)

    call = gate.sync_call(namespace, name, stepped)

    functools.update_wrapper(call, current)
    return call


def _gated_coroutine_function(
    namespace: dict[str, Any], name: str, gate: VersionGate
) -> Callable[..., Any]:
    """An async export holds the gate for each step between awaits, never across one.

    Holding it across an ``await`` would let a coroutine suspended on I/O block every reload.
    Each step runs wholly on one version; a reload may land between two steps. A step that
    finds a reload pending awaits it: blocking would stall every task of the event loop. The
    function is looked up in the first step, inside the gate, so a call never picks up the
    object of a version that a reload is still executing (and may yet reject).
    """

    async def call(*args: Any, **kwargs: Any) -> Any:
        return await _GatedAwaitable(lambda: namespace[name](*args, **kwargs), gate)

    functools.update_wrapper(call, namespace[name])
    return call


def _gated_async_generator_function(
    namespace: dict[str, Any], name: str, gate: VersionGate
) -> Callable[..., Any]:
    """An async generator export: calling it runs nothing; the export is called in the first
    step, inside the gate (awaiting a pending reload instead of blocking the loop)."""

    def call(*args: Any, **kwargs: Any) -> AsyncGenerator[Any, Any]:
        return _gated_async_generator(lambda: namespace[name](*args, **kwargs), gate)

    functools.update_wrapper(call, namespace[name])
    return call


class _Steps(Protocol):
    """What a generator, a coroutine and an async generator's ``asend()`` have in common."""

    def send(self, value: Any, /) -> Any: ...
    def throw(self, error: BaseException, /) -> Any: ...
    def close(self) -> None: ...


class _GatedAwaitable:
    """Drives a coroutine step by step, each step inside the version gate, awaiting the gate.

    ``start`` makes the coroutine (or, with ``step=False``, any object, returned as the result)
    inside the first gated step.
    """

    def __init__(self, start: Callable[[], Any], gate: VersionGate, *, step: bool = True) -> None:
        self._start = start
        self._gate = gate
        self._step = step

    def __await__(self) -> Generator[Any, Any, Any]:
        return _drive_async(self._start, self._gate, step=self._step)


def _drive(steps: _Steps, gate: VersionGate) -> Generator[Any, Any, Any]:
    """Run a generator step by step, each step inside the gate, never between."""
    to_send: Any = None
    to_throw: BaseException | None = None
    while True:
        gate.enter()
        try:
            if to_throw is not None:
                yielded = steps.throw(to_throw)
            else:
                yielded = steps.send(to_send)
        except StopIteration as stop:
            return stop.value
        finally:
            gate.exit()
        to_throw = None
        try:
            to_send = yield yielded
        except GeneratorExit:
            _close(steps, gate)
            raise
        except BaseException as error:  # an exception thrown in goes into the generator
            to_throw = error


def _drive_async(
    start: Callable[[], Any], gate: VersionGate, *, step: bool = True
) -> Generator[Any, Any, Any]:
    """`_drive` for an awaitable: a step that finds the gate closed awaits it (a future of the
    running loop) instead of blocking the loop's thread, and the object is made in a step."""
    steps: _Steps | None = None
    to_send: Any = None
    to_throw: BaseException | None = None
    while True:
        if not gate.try_enter():
            try:
                yield from _gate_opened(gate)
            except GeneratorExit:
                if steps is not None:
                    _close(steps, gate)
                raise
            except BaseException as error:  # cancelled while waiting: the coroutine gets it
                if steps is None:
                    raise
                to_throw = error
            continue
        try:
            if steps is None:
                made = start()
                if not step:
                    return made
                steps = made
                assert steps is not None
            if to_throw is not None:
                yielded = steps.throw(to_throw)
            else:
                yielded = steps.send(to_send)
        except StopIteration as stop:
            return stop.value
        finally:
            gate.exit()
        to_throw = None
        try:
            to_send = yield yielded
        except GeneratorExit:
            _close(steps, gate)
            raise
        except BaseException as error:  # cancellation and the like go into the coroutine
            to_throw = error


def _gate_opened(gate: VersionGate) -> Generator[Any, Any, None]:
    """Wait until the gate opens: awaiting on an asyncio loop, else (no loop runs in this
    thread, e.g. a coroutine driven by hand or by another library) blocking as sync calls do."""
    # asyncio is looked up, not imported: a process that never imported it runs no asyncio
    # loop, and importing it costs every host a fifth of hotreload's import.
    asyncio = sys.modules.get("asyncio")
    try:
        if asyncio is None:
            raise RuntimeError("no running event loop")
        loop = asyncio.get_running_loop()
    except RuntimeError:
        gate.enter()
        gate.exit()
        return
    yield from gate.opened(loop)


def _given(value: _T) -> Callable[[], _T]:
    return lambda: value


def _close(steps: _Steps, gate: VersionGate) -> None:
    """Close a generator or coroutine inside the gate: its ``finally`` blocks are a step too.

    Closing cannot await (it happens in ``close()`` or at garbage collection), so this blocks
    while a reload runs, as a sync call does.
    """
    gate.enter()
    try:
        steps.close()
    finally:
        gate.exit()


async def _gated_async_generator(
    make: Callable[[], AsyncGenerator[Any, Any]], gate: VersionGate
) -> AsyncGenerator[Any, Any]:
    """An async generator, made by ``make`` in the first step: each step (between awaits)
    inside the gate, as for coroutines."""
    agen = await _GatedAwaitable(make, gate, step=False)
    step: _Steps = agen.asend(None)
    try:
        while True:
            try:
                value = await _GatedAwaitable(_given(step), gate)
            except StopAsyncIteration:
                return
            try:
                sent = yield value
            except GeneratorExit:
                raise
            except BaseException as error:  # athrow() into the wrapper goes into the generator
                step = agen.athrow(error)
            else:
                step = agen.asend(sent)
    finally:
        await _GatedAwaitable(agen.aclose, gate)
