"""The reloading side of a running server: the watcher, the manifest under watch, the project's
imports, and the reloads and events that saves cause."""

from __future__ import annotations

import threading
import time
from pathlib import Path

from hotreload.adoption import ImportedModules
from hotreload.deadline import Watchdog
from hotreload.events import EventLog, WatcherError
from hotreload.gate import VersionGate
from hotreload.manifest import EnvProfile, LoadedManifest
from hotreload.manifestwatch import ManifestWatch
from hotreload.reload import Outcome
from hotreload.reloader import LiveModules, Reloader
from hotreload.report import report_outcome
from hotreload.source import read_source
from hotreload.watcher import Watcher

STOP_GRACE_S = 5.0  # beyond a reload's deadline, how long `stop` waits for it


class Reloading:
    """Turns saves into reloads for a server: one at a time, each outcome one event.

    In a profile with ``reload = false`` nothing here runs: no thread, no import hook.
    """

    def __init__(
        self,
        manifest: LoadedManifest,
        profile: EnvProfile,
        *,
        events: EventLog,
        gate: VersionGate,
        exec_timeout: float,
        stopped: threading.Event,
    ) -> None:
        self.manifest = manifest
        self.profile = profile
        self.events = events
        self.watchdog = watchdog = Watchdog()
        self.stopped = stopped
        self.reloader = reloader = Reloader(
            LiveModules(),
            gate=gate,
            watchdog=watchdog,
            exec_timeout=exec_timeout,
            quiet_ms=profile.debounce_ms,
            root=manifest.root,
            stopping=stopped,
        )
        self.lock = threading.Lock()  # one reload at a time
        self.watcher: Watcher | None = None
        self.imports: ImportedModules | None = None
        if profile.reload and profile.reload_scope == "imported":
            self.imports = ImportedModules(
                manifest.root,
                reloader=reloader,
                events=events,
                manifest_modules=manifest.manifest.modules.keys(),
            )

    def watch(self) -> None:
        """Start the watcher; returns once it is live and every save since the modules were
        read is decided."""
        manifest_watch = ManifestWatch(self.manifest.path, self.events)

        def on_batch(paths: list[Path], resync: bool) -> None:
            if self.manifest.path in paths:
                manifest_watch.touched()
            self.reload([p for p in paths if p != self.manifest.path], resync=resync)

        self.watcher = watcher = Watcher(
            [*self.reloader.modules.paths(), self.manifest.path],
            on_batch,
            debounce_ms=self.profile.debounce_ms,
            on_error=self._on_watch_error,
        )
        if self.imports is not None:
            self.imports.on_tracked = lambda path: watcher.add([path])
        watcher.start()
        self._catch_up()

    @property
    def watching(self) -> bool:
        return self.watcher is not None and self.watcher.alive

    def reload(self, paths: list[Path], *, resync: bool = False) -> list[Outcome]:
        """Decide and apply changes to these module files now, and say each outcome."""
        # Listeners hear of this reload once the lock is let go: one may call back into us.
        with self.events.deferred(), self.lock:
            if self.stopped.is_set():
                return []
            try:
                decided = self.reloader.reload(paths, resync=resync)
            finally:
                if self.stopped.is_set():  # `stop` gave up waiting for this reload
                    self.watchdog.close()
            for item in decided:
                report_outcome(self.events, item.outcome, item.digest)
        return [item.outcome for item in decided]

    def stop(self, exec_timeout: float) -> bool:
        """Stop watching and recording imports; True once no reload runs any more.

        A reload in progress ends within its deadline; one stuck in a C call never does, and
        must not keep the host from stopping: after the deadline and a grace, False.
        """
        patience = time.monotonic() + exec_timeout + STOP_GRACE_S
        if self.watcher is not None:
            self.watcher.stop(timeout=exec_timeout + STOP_GRACE_S)
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
            for live in self.reloader.modules
            if read_source(live.spec.path, root=self.manifest.root) != live.source
        ]
        if moved:
            self.reload(moved)

    def _on_watch_error(self, error: BaseException) -> None:
        # Reported, never raised: the watcher thread must outlive any bad file or batch.
        self.events.emit(WatcherError, message=f"{type(error).__name__}: {error}")
