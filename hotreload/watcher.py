"""A thread that reports batches of changed files among those it watches.

On Linux it reads the kernel's events (`kernelwatch`): a batch is delivered as soon as a file
is whole (closed after writing, or renamed into place), and says so, so it is read at once.
Elsewhere (or where inotify cannot be had) watchfiles polls its event queue every step, and a
file written in place is read once it has been quiet for a period (`engine.source`).
"""

from __future__ import annotations

import bisect
import os
import threading
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hotreload.tracking import RealPaths

if TYPE_CHECKING:  # imported when it runs: on Linux the kernel's events need none of it
    import watchfiles


# The changed files; True for a resync; the files the kernel said are whole (closed after
# writing, or renamed into place), which need no quiet period; and those of them told to
# ``on_early`` with no event of them since (what the early check read is what they hold).
BatchHandler = Callable[[list[Path], bool, frozenset[Path], frozenset[Path]], None]
# The error, and what it concerns: the files of the batch being handled, or the folders watched.
ErrorHandler = Callable[[BaseException, list[Path]], None]
# Files the kernel said are whole as a burst of saves begins, told while the rest of the burst
# is waited for: the server reads and checks them meanwhile (no code runs), so that wait is not
# idle. The batch is delivered as ever, at the end of the burst.
EarlyHandler = Callable[[list[Path]], None]

MIN_STEP_MS = 1
_DOTDOT = os.sep + ".."  # in a path's text wherever it has a `..` part
MAX_BATCH_MS = 500
RESTART_DELAY_S = 0.2
DIRECTORY_POLL_S = 0.1  # how often a watched directory that is gone is looked for again
RESYNC_MS = 100  # after a fresh watch, how soon every file is decided once
WRITE_LIMIT_S = 2.0  # a file written in place and not closed for this long is decided as is
EARLY_FILES = 2  # a burst about more files than this (a checkout) is read without early checks
NEW_FOLDERS_WAIT_S = 0.005  # told of a new folder, the kernel's watch waits this for more


class _StopSignal:
    """watchfiles' stop event, which also tells us when the Rust watcher is live.

    watchfiles polls ``is_set()`` from inside its Rust loop, which runs only after the OS watches
    are registered; the first poll therefore means every later save will be seen.

    It also ends a watch that must be made afresh (``restart``): one of its directories went, or
    one that was gone is back (a `git checkout` can remove a package directory and create it
    again, and a watch on a removed directory sees nothing for ever).
    """

    def __init__(self) -> None:
        self.stop = threading.Event()
        self.live = threading.Event()
        self.restart = False
        self.missing: list[str] = []
        self._polled = 0.0

    def is_set(self) -> bool:
        if not self.live.is_set():  # polled every step: setting an Event takes its lock
            self.live.set()
        if self.missing and time.monotonic() - self._polled > DIRECTORY_POLL_S:
            self._polled = time.monotonic()
            self.restart = self.restart or any(os.path.isdir(d) for d in self.missing)
        return self.stop.is_set() or self.restart


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
        on_early: EarlyHandler | None = None,
        before_changes: Callable[[], object] | None = None,
    ) -> None:
        self.files: list[Path] = []
        self._known: set[Path] = set()
        self._by_path: dict[str, Path] = {}  # each spelling of a watched file (given, real)
        self._in_directory: dict[str, list[Path]] = {}  # the files with a spelling in each
        self._directories: list[str] = []
        self._directory_set: set[str] = set()
        self._realpath = RealPaths()
        self._lock = threading.Lock()
        self._resync = False
        self.on_batch = on_batch
        self.on_error = on_error
        self.on_early = on_early
        # Called on this thread before it looks at what changed: files imported meanwhile may
        # still have to be added (`add_files`), and a save of one must not be taken for
        # another file's.
        self.before_changes = before_changes
        self.step_ms = max(MIN_STEP_MS, debounce_ms)
        self._signal = _StopSignal()
        self._thread: threading.Thread | None = None
        self._kernel: Any = None  # a KernelWatch while the kernel's events are read
        self.backend = "none"  # "inotify" or "watchfiles" once started
        self.add(files)

    def add(self, files: Iterable[Path]) -> None:
        """Watch these files too; safe from any thread.

        A file in a directory not watched yet makes the watch start afresh with it, which
        decides every file once (a resync) for what changed meanwhile.
        """
        with self._lock:
            added: set[str] = set()
            for file in dict.fromkeys(map(_absolute, files)):
                if file not in self._known:
                    added.update(self._take(file, None))
            if not added <= self._directory_set:
                self._watch_directories(added)

    def add_files(self, files: Iterable[tuple[Path, bool | None]]) -> None:
        """Watch these files too: modules the process just imported, each with whether the
        file itself is a symlink, where a stat made already says so (None: asked here). A
        start-up adds its 1,000 modules a burst at a time. Safe from any thread."""
        with self._lock:
            directories: set[str] = set()
            for given, link in files:
                file = _absolute(given)
                if file not in self._known:
                    directories.update(self._take(file, link))
            if not self._directory_set.issuperset(directories):
                self._watch_directories(directories)

    def _take(self, file: Path, link: bool | None) -> tuple[str, ...]:
        """Note a file not watched yet under each of its spellings (as given, and its real path
        where that differs); the directories they are in. Under the lock."""
        self.files.append(file)
        self._known.add(file)
        text = os.fspath(file)
        # A Path's text is normal already, but for `..` (`_absolute` kept it).
        norm = os.path.normpath(text) if _DOTDOT in text else text
        real = self._realpath(text, link=link)
        directory = os.path.dirname(norm)
        self._by_path[norm] = file
        self._in_directory.setdefault(directory, []).append(file)
        if real == norm:
            return (directory,)
        real_directory = os.path.dirname(real)
        self._by_path[real] = file
        if real_directory != directory:
            self._in_directory.setdefault(real_directory, []).append(file)
        return (directory, real_directory)

    def _watch_directories(self, added: Iterable[str]) -> None:
        """Watch directories not watched yet too (under the lock)."""
        new = [d for d in dict.fromkeys(added) if d not in self._directory_set]
        # Both replaced, never changed: read unlocked. A start-up adds its package folders one
        # at a time: each goes into place in a copy, where sorting them all again at every one
        # grew with the square of the folders.
        directories = list(self._directories)
        for directory in new:
            bisect.insort(directories, directory)
        self._directories = directories
        self._directory_set = self._directory_set.union(new)
        if self._kernel is not None:
            self._kernel.wake()  # the kernel's watch takes new directories as it runs
        elif self._thread is not None:
            self._signal.restart = True

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
        kernel = self._kernel
        if kernel is not None:
            kernel.wake()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout)

    @property
    def alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def _accept(self, change: watchfiles.Change, path: str) -> bool:
        path = os.path.normpath(path)
        if change == _deleted() and path in self._directory_set:
            self._signal.restart = True  # a watched directory went: watch afresh
        if path not in self._by_path:
            self._before_changes()
        return path in self._by_path

    def _before_changes(self) -> None:
        if self.before_changes is not None:
            try:
                self.before_changes()
            except Exception as error:  # reported: the changes are looked at all the same
                self._report(error, [])

    def _run(self) -> None:
        kernel = _kernel_watch()
        if kernel is not None:
            self.backend = "inotify"
            try:
                self._read_kernel(kernel)
            except Exception as error:  # reported; watchfiles takes over, deciding all once
                with self._lock:
                    folders = [Path(d) for d in self._directories]
                self._report(error, folders)
                self._resync = True
            finally:
                self._kernel = None
                # Stopped in a process that ends with its watch: the kernel's teardown is left
                # to the exit (`KernelWatch.close`). A watch that failed closes as usual.
                kernel.close(leave_to_exit=_ends_with_process and self._signal.stop.is_set())
        self.backend = "watchfiles"
        while not self._signal.stop.is_set():
            try:
                self._watch()
            except Exception as error:  # never let a watch error end the thread: report, retry
                with self._lock:
                    folders = [Path(d) for d in self._directories]
                self._report(error, folders)
                self._resync = True  # what changed meanwhile is decided once the retry watches
                self._signal.stop.wait(RESTART_DELAY_S)

    def _watch(self) -> None:
        with self._lock:
            wanted_directories = list(self._directories)
        directories = [d for d in wanted_directories if os.path.isdir(d)]
        there = set(directories)
        self._signal.missing = [d for d in wanted_directories if d not in there]
        self._signal.restart = False
        if not directories:  # nothing to watch until a directory is back; then decide all
            self._resync = True
            self._signal.stop.wait(DIRECTORY_POLL_S)
            return
        import watchfiles

        for changes in watchfiles.watch(
            *directories,
            watch_filter=self._accept,
            debounce=max(MAX_BATCH_MS, self.step_ms),
            step=self.step_ms,
            stop_event=self._signal,
            # A fresh watch missed what happened before it: wake up soon and decide every file
            # (later wake-ups of this watch bring empty batches, which are skipped).
            rust_timeout=RESYNC_MS if self._resync else 0,
            yield_on_timeout=self._resync,
            recursive=False,
            raise_interrupt=False,
        ):
            resync = self._resync
            batch = list(self.files) if resync else self._order(changes)
            self._resync = False
            self._deliver(batch, resync, frozenset())
        self._resync = self._signal.restart

    def _deliver(
        self,
        batch: list[Path],
        resync: bool,
        whole: frozenset[Path],
        read_early: frozenset[Path] = frozenset(),
    ) -> None:
        if batch:
            try:
                self.on_batch(batch, resync, whole, read_early)
            except Exception as error:  # a bad batch must not stop later ones
                self._report(error, batch)

    # -- the kernel's events (Linux) ---------------------------------------------------------

    def _read_kernel(self, kernel: Any) -> None:
        """Deliver each file once it is whole; watch directories as they are added, and again
        when one that went is back; decide every file once if the kernel dropped events."""
        self._kernel = kernel
        writing: dict[Path, float] = {}  # files written in place, not closed yet: since when
        missing: set[str] = set()
        live = self._signal.live
        known: set[str] | None = None  # the folders wanted at the last round
        while not self._signal.stop.is_set():
            with self._lock:
                wanted = self._directory_set  # replaced, never changed: a new one, new folders
            if live.is_set() and wanted is not known:
                # Folders an import just added: more usually follow (a start-up adds each of its
                # packages' as it imports it), so they are taken in one round after a moment,
                # not one round each, which took the importing thread's GIL every time. What
                # changed in them meanwhile is decided as they are watched (below).
                if self._signal.stop.wait(NEW_FOLDERS_WAIT_S):
                    break
                with self._lock:
                    wanted = self._directory_set
            known = wanted
            # Those not watched yet, found at C speed: asked at every wake-up, and a start-up
            # wakes the watch once for each package folder its imports add.
            unwatched = wanted.difference(kernel.watched)
            added = [d for d in sorted(unwatched) if kernel.watch(d)]
            missing = unwatched.difference(added)
            if not live.is_set():
                live.set()  # every directory there is watched: later saves are seen
            elif added:  # a new directory, or one that is back: what changed before its watch
                self._deliver(self._files_in(added), True, frozenset())
            now = time.monotonic()
            due = [min(writing.values()) + WRITE_LIMIT_S - now] if writing else []
            timeout = min([*due, *([DIRECTORY_POLL_S] if missing else [])], default=None)
            changes = kernel.wait(None if timeout is None else max(0.0, timeout))
            if changes:
                self._before_changes()
            read_early: set[Path] = set()
            if any(map(self._concerns, changes)):
                changes += self._rest_of_burst(kernel, changes, read_early)
            batch, whole, resync = self._kernel_batch(changes, writing)
            if resync:
                self._deliver(list(self.files), True, frozenset())
            self._deliver(batch, False, frozenset(whole), frozenset(read_early & whole))

    def _rest_of_burst(self, kernel: Any, first: list[Any], read_early: set[Path]) -> list[Any]:
        """Files saved together (a checkout, an editor's "save all") are one batch, applied in
        import order: more events are taken while watched files change within a step
        (`debounce_ms`) of each other, for at most `MAX_BATCH_MS`. Other files of the same
        directories (a log the server writes, a SQLite database next to the code) never make
        a save wait.

        Where the burst is a save of one or two files, those the kernel says are whole are
        handed to ``on_early`` as they come (at most `EARLY_FILES` times a burst, so a checkout
        is read as fast as before); the time that takes is part of the step, and the kernel's
        queue is read at least once after it, so a file saved meanwhile joins the batch as it
        would have during an idle wait.

        ``read_early`` gets the files told to ``on_early`` that no event concerned since: the
        kernel's queue was read after the tell, so the bytes read then are still the file's.
        """
        more: list[Any] = []
        now = time.monotonic()
        cap = now + MAX_BATCH_MS / 1000
        quiet_at = now + self.step_ms / 1000
        last: dict[Path, str] = {}  # each watched file's last change in the burst
        told = self._early(first, last, 0, read_early)
        while not self._signal.stop.is_set():
            arrived = kernel.wait(max(0.0, min(cap, quiet_at) - time.monotonic()))
            if arrived:
                self._before_changes()
            if any(map(self._concerns, arrived)):
                quiet_at = time.monotonic() + self.step_ms / 1000
                if read_early:
                    self._heard_of(arrived, read_early)
            more += arrived
            if time.monotonic() >= min(cap, quiet_at):
                break
            told = self._early(arrived, last, told, read_early)
        else:  # stopped: the queue may not have been read since the last tell
            read_early.clear()
        return more

    def _heard_of(self, arrived: list[Any], read_early: set[Path]) -> None:
        """Drop from ``read_early`` the files an event in ``arrived`` concerns (every file, for
        an overflowed queue or a folder gone): what was read early may not be what they hold."""
        by_path = self._by_path
        for change in arrived:
            if change.kind in ("overflow", "directory_gone"):
                read_early.clear()
                return
            file = by_path.get(os.path.normpath(change.path)) if change.path else None
            if file is not None:
                read_early.discard(file)

    def _early(
        self, arrived: list[Any], last: dict[Path, str], told: int, read_early: set[Path]
    ) -> int:
        """Note what ``arrived`` says of each watched file in ``last``, and tell ``on_early``
        of those it says are whole, while the burst is about `EARLY_FILES` files at most and
        fewer were told (``told``, returned updated; each told is added to ``read_early``).
        Never raises: what it would have found is found again when the batch is handled."""
        by_path = self._by_path
        whole: list[Path] = []
        for change in arrived:
            file = by_path.get(os.path.normpath(change.path)) if change.path else None
            if file is not None:
                last[file] = change.kind
                if change.kind == "whole":
                    whole.append(file)
        if self.on_early is None or len(last) > EARLY_FILES:
            return told
        files = [f for f in dict.fromkeys(whole) if last[f] == "whole"][
            : max(0, EARLY_FILES - told)
        ]
        if files:
            try:
                self.on_early(files)
            except Exception:  # advice only: the batch handler decides from the files anyway
                return told + len(files)
            read_early.update(files)
        return told + len(files)

    def _concerns(self, change: Any) -> bool:
        """Whether a kernel change is about a watched file (or all of them)."""
        return change.kind in ("overflow", "directory_gone") or (
            os.path.normpath(change.path) in self._by_path
        )

    def _kernel_batch(
        self, changes: list[Any], writing: dict[Path, float]
    ) -> tuple[list[Path], set[Path], bool]:
        """The files to decide now (in watch order), those of them that are whole, and whether
        every file must be decided (the kernel's queue overflowed)."""
        by_path = self._by_path
        changed: set[Path] = set()
        whole: set[Path] = set()
        now = time.monotonic()
        resync = False
        for change in changes:
            if change.kind == "overflow":
                resync = True
                continue
            file = by_path.get(os.path.normpath(change.path))
            if file is None:
                continue
            if change.kind == "moving":
                writing.setdefault(file, now)
                whole.discard(file)
                continue
            writing.pop(file, None)
            changed.add(file)
            if change.kind == "whole":
                whole.add(file)
            else:
                whole.discard(file)
        for file, since in list(writing.items()):
            if now - since >= WRITE_LIMIT_S:  # still open for writing: decided as it is
                del writing[file]
                changed.add(file)
        changed -= set(writing)  # written again after it was closed: wait for that close
        if not changed:  # woken to watch a new directory, or timed out: nothing to order
            return [], set(), resync
        return [f for f in self.files if f in changed], whole & changed, resync

    def _files_in(self, directories: list[str]) -> list[Path]:
        """The files with a spelling in these directories, once each."""
        with self._lock:
            in_directory = self._in_directory
            return list(dict.fromkeys(f for d in directories for f in in_directory.get(d, ())))

    def _order(self, changes: set[tuple[watchfiles.Change, str]]) -> list[Path]:
        """The changed files, once each, in the order they were given to the watcher."""
        by_path = self._by_path
        changed = {
            by_path[os.path.normpath(p)] for _, p in changes if os.path.normpath(p) in by_path
        }
        return [f for f in self.files if f in changed]

    def _report(self, error: BaseException, concerns: list[Path]) -> None:
        if self.on_error is not None:
            self.on_error(error, concerns)


_ends_with_process = False  # see `end_with_the_process`


def end_with_the_process() -> None:
    """Say that this process ends once its watch stops (`hotreload up` does): the kernel's
    teardown of the watch is then left to the process's exit (see `KernelWatch.close`). A host
    that embeds the server keeps running after a stop, and closes everything at the stop."""
    global _ends_with_process
    _ends_with_process = True


def _kernel_watch() -> Any:
    """A KernelWatch where the kernel's file events can be had (Linux, inotify_simple), else
    None (watchfiles then)."""
    try:
        from hotreload.kernelwatch import KernelWatch

        return KernelWatch()
    except (ImportError, OSError, AttributeError):
        return None


def _absolute(file: Path) -> Path:
    """The file as an absolute, normalised path (a Path that is one already is kept as is)."""
    # `..` looked for in the text, not in `.parts` (a tuple kept in every Path asked for it).
    if isinstance(file, Path) and file.is_absolute() and _DOTDOT not in os.fspath(file):
        return file
    return Path(os.path.abspath(file))


def _deleted() -> Any:
    import watchfiles

    return watchfiles.Change.deleted
