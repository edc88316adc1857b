"""The server: start-up, profiles, bindings, and running reloads for the watcher's batches."""

from __future__ import annotations

import hashlib
import importlib
import inspect
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import Any

from hotreload.bindings import Binding, ReloadingBinding, gated_export
from hotreload.contract import emit_violations, failures_of, module_specs, prepare_modules
from hotreload.deadline import Watchdog
from hotreload.errors import ContractViolation, HotreloadError, ServerError
from hotreload.events import (
    EventListener,
    EventLog,
    ManifestChanged,
    ModuleLoaded,
    ReloadAccepted,
    ReloadRejected,
    ReloadUnchanged,
    ServerStarted,
    ServerStopped,
    StopReason,
    WatcherError,
)
from hotreload.gate import VersionGate
from hotreload.manifest import LoadedManifest, load_manifest
from hotreload.reload import (
    Candidate,
    LiveModule,
    ModuleSpec,
    Outcome,
    apply,
    load,
    prepare,
)
from hotreload.source import Failure, read_source
from hotreload.watcher import Watcher

STOP_GRACE_S = 5.0  # beyond a reload's deadline, how long `stop` waits for it
SETTLE_LIMIT_S = 2.0  # a file rewritten without a quiet period for longer is decided as read


class Server:
    """Loads a manifest's modules, guards their contract, and hot-applies saved changes.

    Build it with `hotreload.up(...)` (or construct it and call `start()`); every public method
    is safe to call from any thread.
    """

    def __init__(
        self,
        manifest: LoadedManifest,
        *,
        env: str | None = None,
        on_event: EventListener | None = None,
        exec_timeout: float | None = None,
    ) -> None:
        self.manifest = manifest
        self.env, self.profile = manifest.profile(env)
        self.events = EventLog(
            self.env,
            level=self.profile.log_level,
            listeners=(on_event,) if on_event is not None else (),
        )
        # An explicit argument beats the profile's setting.
        self.exec_timeout = (
            exec_timeout if exec_timeout is not None else self.profile.exec_timeout_ms / 1000
        )
        self.gate = VersionGate()
        self._watchdog = Watchdog()
        self._live: dict[str, LiveModule] = {}
        self._by_path: dict[Path, str] = {}
        self._bindings: dict[str, Binding] = {}
        self._watcher: Watcher | None = None
        self._reload_lock = threading.Lock()
        self._stopped = threading.Event()
        self._started = False
        self._manifest_bytes = b""

    # -- lifecycle ---------------------------------------------------------------------------

    def start(self, *, before_watch: Callable[[], object] | None = None) -> Server:
        """Check the contract, import the modules, start the watcher; then `server.started`.

        Raises ContractViolation (after one `contract.violation` event per violation) before any
        module code runs, and ServerError when a module cannot be imported. ``before_watch`` runs
        once the modules are loaded, before the watcher starts (`hotreload up` imports the app
        it serves there, so an app that cannot be served fails start-up).
        """
        began = time.perf_counter()
        prepared = prepare_modules(module_specs(self.manifest))
        self._check_contract(failures_of(prepared))
        root = str(self.manifest.root)
        if root not in sys.path:
            sys.path.insert(0, root)
        for spec, candidate in prepared:
            loaded_at = time.perf_counter()
            live = load(spec, candidate=candidate)
            self._live[spec.name] = live
            self._by_path[spec.path] = spec.name
            self._emit_module(
                ModuleLoaded,
                live,
                digest=digest(live.source),
                exports=list(spec.exports),
                duration_ms=(time.perf_counter() - loaded_at) * 1000,
            )
        if before_watch is not None:
            before_watch()
        self._manifest_bytes = self._read_manifest()
        if self.profile.reload:
            self._watcher = Watcher(
                [*self._by_path, self.manifest.path],
                self._on_batch,
                debounce_ms=self.profile.debounce_ms,
                on_error=self._on_watch_error,
            )
            self._watcher.start()
            self._catch_up()
        self._started = True
        self.events.emit(
            ServerStarted,
            manifest=str(self.manifest.path),
            modules=list(self._live),
            reload=self.profile.reload,
            debounce_ms=self.profile.debounce_ms,
            duration_ms=(time.perf_counter() - began) * 1000,
        )
        return self

    def stop(self, reason: StopReason = "stopped", message: str | None = None) -> None:
        """Stop watching (a reload in progress finishes first) and write `server.stopped`."""
        if self._stopped.is_set():
            return
        self._stopped.set()
        # A reload in progress ends within its deadline; one stuck in a C call never does, and
        # must not keep the host from stopping: say so instead of waiting for ever.
        patience = time.monotonic() + self.exec_timeout + STOP_GRACE_S
        if self._watcher is not None:
            self._watcher.stop(timeout=self.exec_timeout + STOP_GRACE_S)
        finished = self._reload_lock.acquire(timeout=max(0.0, patience - time.monotonic()))
        try:
            if finished:
                self._watchdog.close()
            else:
                message = (message + "; " if message else "") + (
                    "a reload was still running module code (blocked in a C call?)"
                )
            if self._started:
                self.events.emit(ServerStopped, reason=reason, message=message)
        finally:
            if finished:
                self._reload_lock.release()

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
        existing = self._bindings.get(name)
        if existing is not None:
            return existing
        live = self._live.get(name)
        if live is None:
            known = ", ".join(self._live) or "none"
            raise HotreloadError(
                f"unknown module {name!r}; modules in {self.manifest.path.name}: {known}"
            )
        namespace = live.namespace
        if self.profile.reload:
            exports = {f: gated_export(namespace, f, self.gate) for f in live.spec.exports}
            binding: Binding = ReloadingBinding(name, self.manifest.path.name, exports)
        else:
            exports = {f: namespace[f] for f in live.spec.exports}
            binding = Binding(name, self.manifest.path.name, exports)
        self._bindings[name] = binding
        return binding

    def version(self, name: str) -> int:
        """The running version of a module: 1 at first load, +1 per accepted change."""
        self.module(name)  # the same error for an unknown name
        return self._live[name].version

    @property
    def started(self) -> bool:
        """Whether start-up finished: `server.started` was written."""
        return self._started

    @property
    def watching(self) -> bool:
        """Whether a watcher thread runs (never in a profile with ``reload = false``)."""
        return self._watcher is not None and self._watcher.alive

    def run_entry(self) -> Any:
        """Import ``[app] entry`` and call it (with the server, if it takes an argument)."""
        app = self.manifest.manifest.app
        if app is None or app.entry is None:
            raise ServerError(f"{self.manifest.path.name} has no [app] entry to run")
        module_name, _, function_name = app.entry.partition(":")
        try:
            entry = getattr(importlib.import_module(module_name), function_name)
        except (ImportError, AttributeError) as e:
            raise ServerError(
                f"cannot import [app] entry {app.entry!r}: {e}; "
                f"it is resolved under project.root ({self.manifest.root})"
            ) from e
        takes_server = bool(inspect.signature(entry).parameters)
        return entry(self) if takes_server else entry()

    def reload(self, paths: list[Path]) -> list[Outcome]:
        """Decide and apply changes to these module files now (the watcher calls this)."""
        names = [self._by_path[p] for p in paths if p in self._by_path]
        ordered = [name for name in self._live if name in names]
        with self._reload_lock:
            if self._stopped.is_set():
                return []
            try:
                return self._reload(ordered)
            finally:
                if self._stopped.is_set():  # `stop` gave up waiting for this reload
                    self._watchdog.close()

    # -- internals ---------------------------------------------------------------------------

    def _check_contract(self, failures: list[tuple[ModuleSpec, Failure]]) -> None:
        if not failures:
            return
        for spec, failure in failures:
            emit_violations(self.events, spec, failure)
        raise ContractViolation(
            f"{len(failures)} module(s) do not match {self.manifest.path.name}: "
            f"{failures[0][1].message}",
            [v for _, failure in failures for v in failure.violations],
        )

    def _catch_up(self) -> None:
        """Decide now any module saved between its first read and the watcher going live.

        Such a save raised its event before anyone listened; without this it would wait for
        the next save, and `server.started` promises that every save after it is seen.
        """
        moved = [
            path
            for path, name in self._by_path.items()
            if read_source(path, root=self.manifest.root) != self._live[name].source
        ]
        if moved:
            self.reload(moved)

    def _on_batch(self, paths: list[Path]) -> None:
        if self.manifest.path in paths:
            self._manifest_touched()
        self.reload([p for p in paths if p != self.manifest.path])

    def _reload(self, names: list[str]) -> list[Outcome]:
        """Decide every changed module (no code runs), then apply the good ones under the gate."""
        decided: list[tuple[LiveModule, Candidate | Outcome, str | None]] = []
        started = time.perf_counter()
        sources = self._read_settled([self._live[name].spec.path for name in names])
        for name in names:
            live = self._live[name]
            source = sources[live.spec.path]
            source_digest = digest(source) if isinstance(source, bytes) else None
            if isinstance(source, bytes) and source == live.source:
                decided.append((live, Outcome("unchanged", live, started), source_digest))
                continue
            result = prepare(live.spec, source) if isinstance(source, bytes) else source
            if isinstance(result, Failure):
                outcome = Outcome("rejected", live, started, failure=result)
                decided.append((live, outcome, source_digest))
            else:
                decided.append((live, result, source_digest))
        outcomes: list[tuple[Outcome, str | None]] = []
        if any(isinstance(item, Candidate) for _, item, _ in decided):
            with self.gate.exclusive():
                for live, item, source_digest in decided:
                    if isinstance(item, Candidate):
                        item = apply(
                            live,
                            item,
                            started,
                            watchdog=self._watchdog,
                            timeout=self.exec_timeout,
                        )
                    outcomes.append((item, source_digest))
        else:
            outcomes = [(item, d) for _, item, d in decided if isinstance(item, Outcome)]
        for outcome, source_digest in outcomes:
            self._emit_outcome(outcome, source_digest)
        return [outcome for outcome, _ in outcomes]

    def _read_settled(self, paths: list[Path]) -> dict[Path, bytes | Failure]:
        """Each file's bytes, once it has stayed as read for one quiet period (`debounce_ms`).

        watchfiles ends a batch when no *new* (change, path) pair arrives for a step, and more
        writes to a file already in the batch are not new: a file written in pieces (an in-place
        save of a big file, a tool writing line by line, or just the instant between an in-place
        save's truncation and its write) can be read half-written. Its size or mtime moving after
        the read says so, and it is read again. A writer that pauses mid-file for longer than the
        quiet period cannot be told from one that finished.
        """
        quiet_ns = self.profile.debounce_ms * 1_000_000
        deadline = time.monotonic() + SETTLE_LIMIT_S
        sources: dict[Path, bytes | Failure] = {}
        marks: dict[Path, FileMark] = {}
        pending = paths
        while pending:
            for path in pending:
                marks[path] = file_mark(path)
                sources[path] = read_source(path, root=self.manifest.root)
            if quiet_ns <= 0:
                break
            # A file whose last change is already a quiet period old needs no wait: its own
            # timestamps say so (the usual case, as the watcher waited a quiet period too).
            now = time.time_ns()
            wait_ns = max(settle_left_ns(marks[path], now, quiet_ns) for path in pending)
            if wait_ns > 0 and (time.monotonic() > deadline or self._stopped.wait(wait_ns / 1e9)):
                # Past SETTLE_LIMIT_S a file still changing is decided as read: the change
                # event of the write that moved it brings it back.
                break
            pending = [path for path in pending if file_mark(path) != marks[path]]
        return sources

    def _emit_outcome(self, outcome: Outcome, source_digest: str | None) -> None:
        live = outcome.live
        if outcome.kind == "unchanged":
            self._emit_module(ReloadUnchanged, live, digest=source_digest)
        elif outcome.kind == "accepted":
            self._emit_module(
                ReloadAccepted,
                live,
                digest=source_digest,
                changed=outcome.changed,
                added=outcome.added,
                rebound=outcome.rebound,
                removed=outcome.removed,
                duration_ms=outcome.duration_ms,
            )
        else:
            failure = outcome.failure
            assert failure is not None
            self._emit_module(
                ReloadRejected,
                live,
                digest=source_digest,
                reason=failure.reason,
                message=failure.message,
                violations=[v.as_dict() for v in failure.violations],
                line=failure.line,
                column=failure.column,
                duration_ms=outcome.duration_ms,
            )

    def _emit_module(self, model: Any, live: LiveModule, **fields: Any) -> None:
        self.events.emit(
            model, module=live.spec.name, path=str(live.spec.path), version=live.version, **fields
        )

    def _read_manifest(self) -> bytes:
        try:
            return self.manifest.path.read_bytes()
        except OSError:
            return b""

    def _manifest_touched(self) -> None:
        """The manifest changed under a running server: validate it and say what to do."""
        content = self._read_manifest()
        if content == self._manifest_bytes:
            return
        self._manifest_bytes = content
        path = self.manifest.path
        if not content:
            valid, message = False, f"{path.name} was deleted or emptied; the server keeps the "
            message += "contract it started with; restore the file before the next restart"
        else:
            try:
                load_manifest(path)
                valid = True
                message = (
                    f"{path.name} changed; the running server keeps the contract it started with "
                    "(the host was written against it): restart `hotreload up` to apply the change"
                )
            except HotreloadError as e:
                valid, message = False, f"{e}; the server keeps the contract it started with"
        self.events.emit(ManifestChanged, manifest=str(path), valid=valid, message=message)

    def _on_watch_error(self, error: BaseException) -> None:
        # Reported, never raised: the watcher thread must outlive any bad file or batch.
        self.events.emit(WatcherError, message=f"{type(error).__name__}: {error}")


FileMark = tuple[int, int, int, int] | None


def file_mark(path: Path) -> FileMark:
    """What tells a file moved: inode, size, mtime and ctime (None while it cannot be stat'ed)."""
    try:
        st = path.stat()
    except OSError:
        return None
    return (st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)


# File timestamps come from a clock that may lag the wall clock by a tick (up to 4 ms at
# HZ=250; 1.5 ms measured here): a file looks that much older than it is.
TIMESTAMP_SLACK_NS = 4_000_000


def settle_left_ns(mark: FileMark, now_ns: int, quiet_ns: int) -> int:
    """How much longer a file must stay unchanged before its content counts as whole."""
    if mark is None:
        return 0  # cannot be stat'ed: decided as missing, the next change event brings it back
    last_change = max(mark[2], mark[3])  # ctime too: `cp -p` and `touch -d` set an old mtime
    needed = quiet_ns + TIMESTAMP_SLACK_NS
    return min(needed, needed - (now_ns - last_change))  # a future mtime waits one period


def digest(source: bytes) -> str:
    """Short SHA-256 of a version's bytes: lets a log reader tell which save an event decided."""
    return hashlib.sha256(source).hexdigest()[:16]


def up(
    manifest: str | Path = "hotreload.toml",
    *,
    env: str | None = None,
    on_event: EventListener | None = None,
    exec_timeout: float | None = None,
) -> Server:
    """Load the manifest and start a server; returns once modules are loaded and watched.

    ``exec_timeout`` (seconds) overrides the profile's ``exec_timeout_ms``.

    Use it as a context manager so the watcher stops with the block::

        with hotreload.up("hotreload.toml") as server:
            server.module("calculator").add(5, 3)
    """
    server = Server(load_manifest(manifest), env=env, on_event=on_event, exec_timeout=exec_timeout)
    return server.start()
