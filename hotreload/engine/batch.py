"""Batches of changed files: decided without running code, then applied under the version gate
in import order, retried where a module of the same batch was missing, and followed by the
modules that took names from one that changed."""

from __future__ import annotations

import threading
import time
import types
from collections.abc import Collection, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from hotreload.engine.codeswap import cache_wrappers
from hotreload.engine.deadline import Watchdog
from hotreload.engine.gate import VersionGate
from hotreload.engine.importorder import import_order
from hotreload.engine.source import (
    FileMark,
    digest,
    file_mark,
    may_have_moved,
    read_marked,
    read_settled,
)
from hotreload.engine.transaction import Candidate, LiveModule, Outcome, apply_version, prepare
from hotreload.verdicts import Failure

if TYPE_CHECKING:
    from hotreload.engine.follow import Dependents
    from hotreload.engine.stale import Source, Trees
    from hotreload.saveverdicts import RestartCause, RestartNeeded

# A start-up only tracks modules (`LiveModules`, `Batches.track`): what follows a save to the
# modules that read it (follow, plan, execute) and warns of stale code (stale) is imported where
# it is first used, at the first save (issue 19).

_FILENAMES_KEPT = 4096
SETTLE_LIMIT_S = 2.0  # a file rewritten without a quiet period for longer is decided as read

# What module code raises when it needs a name that another file of the batch brings
# (`from util import new_name`): such a version is tried again once another was applied.
_CURABLE = frozenset({"ImportError", "ModuleNotFoundError", "AttributeError", "NameError"})


class LiveModules:
    """The live modules of a server, by name and by file; safe to add to from any thread."""

    def __init__(self) -> None:
        self._by_name: dict[str, LiveModule] = {}
        self._by_path: dict[Path, str] = {}
        # Code file names (`co_filename`) already asked about: every save's look at the
        # threads' stacks asks about the same few dozen files, each a Path to make otherwise.
        self._filenames: dict[str, bool] = {}
        self._lock = threading.Lock()

    def add(self, live: LiveModule) -> bool:
        """Track a module; False if one of that name is tracked already."""
        with self._lock:
            if live.spec.name in self._by_name:
                return False
            self._by_name[live.spec.name] = live
            self._by_path[live.spec.path] = live.spec.name
            if self._filenames:  # a file asked about may be this module's now
                self._filenames = {}
            return True

    def get(self, name: str) -> LiveModule | None:
        return self._by_name.get(name)

    def at(self, path: Path) -> LiveModule | None:
        name = self._by_path.get(path)
        return None if name is None else self._by_name.get(name)

    def has_file(self, filename: str) -> bool:
        """Whether a code object's file name is one of these modules' files."""
        known = self._filenames.get(filename)
        if known is None:
            if len(self._filenames) > _FILENAMES_KEPT:  # code made by exec with many names
                self._filenames = {}
            known = self._filenames[filename] = Path(filename) in self._by_path
        return known

    def __iter__(self) -> Iterator[LiveModule]:
        with self._lock:
            return iter(list(self._by_name.values()))

    def __contains__(self, name: object) -> bool:
        return name in self._by_name

    def names(self) -> list[str]:
        with self._lock:
            return list(self._by_name)

    def paths(self) -> list[Path]:
        with self._lock:
            return list(self._by_path)


@dataclass(eq=False)  # never compared (nor `Early`): no field-wise __eq__ to make
class Decided:
    """One module of a batch: its outcome, and the digest of the bytes it was decided on."""

    outcome: Outcome
    digest: str | None


class Batches:
    """Decides and applies batches of changed module files for a set of live modules."""

    def __init__(
        self,
        modules: LiveModules,
        *,
        gate: VersionGate,
        watchdog: Watchdog,
        exec_timeout: float,
        quiet_ms: int,
        root: Path,
        stopping: threading.Event,
        restarts: bool = False,
    ) -> None:
        self.modules = modules
        # The server restarts itself when a save cannot apply in place: where unsure (a statement
        # run again raised, a class a library's metaclass built), a restart, not an approximation.
        self.restarts = restarts
        # Modules any valid save of which needs a restart (the served app's factory module).
        self.restart_always: dict[str, RestartNeeded] = {}
        # Per module, names that must not be bound again in place (the served app object).
        self.pinned: dict[str, dict[str, RestartCause]] = {}
        self.gate = gate
        self.watchdog = watchdog
        self.exec_timeout = exec_timeout
        self.quiet_ms = quiet_ms
        self.root = root
        self.stopping = stopping
        # What was last said of each module: a resync (the watcher started afresh and decides
        # every file) repeats nothing already said.
        self._last: dict[str, tuple[str, str | None, str | None]] = {}
        self._waiting: dict[str, tuple[LiveModule, Candidate, str]] = {}
        self._inodes: dict[Path, int] = {}  # each file's inode when last read
        # Each file's mark when last read, and when (wall ns): a resync reads only the files
        # that may have moved since (a start-up importing 1,000 modules resyncs several times).
        self._seen: dict[Path, tuple[FileMark, int]] = {}
        self._due: dict[str, Candidate] = {}  # versions of the batch being applied, not yet
        self._forced: dict[str, Dependents] = {}  # what those must run for modules followed
        # The order the modules' imports began in (name -> 0, 1, ...), where known: the server
        # and the import recorder write it, so a save can tell which module imports which
        # first (`_read_too_early`).
        self.import_began: dict[str, int] = {}
        # The host's entry functions (file, qualified name): called once, they never return.
        self.entries: set[tuple[str, str]] = set()
        # Functions that ran once at start and returned (the served app's factory), by (module,
        # name), with what they are: what only they call does not run again.
        self.ran_once: dict[tuple[str, str], str] = {}
        self._trees: Trees | None = None  # syntax trees for the warnings, once per version
        # Versions checked ahead (`prepare_early`), by file.
        self._early: dict[Path, Early] = {}

    def track(self, live: LiveModule, *, mark: FileMark = None, seen_ns: int | None = None) -> bool:
        """Reload this module from now on (False if one of its name is tracked already); its
        file's mark is noted (``mark``, where the import stat'ed the file already, as it was at
        wall time ``seen_ns``, once the module ran), so its first atomic save is read at once."""
        if not self.modules.add(live):
            return False
        if seen_ns is None:
            seen_ns = time.time_ns()
        if mark is None:
            mark = file_mark(live.spec.path)
        if mark is not None:
            self._inodes[live.spec.path] = mark[0]
            self._seen[live.spec.path] = (mark, seen_ns)
        return True

    def apply(
        self,
        paths: list[Path],
        *,
        resync: bool = False,
        whole: frozenset[Path] = frozenset(),
        read_early: frozenset[Path] = frozenset(),
    ) -> list[Decided]:
        """Decide every changed module (no code runs), then apply the good ones under the gate.

        A resync (the watcher started afresh: any file may have changed unseen) decides only
        the files whose stat says they may have moved since they were last read. The files in
        ``whole`` were closed after writing or renamed into place (the kernel said so): they
        are read at once, with no quiet period. Those in ``read_early`` were read by
        `prepare_early` after the kernel said so, and nothing happened to them since (the
        watcher heard of nothing): those bytes are taken, not read again."""
        early, self._early = self._early, {}  # good for this batch only
        if resync:
            paths = [path for path in paths if self._may_have_moved(path)]
        targets = [live for path in paths if (live := self.modules.at(path)) is not None]
        if not targets:
            return []
        started = time.perf_counter()
        sources: dict[Path, bytes | Failure] = {}
        for path in read_early & early.keys():
            found, mark = early[path], early[path].mark
            # Empty is read again: an editor that truncates, closes, then writes shows an empty
            # file first (as in `read_settled`).
            if mark is not None and mark[1] > 0:
                sources[path] = found.source
                self._inodes[path] = mark[0]
                self._seen[path] = (mark, found.read_ns)
        read = [live.spec.path for live in targets if live.spec.path not in sources]
        if read:
            read_ns = time.time_ns()
            marks: dict[Path, FileMark] = {}
            sources |= read_settled(
                read,
                quiet_ns=self.quiet_ms * 1_000_000,
                limit_s=SETTLE_LIMIT_S,
                root=self.root,
                wait=self.stopping.wait,
                inodes=self._inodes,
                marks=marks,
                whole=whole,
            )
            for path, mark in marks.items():
                self._seen[path] = (mark, read_ns)
        decided: dict[str, Decided] = {}
        candidates: dict[str, tuple[LiveModule, Candidate, str]] = {}
        for live in targets:
            name, source = live.spec.name, sources[live.spec.path]
            if isinstance(source, Failure):
                decided[name] = Decided(Outcome("rejected", live, started, failure=source), None)
            elif source == live.source:
                decided[name] = Decided(Outcome("unchanged", live, started), digest(source))
            else:
                result, source_digest = _prepare(live, source, early.get(live.spec.path))
                if isinstance(result, Failure):
                    outcome = Outcome("rejected", live, started, failure=result)
                    decided[name] = Decided(outcome, source_digest)
                else:
                    candidates[name] = (live, result, source_digest)
        names = [live.spec.name for live in targets]
        # Versions that failed for want of what another file brings (a branch switch that the
        # watcher saw as several batches) are tried again with this batch.
        waiting = {n: w for n, w in self._waiting.items() if n not in names}
        self._waiting = {}
        if candidates:
            candidates |= waiting
            names += list(waiting)
        held: dict[str, tuple[LiveModule, Candidate, str]] = {}
        for name, (live, candidate, source_digest) in list(candidates.items()):
            failure = self._still_read(live, candidate, candidates) or self._read_too_early(
                live, candidate, candidates
            )
            if failure is not None:  # tried again when the module that reads it changes
                held[name] = candidates.pop(name)
                outcome = Outcome("rejected", live, started, failure=failure, waiting=True)
                decided[name] = Decided(outcome, source_digest)
        # Said in the order they are applied: import order, then the given order.
        imports = {name: c.imports.modules for name, (_, c, _) in candidates.items()}
        order = [n for group in import_order(names, imports) for n in group]
        if candidates:
            with self.gate.exclusive():
                said = self._apply_in_order(order, candidates, decided, started)
        else:
            said = [decided[n] for n in order]
            self._waiting = waiting
        for item in said:
            name = item.outcome.live.spec.name
            if name in candidates and self._retriable(item.outcome, 2):
                self._waiting[name] = candidates[name]
                item.outcome.waiting = True
        self._waiting |= held
        self._warn_stale([d.outcome for d in said])
        return [
            d for d in said if self._worth_saying(d, resync or d.outcome.live.spec.name in waiting)
        ]

    def prepare_early(self, paths: list[Path]) -> None:
        """Read and `prepare` these files now (no code runs, nothing of the modules changes),
        while the watcher waits for the rest of a burst of saves; `apply` takes the result
        where it reads the same bytes and the same version runs (safe beside a reload on
        another thread: the running version is read once, and a stale result goes unused)."""
        for path in paths:
            # What an earlier tell read is not what the file holds now (this tell says so).
            self._early.pop(path, None)
            live = self.modules.at(path)
            current = live.analysed if live is not None else None
            if live is None or current is None:
                continue  # a module not analysed yet is analysed when a batch needs it
            read_ns = time.time_ns()
            source, mark = read_marked(path, root=self.root)
            if not isinstance(source, bytes) or source == current.source:
                continue
            result = prepare(live.spec, source, current)
            self._early[path] = Early(source, result, current, mark, read_ns)

    def _read_too_early(
        self,
        changed: LiveModule,
        candidate: Candidate,
        candidates: dict[str, tuple[LiveModule, Candidate, str]],
    ) -> Failure | None:
        """A version that takes a name at import from a module that imports it first, before
        binding that name (an import cycle the save introduces): a fresh start importing the
        modules in this process's order (`import_began`) fails there. Rejected before anything
        runs; tried again when the other module changes."""
        from hotreload.engine.follow import read_while_partial

        name = changed.spec.name
        began = self.import_began
        mine = began.get(name)
        if mine is None:
            return None
        last_part = name.rpartition(".")[2].encode()
        package = _package_of(changed)
        # Only the modules this version imports at import can be read half made.
        for other in sorted(candidate.imports.modules):
            live = self.modules.get(other)
            if (
                live is None
                or live is changed
                or began.get(other, mine) >= mine
                or last_part not in live.source
            ):
                continue
            due = candidates.get(other)
            analysis = live.current.analysis if due is None else due[1].analysis
            found = read_while_partial(analysis, other, name, candidate.analysis, package)
            if found is None:
                continue
            statement, taken, importing = found
            what = statement.summary().split(": ", 1)[1]
            return Failure(
                "import_would_fail",
                f"{changed.spec.path.name}:{statement.line}: `{what}` takes `{taken}` from "
                f"{other} at import, but {live.spec.path.name}:{importing.line} imports {name} "
                f"before it binds `{taken}` (an import cycle): a fresh start importing {other} "
                f"first, as this process did, would fail there (ImportError: partially "
                f"initialized module '{other}'); bind `{taken}` above that import in "
                f"{live.spec.path.name}, or read it inside a function",
                line=statement.line,
            )
        return None

    def _warn_stale(self, outcomes: list[Outcome]) -> None:
        """Accepted changes to functions that will not run again until a restart get a
        warning (`stale`): one walk of the threads' stacks for the batch."""
        accepted = [o for o in outcomes if o.kind == "accepted" and o.previous is not None]
        if not accepted:
            return
        began = time.perf_counter()
        try:
            self._find_stale(accepted)
        except Exception:  # a warning is advice: never the reload's failure
            pass
        finally:
            spent = time.perf_counter() - began  # part of each decision's time
            for outcome in accepted:
                outcome.finished += spent

    def _find_stale(self, accepted: list[Outcome]) -> None:
        from hotreload.engine.stale import Changed, Source, StaleCalls, Trees, running_frames
        from hotreload.saveverdicts import RestartCause, RestartNeeded

        frames = running_frames(self._tracked)
        if not frames and not self.ran_once:
            return
        if self._trees is None:
            self._trees = Trees()
        calls = StaleCalls(self.root, self._trees, self.entries, self.ran_once, self.restarts)
        for outcome in accepted:
            previous = outcome.previous
            assert previous is not None
            live, spec = outcome.live, outcome.live.spec
            namespace = live.namespace
            functions = [
                name
                for name in sorted(outcome.altered)
                if name not in spec.exports and type(namespace.get(name)) is types.FunctionType
            ]
            changed = Changed(
                Source.of(spec.name, spec.path, live.source, namespace, live.current.analysis),
                previous.source,
                previous.analysis,
                previous.code_index,
                live.current.code_index,
                functions,
            )
            found = calls.still_running(changed, frames)
            found += calls.startup_only(
                changed, frames, self._source_at, self._source_named, self._sources
            )
            outcome.warnings += found
            restart = [w for w in found if w.restarts]
            if restart and self.restarts:
                # Applied in place, yet equal to a fresh start only once the factory runs again.
                causes = [
                    RestartCause("app_factory_changed", w.message, None, None, w.function)
                    for w in restart
                ]
                names = ", ".join(f"`{w.function}`" for w in restart)
                message = (
                    f"{spec.name}: {names} changed, and only the app factory calls it, which ran "
                    "once at start: a restart applies this save"
                )
                outcome.restart_after = RestartNeeded("app_factory_changed", message, tuple(causes))

    def _tracked(self, filename: str) -> bool:
        return self.modules.has_file(filename)

    def _source_at(self, filename: str) -> Source | None:
        live = self.modules.at(Path(filename))
        if live is None:
            return None
        return _source(live)

    def _source_named(self, name: str) -> Source | None:
        live = self.modules.get(name)
        if live is None:
            return None
        return _source(live)

    def _sources(self, name: str) -> list[Source]:
        """Every module of the project that writes ``name``, and the script run as `__main__`
        where it is a file of its own and writes it: what may call a function of that name."""
        from hotreload.engine.stale import main_script

        needle = name.encode()
        found = [_source(live) for live in self.modules if needle in live.source]
        main = main_script(self.modules.paths())
        return found if main is None or needle not in main.raw else [*found, main]

    def _still_read(
        self,
        changed: LiveModule,
        candidate: Candidate,
        candidates: dict[str, tuple[LiveModule, Candidate, str]],
    ) -> Failure | None:
        """A version that removes a name another module takes from it at import (`from util
        import clamp`, `X = helpers.build()`) is one a fresh start could not import: rejected
        before anything runs (with the other module's new version where it is saved too)."""
        from hotreload.engine.follow import missing_exports, reader_of, star_importer

        removed = changed.current.defined - candidate.defined
        missing = (
            missing_exports(candidate.analysis)
            if "__all__" in candidate.source.decode("utf-8", "replace")
            else set()
        )
        if (not removed and not missing) or "__getattr__" in candidate.defined:
            return None
        name = changed.spec.name
        last_part = name.rpartition(".")[2].encode()
        for live in self.modules:
            if live is changed or last_part not in live.source:
                continue
            due = candidates.get(live.spec.name)
            analysis = live.current.analysis if due is None else due[1].analysis
            package = live.spec.name if live.spec.path.name == "__init__.py" else ""
            package = package or live.spec.name.rpartition(".")[0]
            found = reader_of(analysis, package, name, removed)
            star = star_importer(analysis, package, name) if missing else None
            if star is not None:
                return Failure(
                    "import_would_fail",
                    f"{changed.spec.path.name}: `__all__` lists `{sorted(missing)[0]}`, which "
                    f"the module does not define, and {live.spec.path.name}:{star.line} "
                    f"`{star.summary().split(': ', 1)[1]}` imports it: a fresh start would "
                    "raise AttributeError; define it, or take it out of `__all__`",
                )
            if found is not None:
                statement, gone = found
                return Failure(
                    "import_would_fail",
                    f"{changed.spec.path.name}: `{gone}` is removed, but "
                    f"{live.spec.path.name}:{statement.line} "
                    f"`{statement.summary().split(': ', 1)[1]}` takes it at import: a fresh "
                    f"start would fail there; keep `{gone}`, or change "
                    f"{live.spec.path.name} in the same save",
                    line=None,
                )
        return None

    def _apply_in_order(
        self,
        order: list[str],
        candidates: dict[str, tuple[LiveModule, Candidate, str]],
        decided: dict[str, Decided],
        started: float,
    ) -> list[Decided]:
        """Apply in import order; retry what failed while others got applied; then run the
        `from M import name` statements of modules whose names from M were replaced."""
        said: list[Decided] = []
        # (follower, changed module) pairs of this batch: a module follows each changed one
        # once, so imports that go round in a circle end. One of the batch decided unchanged
        # is followed like any other.
        seen: set[tuple[str, str]] = set()
        # A module of the batch not applied yet follows with its new version: what it must run
        # again is kept for when it is applied.
        self._due = {n: candidates[n][1] for n in order if n in candidates}
        self._forced = {}
        pending = order
        while pending:
            retry: list[str] = []
            progressed = False
            for name in pending:
                if name not in candidates:
                    said.append(decided[name])  # decided before anything ran
                    continue
                live, candidate, source_digest = candidates[name]
                outcome = self._apply_one(live, candidate, started)
                if outcome.kind == "accepted":
                    progressed = True
                    self._due.pop(name, None)
                    said.append(Decided(outcome, source_digest))
                    said += self._follow(live, outcome, started, seen)
                elif self._retriable(outcome, len(candidates)) and name not in retry:
                    retry.append(name)
                    decided[name] = Decided(outcome, source_digest)
                else:
                    said.append(Decided(outcome, source_digest))
            if not progressed:
                said += [decided[n] for n in retry]  # nothing changed: they would fail again
                break
            pending = retry
        self._due, self._forced = {}, {}
        return said

    def _apply_one(
        self,
        live: LiveModule,
        candidate: Candidate,
        started: float,
        forced: Dependents | None = None,
    ) -> Outcome:
        always = self.restart_always.get(live.spec.name)
        if always is not None:  # decided before anything runs: the module stays as it is
            return Outcome("restart_needed", live, started, restart=always)
        if forced is None:
            from hotreload.engine.follow import Dependents

            forced = self._forced.get(live.spec.name, Dependents())
        return apply_version(
            live,
            candidate,
            started,
            watchdog=self.watchdog,
            timeout=self.exec_timeout,
            also_statements=frozenset(forced.statements),
            gone=frozenset(forced.gone),
            restarts=self.restarts,
            pinned=self.pinned.get(live.spec.name, {}),
        )

    def _may_have_moved(self, path: Path) -> bool:
        seen = self._seen.get(path)
        return seen is None or may_have_moved(file_mark(path), *seen)

    @staticmethod
    def _retriable(outcome: Outcome, batch_size: int) -> bool:
        failure = outcome.failure
        return batch_size > 1 and failure is not None and failure.exception in _CURABLE

    def _follow(
        self,
        changed: LiveModule,
        outcome: Outcome,
        started: float,
        seen: set[tuple[str, str]],
    ) -> list[Decided]:
        """Modules that read at import what changed in ``changed`` run those statements again
        (`follow.dependents`), and what depends on them; each module once a batch (``seen``),
        so imports that go round in a circle end. Their `lru_cache`s are cleared: they may
        hold results of the old code."""
        if not outcome.replaced and not outcome.altered and not outcome.altered_methods:
            return []
        from hotreload.engine.execute import public_names
        from hotreload.engine.follow import Dependents, dependents
        from hotreload.engine.plan import Reach

        followed: list[Decided] = []
        name = changed.spec.name
        public = public_names(changed.module)
        reach: Reach | None = None

        def altered(attribute: str) -> bool:
            nonlocal reach
            if not outcome.altered:
                return False
            if reach is None:
                reach = Reach(changed.current.analysis, outcome.altered)
            return reach.reaches(attribute)

        # A module whose text does not name the changed one cannot import from it: it is not
        # analysed for that (an adopted module is analysed only when a reload needs it).
        last_part = name.rpartition(".")[2].encode()
        # Nor, where nothing was replaced, one whose text names none of the functions whose
        # behaviour changed (or that reach one) and none of the methods whose code changed:
        # what `dependents` finds, it finds by those names (the first save of a big app would
        # analyse its entry of a thousand imports for nothing).
        names: set[str] | None = None
        for live in self.modules:
            if live is changed or last_part not in live.source:
                continue
            for wrapper in cache_wrappers(live.namespace):
                wrapper.cache_clear()
            if (live.spec.name, name) in seen:
                continue
            if live.analysed is None and not outcome.replaced:
                if names is None:
                    names = set(outcome.altered) | set(outcome.altered_methods)
                    if outcome.altered:
                        if reach is None:
                            reach = Reach(changed.current.analysis, outcome.altered)
                        names |= {f for f in reach.functions if f and reach.reaches(f)}
                if not _names_any(live.source, names):
                    continue
            package = live.spec.name if live.spec.path.name == "__init__.py" else ""
            package = package or live.spec.name.rpartition(".")[0]
            due = self._due.get(live.spec.name)
            found = dependents(
                live.current.analysis if due is None else due.analysis,
                package,
                name,
                replaced=outcome.replaced,
                public=public,
                altered=altered,
                methods=outcome.altered_methods,
            )
            if not found.statements:
                continue
            seen.add((live.spec.name, name))
            if due is not None:  # applied later in this batch, with these statements too
                forced = self._forced.setdefault(live.spec.name, Dependents())
                forced.statements |= found.statements
                forced.gone |= found.gone
                continue
            again = prepare(live.spec, live.source, live.current)
            if isinstance(again, Failure):
                continue  # it runs this very source: it cannot fail to prepare
            result = self._apply_one(live, again, started, found)
            followed.append(Decided(result, digest(live.source)))
            if result.kind == "accepted":
                followed += self._follow(live, result, started, seen)
        return followed

    def _worth_saying(self, decided: Decided, resync: bool) -> bool:
        """Every decision is said once; a resync says only what changed since."""
        outcome = decided.outcome
        reason = outcome.failure.reason if outcome.failure else None
        said = (outcome.kind, reason, decided.digest)
        name = outcome.live.spec.name
        previous = self._last.get(name)
        self._last[name] = said
        if not resync:
            return True
        if outcome.kind == "unchanged":
            return False
        return previous != said


@dataclass(frozen=True, eq=False)
class Early:
    """A version checked ahead (`Batches.prepare_early`): the bytes, what `prepare` made of
    them, the running version it was made against, the file's mark as they were read and the
    wall time (ns) just before, and the bytes' digest."""

    source: bytes
    result: Candidate | Failure
    against: Candidate
    mark: FileMark
    read_ns: int
    digest: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "digest", digest(self.source))


def _prepare(
    live: LiveModule, source: bytes, early: Early | None
) -> tuple[Candidate | Failure, str]:
    """`prepare` the bytes read (and their digest), or take what `Batches.prepare_early` made
    of the same bytes against the version that runs now (the same inputs: the same result)."""
    current = live.current
    if early is not None and early.against is current and early.source == source:
        return early.result, early.digest
    return prepare(live.spec, source, current), digest(source)


def _names_any(source: bytes, names: Collection[str]) -> bool:
    """Whether ``source`` may name one of ``names``: its bytes hold one (a name that is not
    ASCII counts as named: the file's encoding may spell it otherwise)."""
    return any(not n.isascii() or n.encode() in source for n in names)


def _package_of(live: LiveModule) -> str:
    """The package a module's relative imports start from."""
    name = live.spec.name
    return name if live.spec.path.name == "__init__.py" else name.rpartition(".")[0]


def _source(live: LiveModule) -> Source:
    """A live module's running version, with the engine's statements where it has them (a
    module the process imported and no save touched yet has none: it is read whole)."""
    from hotreload.engine.stale import Source

    analysed = live.analysed
    analysis = analysed.analysis if analysed is not None else None
    return Source.of(live.spec.name, live.spec.path, live.source, live.namespace, analysis)
