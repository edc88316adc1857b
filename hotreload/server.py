"""The server: start-up, profiles, bindings, and running reloads for the watcher's batches."""

from __future__ import annotations

import importlib
import inspect
import sys
import threading
import time
import types
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

from hotreload.bindings import Binding, Bindings
from hotreload.checking import failures_of, module_specs, prepare_modules, require_contract
from hotreload.engine.batch import LiveModules
from hotreload.engine.gate import VersionGate
from hotreload.engine.source import digest
from hotreload.engine.transaction import Outcome, load
from hotreload.errors import (
    AppError,
    ContractViolation,
    HotreloadError,
    ManifestError,
    PortInUse,
    ServerError,
)
from hotreload.events import (
    EventLog,
    ServerFailed,
    ServerStarted,
    ServerStopped,
)
from hotreload.listeners import EventListener
from hotreload.manifest import LoadedManifest, load_manifest, split_target
from hotreload.output import EventOutput, LogFile
from hotreload.reloading import STOP_GRACE_S, ReloadingSide, RestartListener, report_loaded
from hotreload.verdicts import FailReason, RestartPolicy, StopReason
from hotreload.words import LogFormat

if TYPE_CHECKING:
    from hotreload.saveverdicts import RestartCause, RestartNeeded

LISTENER_GRACE_S = 5.0  # how long `start` and `stop` wait for another thread's listener calls


class Server:
    """Loads a manifest's modules, guards their contract, and hot-applies saved changes.

    Build it with `hotreload.up(...)` (or construct it and call `start()`); every public method
    is safe to call from any thread. It owns its output: events render on stderr in the
    profile's `log_format` (or ``log_format``) unless ``stderr`` is False, and go as JSON lines
    to the profile's `log_file` (or ``log_file``, relative to the working directory), which is
    opened here and closed by `stop`.
    """

    def __init__(
        self,
        manifest: LoadedManifest,
        *,
        env: str | None = None,
        on_event: EventListener | None = None,
        exec_timeout: float | None = None,
        log_format: LogFormat | None = None,
        log_file: str | Path | None = None,
        stderr: bool = True,
        serving: bool = False,
        restarted: bool = False,
    ) -> None:
        self.manifest = manifest
        self.env, self.profile = manifest.profile(env)
        # `hotreload up` serving [app] asgi/wsgi restarts itself by default; a host never does
        # (only a served app can restart itself: an entry or `hotreload.up()` says "never").
        policy = manifest.restart_policy(self.profile, serving=serving)
        self.restart_policy: RestartPolicy = policy if serving else "never"
        self.restarted = restarted  # this run is a restart: a failed start-up waits, not exits
        # Explicit arguments beat the profile's settings (exec_timeout too, below).
        log_path = Path(log_file) if log_file is not None else manifest.log_file(self.profile)
        self.output = EventOutput(
            log_format or self.profile.log_format,
            stderr=stderr,
            log_file=LogFile(log_path) if log_path is not None else None,
        )
        listeners = (on_event,) if on_event is not None else ()
        self.events = EventLog(
            self.env, level=self.profile.log_level, output=self.output, listeners=listeners
        )
        self.exec_timeout = (
            exec_timeout if exec_timeout is not None else self.profile.exec_timeout_ms / 1000
        )
        self.gate = VersionGate()
        self._stopped = threading.Event()
        # The live modules are the server's: bindings and `version` read them, reloads or not.
        self._modules = LiveModules()
        self._reloading = ReloadingSide(
            manifest,
            self.profile,
            modules=self._modules,
            events=self.events,
            gate=self.gate,
            exec_timeout=self.exec_timeout,
            stopped=self._stopped,
            policy=self.restart_policy,
        )
        self._bindings = Bindings(manifest.path.name, self.gate if self.profile.reload else None)
        self._stop_lock = threading.Lock()  # one `stop` does the work; others wait for it
        self._stop_done = threading.Event()
        self._stopping: int | None = None  # the thread doing it
        self._started = False
        # What stopped a start-up that a KeyboardInterrupt ended (`hotreload up` names the signal).
        self.interrupt_cause: Callable[[], str | None] = lambda: None

    # -- lifecycle ---------------------------------------------------------------------------

    def start(self, *, before_watch: Callable[[], object] | None = None) -> Server:
        """Check the contract, import the modules, start the watcher; then `server.started`.

        Raises ContractViolation (after one `contract.violation` event per violation) before any
        module code runs, and ServerError when a module cannot be imported; a failed start
        writes `server.failed`, ends what it started and closes the output. ``before_watch`` runs
        once the modules are loaded, before the watcher starts (`hotreload up` imports the app
        it serves there, so an app that cannot be served fails start-up).
        """
        try:
            # Listeners hear of start-up once it is over: one may stop the server from its
            # callback, and must find it started (or failed), not half-way.
            with self.events.deferred():
                self._start(before_watch)
        except KeyboardInterrupt:  # Ctrl+C or SIGTERM during start-up: a stop, not a failure
            cause = self.interrupt_cause() or "KeyboardInterrupt raised"
            # Once `server.started` is written (the signal came while it was being delivered),
            # start-up is over, and the stop is an ordinary one.
            self.stop("interrupted", cause if self._started else f"{cause} during start-up")
            raise
        except BaseException as error:
            self.fail(error)
            raise
        self.events.flush(LISTENER_GRACE_S)
        return self

    def fail(self, error: BaseException) -> None:
        """End a start that cannot go on: `server.failed` with the error's reason, then stop
        what was started (a watcher already running, the log file): nothing is left behind."""
        reason = failure_reason(error)
        if reason is not None:
            message, waiting = str(error), self.restarted and reason != "port_in_use"
            if waiting:
                message += (
                    f"; the server keeps its address and starts again at the next save of a "
                    f"file under {self.manifest.root}"
                )
            self.events.emit(ServerFailed, reason=reason, message=message, waiting=waiting)
        self.stop()

    def _start(self, before_watch: Callable[[], object] | None) -> None:
        began = time.perf_counter()
        prepared = prepare_modules(module_specs(self.manifest))
        require_contract(self.events, failures_of(prepared), self.manifest.path.name)
        root = str(self.manifest.root)
        if root not in sys.path:
            sys.path.insert(0, root)
        imports = self._reloading.imports
        if imports is not None:
            imports.install()  # before the imports: their helpers are recorded
        order = self._reloading.batches.import_began
        for spec, candidate in prepared:
            loaded_at = time.perf_counter()
            order.setdefault(spec.name, len(order))  # its own imports begin after it
            live = load(spec, candidate)
            self._reloading.batches.track(live)
            report_loaded(self.events, live, digest(live.source), _ms_since(loaded_at))
        if imports is not None:
            imports.adopt_already_imported()
        if before_watch is not None:
            before_watch()
        if self.profile.reload:
            self._reloading.watch()
        self._started = True
        self.events.emit(
            ServerStarted,
            manifest=str(self.manifest.path),
            modules=self.modules,
            reload=self.profile.reload,
            debounce_ms=self.profile.debounce_ms,
            duration_ms=_ms_since(began),
            restarted=self.restarted,
        )

    def stop(
        self, reason: StopReason = "stopped", message: str | None = None, *, say: bool = True
    ) -> None:
        """Stop watching (a reload in progress finishes first), write `server.stopped` (unless
        ``say`` is False: a restart said `server.restarting` instead) and close the output. A
        second call waits for the first to finish (a listener's call returns)."""
        with self._stop_lock:
            first = not self._stopped.is_set()
            self._stopped.set()
            if first:
                self._stopping = threading.get_ident()
        if not first:
            if self._stopping != threading.get_ident():
                self._stop_done.wait(self.exec_timeout + STOP_GRACE_S + LISTENER_GRACE_S)
            return
        try:
            with self.events.deferred():  # a listener that calls back runs once we let go
                self._stop(reason, message, say)
        finally:
            self.output.close()
            self._stop_done.set()
        self.events.flush(LISTENER_GRACE_S)

    def _stop(self, reason: StopReason, message: str | None, say: bool) -> None:
        if not self._reloading.stop(self.exec_timeout):
            message = (message + "; " if message else "") + (
                "a reload was still running module code (blocked in a C call?)"
            )
        if say and (self._started or reason == "interrupted"):
            self.events.emit(ServerStopped, reason=reason, message=message)

    def on_restart_needed(self, listener: RestartListener) -> None:
        """Hear of each save whose outcome is `restart_needed` while the policy is ``auto``
        (`hotreload up` restarts itself then), once its event is written, with the module, its
        file and why; called on the reloading thread."""
        self._reloading.on_restart = listener

    def restart_on_save(self, files: dict[Path, RestartNeeded]) -> None:
        """Files that are not modules whose save restarts the server (a config file the app
        read at start), each with why; only where the policy is ``auto``."""
        self._reloading.restart_on_save(files)

    def restart_when_changed(self, module: str, restart: RestartNeeded) -> None:
        """Every valid save of ``module`` is ``restart`` (`hotreload up`: the module of an app
        factory, whose app was built once at start and cannot be rebuilt in place)."""
        self._reloading.batches.restart_always[module] = restart

    def ran_once(self, module: str, function: str, what: str) -> None:
        """``module.function`` ran once at start and returned (`hotreload up`: the app factory):
        a change to a function only it calls is accepted with a warning that says so, and
        restarts the server where the profile lets it (``restart = "auto"``)."""
        self._reloading.batches.ran_once[(module, function)] = what

    def pin(self, module: str, name: str, cause: RestartCause) -> None:
        """A save that would bind ``module.name`` again in place is ``restart_needed`` with
        ``cause`` (`hotreload up`: the served app, which uvicorn holds as it was at start)."""
        self._reloading.batches.pinned.setdefault(module, {})[name] = cause

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the server is stopped (or the timeout passes); True if it stopped."""
        return self._stopped.wait(timeout)

    def __enter__(self) -> Server:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        interrupted = exc_type is not None and issubclass(exc_type, KeyboardInterrupt)
        self.stop("interrupted" if interrupted else "stopped")

    # -- what a host uses --------------------------------------------------------------------

    def module(self, name: str) -> Binding:
        """The binding of one module: its exports, always the latest accepted version."""
        live = self._modules.get(name)
        if live is None or not live.spec.contract:
            known = ", ".join(n for n in self._modules.names() if self._is_manifest(n)) or "none"
            raise HotreloadError(
                f"unknown module {name!r}; modules in {self.manifest.path.name}: {known}"
            )
        return self._bindings.of(name, live.namespace, live.spec.exports)

    def version(self, name: str) -> int:
        """The running version of a module: 1 at first load, +1 per accepted change."""
        self._reloading.adopt_pending()
        live = self._modules.get(name)
        if live is None:
            self.module(name)  # the same error for an unknown name
            raise AssertionError("unreachable")
        return live.version

    @property
    def started(self) -> bool:
        """Whether start-up finished: `server.started` was written."""
        return self._started

    @property
    def watching(self) -> bool:
        """Whether a watcher thread runs (never in a profile with ``reload = false``)."""
        return self._reloading.watching

    @property
    def modules(self) -> list[str]:
        """Every module that reloads: the manifest's first, then those the process imported."""
        self._reloading.adopt_pending()
        names = self._modules.names()
        return [n for n in names if self._is_manifest(n)] + [
            n for n in names if not self._is_manifest(n)
        ]

    def run_entry(self) -> Any:
        """Import ``[app] entry`` and call it (with the server, if it takes an argument)."""
        app = self.manifest.manifest.app
        if app is None or app.entry is None:
            raise ServerError(f"{self.manifest.path.name} has no [app] entry to run")
        entry = import_entry(app.entry, self.manifest.root)
        # Called once: a change to it never runs in this process (a warning says so).
        code = getattr(inspect.unwrap(entry), "__code__", None)
        if isinstance(code, types.CodeType):
            self._reloading.batches.entries.add((code.co_filename, code.co_qualname))
        return entry(self) if inspect.signature(entry).parameters else entry()

    def reload(self, paths: list[Path], *, resync: bool = False) -> list[Outcome]:
        """Decide and apply changes to these module files now (the watcher calls this)."""
        return self._reloading.reload(paths, resync=resync)

    # -- internals ---------------------------------------------------------------------------

    def _is_manifest(self, name: str) -> bool:
        return name in self.manifest.manifest.modules


def _ms_since(began: float) -> float:
    return (time.perf_counter() - began) * 1000


def import_entry(entry: str, root: Path) -> Callable[..., Any]:
    """The function ``[app] entry`` names ("module:function"), imported."""
    module_name, function_name = split_target(entry)
    try:
        function: Callable[..., Any] = getattr(importlib.import_module(module_name), function_name)
    except (ImportError, AttributeError) as e:
        raise ServerError(
            f"cannot import [app] entry {entry!r}: {e}; it is resolved under project.root ({root})"
        ) from e
    return function


def failure_reason(error: BaseException) -> FailReason | None:
    """The `server.failed` reason of an error that ends a start; None where none applies
    (Ctrl+C is a stop, not a failure)."""
    if isinstance(error, ContractViolation):
        return "contract_violation"
    if isinstance(error, ManifestError):  # e.g. a module's file is not where the manifest says
        return "manifest_error"
    if isinstance(error, AppError):  # the app to serve: a bad path, not an app, the web extra
        return "app_error"
    if isinstance(error, PortInUse):
        return "port_in_use"
    if isinstance(error, ServerError):
        return "import_error"
    return None


def up(
    manifest: str | Path = "hotreload.toml",
    *,
    env: str | None = None,
    on_event: EventListener | None = None,
    exec_timeout: float | None = None,
    log_format: LogFormat | None = None,
    log_file: str | Path | None = None,
    stderr: bool = True,
) -> Server:
    """Load the manifest and start a server; returns once modules are loaded and watched.

    ``exec_timeout`` (seconds) overrides the profile's ``exec_timeout_ms``; ``log_format`` and
    ``log_file`` override the profile's. Events render on stderr (never stdout) unless
    ``stderr=False``, for a host that reads them through ``on_event`` or the log file only.
    ``on_event`` is called with each event dict, in seq order, never under the server's locks;
    one that raises is reported once (`listener.error`) and changes nothing else.

    Use it as a context manager so the watcher stops with the block::

        with hotreload.up("hotreload.toml") as server:
            server.module("calculator").add(5, 3)
    """
    server = Server(
        load_manifest(manifest),
        env=env,
        on_event=on_event,
        exec_timeout=exec_timeout,
        log_format=log_format,
        log_file=log_file,
        stderr=stderr,
    )
    return server.start()


# -- the server `hotreload up` runs in this process -------------------------------------------

_current: Server | None = None


def current() -> Server:
    """The server of `hotreload up` in this process: ``current().module("handlers")``.

    An app served with ``[app] asgi``/``wsgi`` is imported by `hotreload up`, which cannot
    hand it the server as an argument; this is how its routes reach the bindings.
    """
    if _current is None:
        raise HotreloadError(
            "no hotreload server runs in this process: start the app with `hotreload up`, or, "
            "in-process, use the server that `hotreload.up(...)` returns"
        )
    return _current


def set_current(server: Server | None) -> None:
    """Name the server `current` returns (None when it stops); `hotreload up` calls this."""
    global _current
    _current = server
