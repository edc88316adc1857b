"""A watchfiles thread that reports batches of changed files among those it watches."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterable
from pathlib import Path

import watchfiles

BatchHandler = Callable[[list[Path]], None]
ErrorHandler = Callable[[BaseException], None]

MIN_STEP_MS = 1
MAX_BATCH_MS = 500
RESTART_DELAY_S = 0.2


class _StopSignal:
    """watchfiles' stop event, which also tells us when the Rust watcher is live.

    watchfiles polls ``is_set()`` from inside its Rust loop, which runs only after the OS watches
    are registered; the first poll therefore means every later save will be seen.
    """

    def __init__(self) -> None:
        self.stop = threading.Event()
        self.live = threading.Event()

    def is_set(self) -> bool:
        self.live.set()
        return self.stop.is_set()


class Watcher:
    """Watches the directories of a set of files and calls ``on_batch`` with the ones that changed.

    Directories, not files, are watched: an editor that saves by renaming a temp file over the
    module replaces the inode, and a watch on the old inode would never fire again.
    """

    def __init__(
        self,
        files: Iterable[Path],
        on_batch: BatchHandler,
        *,
        debounce_ms: int,
        on_error: ErrorHandler | None = None,
    ) -> None:
        self.files = [Path(os.path.abspath(f)) for f in files]
        self._wanted = {os.path.normpath(f) for f in self.files}
        self._wanted |= {os.path.realpath(f) for f in self.files}
        self._directories = sorted({os.path.dirname(f) for f in self._wanted})
        self._by_path = {os.path.normpath(f): f for f in self.files}
        self._by_path |= {os.path.realpath(f): f for f in self.files}
        self.on_batch = on_batch
        self.on_error = on_error
        self.step_ms = max(MIN_STEP_MS, debounce_ms)
        self._signal = _StopSignal()
        self._thread: threading.Thread | None = None

    def start(self, timeout: float = 10.0) -> None:
        """Start watching; returns once the OS watches are registered."""
        self._thread = threading.Thread(target=self._run, name="hotreload-watcher", daemon=True)
        self._thread.start()
        if not self._signal.live.wait(timeout):
            self.stop()
            raise TimeoutError(f"the file watcher did not start within {timeout:g} s")

    def stop(self, timeout: float = 5.0) -> None:
        """Stop watching and wait for the thread to end (a batch in progress finishes first)."""
        self._signal.stop.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout)

    @property
    def alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def _accept(self, _change: watchfiles.Change, path: str) -> bool:
        return os.path.normpath(path) in self._wanted

    def _run(self) -> None:
        while not self._signal.stop.is_set():
            try:
                self._watch()
            except Exception as error:  # never let a watch error end the thread: report, retry
                self._report(error)
                self._signal.stop.wait(RESTART_DELAY_S)

    def _watch(self) -> None:
        directories = [d for d in self._directories if os.path.isdir(d)]
        for changes in watchfiles.watch(
            *directories,
            watch_filter=self._accept,
            debounce=max(MAX_BATCH_MS, self.step_ms),
            step=self.step_ms,
            stop_event=self._signal,
            rust_timeout=0,
            recursive=False,
            raise_interrupt=False,
        ):
            batch = self._order(changes)
            if batch:
                try:
                    self.on_batch(batch)
                except Exception as error:  # a bad batch must not stop later ones
                    self._report(error)

    def _order(self, changes: set[tuple[watchfiles.Change, str]]) -> list[Path]:
        """The changed files, once each, in the order they were given to the watcher."""
        changed = {
            self._by_path[os.path.normpath(p)]
            for _, p in changes
            if os.path.normpath(p) in self._by_path
        }
        return [f for f in self.files if f in changed]

    def _report(self, error: BaseException) -> None:
        if self.on_error is not None:
            self.on_error(error)
