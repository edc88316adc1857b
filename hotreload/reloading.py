"""The server's reloading side: the watcher, the manifest under watch, the project modules the
process imports (rehomed without a contract), and the one event each decision makes."""

from __future__ import annotations

import os
import threading
import time
import types
from collections import deque
from collections.abc import Callable, Collection, Iterator, Mapping
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hotreload.engine import mainthread
from hotreload.engine.batch import Batches, LiveModules
from hotreload.engine.deadline import Watchdog
from hotreload.engine.gate import IMPORT_LOOK_S, VersionGate, waits_for_import_of
from hotreload.engine.source import FileMark, digest, mark_of, read_source
from hotreload.engine.stdlibrecord import recording_import
from hotreload.engine.transaction import LiveModule, ModuleSpec, Outcome, adopt
from hotreload.errors import HotreloadError
from hotreload.events import (
    EventLog,
    ManifestChanged,
    ModuleLoaded,
    ReloadAccepted,
    ReloadRejected,
    ReloadRestartNeeded,
    ReloadUnchanged,
    WatcherError,
)
from hotreload.manifest import EnvProfile, LoadedManifest, load_manifest
from hotreload.tracking import ImportRecorder, ProjectFiles, imported_project_modules
from hotreload.verdicts import RestartPolicy
from hotreload.watcher import Watcher

if TYPE_CHECKING:
    from hotreload.saveverdicts import RestartNeeded

# Told that the server should restart: the module (None for a file that is not one), the file,
# and why.
RestartListener = Callable[[str | None, Path, "RestartNeeded"], None]

# -- the reloading side: saves to reloads ---------------------------------------------------

STOP_GRACE_S = 5.0  # beyond a reload's deadline, how long `stop` waits for it


class ReloadingSide:
    """Turns saves into reloads for a server: one at a time, each outcome one event.

    In a profile with ``reload = false`` nothing here runs: no thread, no import hook.
    """

    def __init__(
        self,
        manifest: LoadedManifest,
        profile: EnvProfile,
        *,
        modules: LiveModules,
        events: EventLog,
        gate: VersionGate,
        exec_timeout: float,
        stopped: threading.Event,
        policy: RestartPolicy = "never",
    ) -> None:
        self.manifest = manifest
        self.policy = policy
        # Told of a restart_needed outcome when the policy is auto (`hotreload up` restarts).
        self.on_restart: RestartListener | None = None
        # Files that are not modules but that the app read at start (a Flask instance config):
        # a save of one is a restart.
        self.restart_files: dict[Path, RestartNeeded] = {}
        self.profile = profile
        self.events = events
        self.watchdog = watchdog = Watchdog()
        self.stopped = stopped
        self.batches = batches = Batches(
            modules,
            gate=gate,
            watchdog=watchdog,
            exec_timeout=exec_timeout,
            quiet_ms=profile.debounce_ms,
            root=manifest.root,
            stopping=stopped,
            restarts=policy == "auto",
        )
        self.lock = threading.Lock()  # one reload at a time
        self._holder: int | None = None  # the thread that holds it, once it does
        self.watcher: Watcher | None = None
        self._watching = threading.Lock()  # held while start-up makes and starts the watcher
        self.imports: ImportedModules | None = None
        if profile.reload and profile.reload_scope == "imported":
            self.imports = ImportedModules(
                manifest.root,
                batches=batches,
                events=events,
                manifest_modules=manifest.manifest.modules.keys(),
            )

    def watch(self) -> None:
        """Start the watcher; returns once it is live and every save since the modules were
        read is decided."""
        # A save may set or undo a signal handler, which only the main thread may do.
        mainthread.install()
        manifest_watch = ManifestWatch(self.manifest.path, self.events)

        def on_batch(
            paths: list[Path], resync: bool, whole: frozenset[Path], read_early: frozenset[Path]
        ) -> None:
            if self.manifest.path in paths:
                manifest_watch.touched()
            if not resync:  # a fresh watch decides every file: not a save of these
                self._files_saved(paths)
            modules = [p for p in paths if p != self.manifest.path]
            self.reload(modules, resync=resync, whole=whole, read_early=read_early)

        imports = self.imports
        # A stop that another thread asks meanwhile finds the watcher started (and stops it),
        # or start-up finds the server stopped (and starts none).
        with self._watching:
            if self.stopped.is_set():
                return
            # The modules imported so far are taken first, and none meanwhile: each is either
            # among the watcher's first files or told to it.
            with nullcontext() if imports is None else imports.taking:
                if imports is not None:
                    imports.adopt_pending()
                self.watcher = watcher = Watcher(
                    [*self.batches.modules.paths(), self.manifest.path, *self.restart_files],
                    on_batch,
                    debounce_ms=self.profile.debounce_ms,
                    on_error=self._on_watch_error,
                    on_early=self._prepare_early,
                    before_changes=None if imports is None else imports.adopt_pending,
                )
                if imports is not None:
                    imports.on_tracked = watcher.add_files
            watcher.start()
        self._catch_up()

    @property
    def watching(self) -> bool:
        return self.watcher is not None and self.watcher.alive

    def adopt_pending(self) -> None:
        """Take the modules imported so far but not taken yet (`ImportedModules`)."""
        if self.imports is not None:
            self.imports.adopt_pending()

    def reload(
        self,
        paths: list[Path],
        *,
        resync: bool = False,
        whole: frozenset[Path] = frozenset(),
        read_early: frozenset[Path] = frozenset(),
    ) -> list[Outcome]:
        """Decide and apply changes to these module files now, and say each outcome; the files
        in ``whole`` were closed after writing (or renamed into place): no quiet period; those
        in ``read_early`` are as the early check read them (`Batches.apply`)."""
        self.adopt_pending()  # a module imported just now is decided as any other
        # Listeners hear of this reload once the lock is let go: one may call back into us.
        with self.events.deferred(), self._locked():
            if self.stopped.is_set():
                return []
            try:
                decided = self.batches.apply(
                    paths, resync=resync, whole=whole, read_early=read_early
                )
            finally:
                if self.stopped.is_set():  # `stop` gave up waiting for this reload
                    self.watchdog.close()
            for item in decided:
                report_outcome(self.events, item.outcome, item.digest, self.policy)
            restart = next(
                (
                    d.outcome
                    for d in decided
                    if d.outcome.kind == "restart_needed" or d.outcome.restart_after is not None
                ),
                None,
            )
            if restart is not None and self.policy == "auto" and self.on_restart is not None:
                needed = restart.restart or restart.restart_after
                assert needed is not None, "a restart_needed outcome always says why"
                spec = restart.live.spec
                self.on_restart(spec.name, spec.path, needed)
        return [item.outcome for item in decided]

    @contextmanager
    def _locked(self) -> Iterator[None]:
        """The reload lock. A host may reload from inside a binding call, while the lock's
        holder (the watcher, reloading a save) waits at the gate for that very call: the
        call steps aside while it waits (`VersionGate.aside`). A reload asked by module code
        that a reload runs, or inside an import (a listener told of the modules it brought
        in) that the holder's module code waits for, would wait for ever: it fails instead,
        as Python fails an import that would wait for itself."""
        me = threading.get_ident()
        if self._holder == me:  # the lock is not reentrant: it would wait for itself
            raise HotreloadError(
                "cannot reload now: this is module code that a reload runs (or a call it "
                "makes), and the reload under way ends only once it returns; ask for it from "
                "another thread"
            )
        with self.batches.gate.aside():
            while not self.lock.acquire(timeout=IMPORT_LOOK_S):
                holder = self._holder
                if holder is not None and waits_for_import_of(holder, me):
                    raise HotreloadError(
                        "cannot reload now: the reload under way runs module code that waits "
                        "for a module this thread is still importing (a reload asked inside "
                        "an import, as by an on_event listener told of its module.loaded); "
                        "ask for it once the import has ended, or from another thread"
                    )
        self._holder = me
        try:
            yield
        finally:
            self._holder = None
            self.lock.release()

    def _prepare_early(self, paths: list[Path]) -> None:
        """Check the files of a burst of saves while the watcher waits for its end (no code
        runs, nothing of the modules changes). Not under the reload lock (held, it means a
        reload is under way, which `stop` waits for): a reload another thread runs meanwhile
        only makes the check go unused, as it is taken for the same bytes against the same
        running version only."""
        if not self.stopped.is_set():
            self.batches.prepare_early(paths)

    def restart_on_save(self, files: dict[Path, RestartNeeded]) -> None:
        """A save of any of these files (not modules) restarts the server (policy auto)."""
        self.restart_files.update(files)
        if self.watcher is not None:
            self.watcher.add(files)

    def _files_saved(self, paths: list[Path]) -> None:
        saved = [p for p in paths if p in self.restart_files]
        if saved and self.policy == "auto" and self.on_restart is not None:
            self.on_restart(None, saved[0], self.restart_files[saved[0]])

    def stop(self, exec_timeout: float) -> bool:
        """Stop watching and recording imports; True once no reload runs any more.

        A reload in progress ends within its deadline; one stuck in a C call never does, and
        must not keep the host from stopping: after the deadline and a grace, False.
        """
        patience = time.monotonic() + exec_timeout + STOP_GRACE_S
        # Asked by module code that a reload runs: that reload ends once this returns (and
        # closes the watchdog, the server being stopped); waiting for it would wait for itself.
        if self._holder == threading.get_ident():
            if self.watcher is not None:
                self.watcher.stop(timeout=0)
            if self.imports is not None:
                self.imports.uninstall()
            return True
        with self._watching:  # the stop is set: start-up (another thread) starts none after
            watcher = self.watcher
        # Asked inside a binding call, the reload waited for may be waiting for that call.
        with self.batches.gate.aside():
            if watcher is not None:
                watcher.stop(timeout=exec_timeout + STOP_GRACE_S)
            finished = self.lock.acquire(timeout=max(0.0, patience - time.monotonic()))
        try:
            if finished:
                self.watchdog.close()
            if self.imports is not None:
                self.imports.uninstall()  # the modules keep running as they are
        finally:
            if finished:
                self.lock.release()
        return finished

    def _catch_up(self) -> None:
        """Decide now any module saved between its first read and the watcher going live.

        Such a save raised its event before anyone listened; without this it would wait for
        the next save, and `server.started` promises that every save after it is seen.
        """
        moved = [
            live.spec.path
            for live in self.batches.modules
            if read_source(live.spec.path, root=self.manifest.root) != live.source
        ]
        if moved:
            self.reload(moved)

    def _on_watch_error(self, error: BaseException, concerns: list[Path]) -> None:
        """Reported, never raised: the watcher thread must outlive any bad file or batch. The
        event names the file (and its module) when the error concerns one, else lists them."""
        message = f"{type(error).__name__}: {error}"
        path: Path | None = concerns[0] if len(concerns) == 1 else None
        live = self.batches.modules.at(path) if path is not None else None
        if path is None and concerns:
            shown = ", ".join(map(str, concerns[:5]))
            more = f" and {len(concerns) - 5} more" if len(concerns) > 5 else ""
            message += f" (concerning {shown}{more})"
        self.events.emit(
            WatcherError,
            message=message,
            path=None if path is None else str(path),
            module=None if live is None else live.spec.name,
        )


# -- project modules the process imports --------------------------------------------------

_NONE: Mapping[str, Any] = types.MappingProxyType({})  # no exports, no frozen types: one for all


def _ignore(files: list[tuple[Path, bool | None]]) -> None:
    """Files tracked before the watcher exists: it starts with every tracked module's file."""


ADOPT_WAIT_S = 0.5  # the longest an imported module waits to be taken (an import running on)

ADOPT_AT_ONCE = 100  # modules taken in one go (one write of their events)

# What an import tells of one module, kept until it is taken: name, file, the source it ran,
# the module, milliseconds its import took, the file's mark when it was read and whether the
# file is a symlink (None for both where unknown), and the wall time it was told at (ns).
_Note = tuple[str, str, bytes, types.ModuleType, float, FileMark, "bool | None", int]


class ImportedModules:
    """Every module the process imports from under the project root (but the manifest's)
    becomes a live module of the server, reported with `module.loaded` (``contract`` false),
    and its file is watched from then on (``on_tracked``).

    An import only notes its module; the notes are taken together (tracked, watched, reported
    in one write) when the thread's outermost project import ends, before anything else asks
    about the modules (a save to decide, the watcher seeing a file it does not know yet, a
    list of the modules, the stop), and `ADOPT_WAIT_S` after the first note at the latest. A
    start-up's thousand imports would otherwise each do this work between two compilations,
    where it costs three times what it costs in one go.
    """

    def __init__(
        self,
        root: Path,
        *,
        batches: Batches,
        events: EventLog,
        manifest_modules: Collection[str],
    ) -> None:
        self.root = root
        self.batches = batches
        self.events = events
        self.manifest_modules = manifest_modules
        # Told of the files tracked, each with whether it is a symlink (None: unknown).
        self.on_tracked: Callable[[list[tuple[Path, bool | None]]], None] = _ignore
        self.recorder = ImportRecorder(
            ProjectFiles(root),
            self._imported,
            batches.import_began,
            around=recording_import,
            on_burst_end=self.adopt_pending,
        )
        self._notes: deque[_Note] = deque()  # appended and taken from any thread
        self.taking = threading.RLock()  # one taker at a time: events in import order
        self._timer: threading.Timer | None = None
        self._timer_lock = threading.Lock()

    def install(self) -> None:
        """Record imports from now on (before the manifest's modules import their helpers)."""
        self.recorder.install()

    def uninstall(self) -> None:
        """Stop recording (the modules noted till then are taken); the modules keep running as
        they are."""
        self.recorder.uninstall()
        self.adopt_pending()

    def adopt_already_imported(self) -> None:
        """Project modules the host imported before the server started reload too; their file
        as it is now is taken as the source they run."""
        skip = [*self.manifest_modules, *self.batches.modules.names()]
        for name, path, module in imported_project_modules(self.recorder.files, skip):
            source = read_source(path, root=self.root)
            if isinstance(source, bytes):
                self._imported(name, str(path), source, module, 0.0, None, None)
        self.adopt_pending()

    def _imported(
        self,
        name: str,
        path: str,
        source: bytes,
        module: types.ModuleType,
        took_ms: float,
        stat: os.stat_result | None,
        link: bool | None,
    ) -> None:
        if name in self.manifest_modules:
            return
        mark = None if stat is None else mark_of(stat)  # (a stat result: some 600 bytes)
        self._notes.append((name, path, source, module, took_ms, mark, link, time.time_ns()))
        if self._timer is None:
            self._arm()

    def adopt_pending(self) -> None:
        """Take every module noted so far: track it, watch its file, report it (a hundred at
        a time: one write each, and what they need at once stays small)."""
        if not self._notes:  # asked often (at every kernel event the watcher reads): no lock
            return
        with self.events.deferred(), self.taking:
            notes = self._notes
            while notes:
                some = [notes.popleft() for _ in range(min(len(notes), ADOPT_AT_ONCE))]
                self._adopt(some)
            self._disarm()

    def _adopt(self, notes: list[_Note]) -> None:
        taken: list[tuple[LiveModule, bytes, float, bool | None]] = []
        for name, text, source, module, took_ms, mark, link, seen_ns in notes:
            path = Path(text)
            spec = ModuleSpec(name=name, path=path, exports=_NONE, contract=False, types=_NONE)
            live = adopt(spec, module, source)
            # (A module tracked already, imported again, is left as it is by `track`.)
            if self.batches.track(live, mark=mark, seen_ns=seen_ns):
                taken.append((live, source, took_ms, link))
        if taken:
            self.on_tracked([(live.spec.path, link) for live, _, _, link in taken])
            self.events.emit_many(
                ModuleLoaded,
                [loaded_fields(live, digest(source), ms) for live, source, ms, _ in taken],
            )

    def _arm(self) -> None:
        """Take the notes `ADOPT_WAIT_S` from now at the latest (an import may run on: a
        module that serves at import, its helpers' files unwatched meanwhile)."""
        with self._timer_lock:
            if self._timer is None:
                self._timer = timer = threading.Timer(ADOPT_WAIT_S, self.adopt_pending)
                timer.daemon = True
                timer.name = "hotreload-imports"
                timer.start()

    def _disarm(self) -> None:
        with self._timer_lock:
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None
        # Noted since the last take (another thread's import): the timer bounds it again. Not
        # under the timer's lock, which `_arm` takes.
        if self._notes:
            self._arm()


# -- the manifest under watch ---------------------------------------------------------------


class ManifestWatch:
    """Tells a change of the manifest's bytes from a save that changed nothing, and says what a
    change means: one `manifest.changed` event, valid or not, with what to do."""

    def __init__(self, path: Path, events: EventLog) -> None:
        self.path = path
        self.events = events
        self._bytes = self._read()

    def _read(self) -> bytes:
        try:
            return self.path.read_bytes()
        except OSError:
            return b""

    def touched(self) -> None:
        """The watcher saw the manifest change: validate it and report, once per content."""
        content = self._read()
        if content == self._bytes:
            return
        self._bytes = content
        name = self.path.name
        if not content:
            valid, message = False, f"{name} was deleted or emptied; the server keeps the "
            message += "contract it started with; restore the file before the next restart"
        else:
            try:
                load_manifest(self.path)
                valid = True
                message = (
                    f"{name} changed; the running server keeps the contract it started with "
                    "(the host was written against it): restart `hotreload up` to apply the change"
                )
            except HotreloadError as e:
                valid, message = False, f"{e}; the server keeps the contract it started with"
        self.events.emit(ManifestChanged, manifest=str(self.path), valid=valid, message=message)


# -- one event per decision -----------------------------------------------------------------


def module_fields(live: LiveModule) -> dict[str, Any]:
    """The fields of every event about one module."""
    return {
        "module": live.spec.name,
        "path": str(live.spec.path),
        "version": live.version,
        "contract": live.spec.contract,
    }


def report_loaded(
    events: EventLog, live: LiveModule, source_digest: str, duration_ms: float
) -> None:
    """`module.loaded`: a module runs its first version (imported now, or rehomed)."""
    events.emit(ModuleLoaded, **loaded_fields(live, source_digest, duration_ms))


def loaded_fields(live: LiveModule, source_digest: str, duration_ms: float) -> dict[str, Any]:
    """The fields of `module.loaded`, made for every project module an app imports: given as
    they are, not merged from `module_fields`."""
    spec = live.spec
    return {
        "module": spec.name,
        "path": str(spec.path),
        "version": live.version,
        "contract": spec.contract,
        "digest": source_digest,
        "exports": list(spec.exports),
        "duration_ms": duration_ms,
    }


_WAITING = " (tried again when another module of the project changes)"


def report_outcome(
    events: EventLog,
    outcome: Outcome,
    source_digest: str | None,
    policy: RestartPolicy = "never",
) -> None:
    """Exactly one event for one decision about one module."""
    fields = module_fields(outcome.live) | {"digest": source_digest}
    if outcome.kind == "unchanged":
        events.emit(ReloadUnchanged, **fields)
    elif outcome.kind == "accepted":
        events.emit(
            ReloadAccepted,
            **fields,
            changed=outcome.changed,
            added=outcome.added,
            rebound=outcome.rebound,
            removed=outcome.removed,
            ran=outcome.ran,
            statements=outcome.statements,
            warnings=[w.as_dict() for w in outcome.warnings],
            duration_ms=outcome.duration_ms,
            # A field added to a frozen type is accepted, but says what a restart is for.
            **({"level": "warning"} if outcome.warnings else {}),
        )
    elif outcome.kind == "restart_needed":
        restart = outcome.restart
        assert restart is not None, "a restart_needed outcome always says why"
        events.emit(
            ReloadRestartNeeded,
            **fields,
            reason=restart.reason,
            message=restart.message,
            causes=[c.as_dict() for c in restart.causes],
            restart=policy,
            duration_ms=outcome.duration_ms,
        )
    else:
        failure = outcome.failure
        assert failure is not None, "a rejection always says why"
        events.emit(
            ReloadRejected,
            **fields,
            reason=failure.reason,
            message=failure.message + (_WAITING if outcome.waiting else ""),
            violations=[v.as_dict() for v in failure.violations],
            line=failure.line,
            column=failure.column,
            duration_ms=outcome.duration_ms,
        )
