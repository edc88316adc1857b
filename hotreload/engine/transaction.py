"""One module's reload transaction: read, check, plan, run what changed, verify, patch; or undo.

The steps, each in a part of its own:

1. `prepare` (no code runs): decode, parse, compare with the contract (`signatures`, and
   `exports` for statically visible replacements), compile, analyse (`plan.analyse`).
2. plan: what the version must run (`plan.decide`): nothing but a code swap, some statements, or
   the whole module; and which live functions take which new code (`codeswap`).
3. run (`execute.Run`): swap code, run the statements or the module under the deadline.
4. verify: the exports are still the functions the contract checked (`exports`).
5. commit: objects the run made again are patched into the live ones (`patching`), `keep`
   names keep their values, names the version no longer binds go. Or, at any failure in 3-4,
   roll back: the module is exactly as it was.
"""

from __future__ import annotations

import ast
import importlib
import importlib.util
import linecache
import sys
import time
import types
import weakref
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from hotreload.contract.signatures import FoundFunction, Signature, compare
from hotreload.engine.codeswap import (
    CodeIndex,
    cache_wrappers,
    index_code,
    index_nested,
    live_functions,
    plan_swaps,
)
from hotreload.engine.deadline import Watchdog
from hotreload.engine.exports import replaced_at_run_time, replaced_in_source
from hotreload.engine.importorder import Imports, merged
from hotreload.engine.mainthread import MainThreadUnavailable
from hotreload.engine.source import decode_source, read_source, too_deep
from hotreload.engine.statements import Analysis, Reading, Statement, analyse, docstring
from hotreload.engine.stdlibrecord import Ledger, ledger_of, recording, take_imported
from hotreload.errors import ContractViolation, ServerError
from hotreload.lookup import is_a, is_class
from hotreload.records import record
from hotreload.verdicts import Failure, Violation
from hotreload.words import DEFAULT_EXEC_TIMEOUT_MS

if TYPE_CHECKING:
    from hotreload.contract.typeshapes import FoundType, TypeShape
    from hotreload.engine.execute import Run
    from hotreload.engine.plan import Matching, Plan, PlanKind
    from hotreload.saveverdicts import AcceptWarning, RestartCause, RestartNeeded

# A start-up only checks and loads (`prepare`, `load`, `adopt`): what applies a save (plan,
# execute, patching, restarts, stdlibcover, unbound, typerules, liveshapes) is imported where
# it is first used, so it loads at the first save, not with every process (issue 19), and so
# do the classes only a save makes (saveverdicts). The reading of frozen types (typeshapes)
# loads only where a manifest freezes types.

DEFAULT_EXEC_TIMEOUT = DEFAULT_EXEC_TIMEOUT_MS / 1000
_GONE = object()


# One per module the process imports: no instance dict. Never compared (nor the records below):
# no field-wise __eq__ and __hash__ to make at every start.
@record(slots=True, eq=False)
class ModuleSpec:
    """A module that reloads: one of the manifest's, with its contract, or one the process
    imported from under the project root, with none (``contract`` False)."""

    name: str
    path: Path
    exports: Mapping[str, Signature]
    keep: tuple[str, ...] = ()
    contract: bool = True
    types: Mapping[str, TypeShape] = field(default_factory=dict)  # frozen types, by class name


@record(eq=False)
class Delta:
    """A version compared with the running one it was prepared against (``previous``), while it
    was prepared: where the watcher prepares a save during the rest of a burst, that is done
    before the reload begins. Its statements paired with the previous ones (`plan.match`),
    and the exports whose `def` changed. The previous version is held weakly: once replaced,
    its code must be free to go."""

    previous: weakref.ref[Analysis]
    matching: Matching
    changed: tuple[str, ...]


@record(eq=False)
class Candidate:
    """A version of a module's source that passed every check that runs no code."""

    source: bytes
    text: str
    analysis: Analysis  # its statements, each with its code
    code_index: CodeIndex
    function_names: tuple[str, ...]  # every top-level def in source order: to spot new ones
    defined: frozenset[str]
    imports: Imports
    types: Mapping[str, FoundType]  # the frozen types, as read from this version
    delta: Delta | None = None  # compared with the version it was prepared against


@dataclass(slots=True, eq=False)  # one per module the process imports: no instance dict
class LiveModule:
    """A loaded module and the facts about the version that runs now.

    A module the process imported is rehomed with its source only: the version is analysed
    (parsed, compiled statement by statement) the first time a reload needs it, so a project of
    hundreds of modules does not pay for it at start-up.
    """

    spec: ModuleSpec
    module: types.ModuleType
    _current: Candidate | None
    version: int
    # Functions that a re-run statement handed to someone else (a framework's route table)
    # while the module kept the older object: they take later code swaps too.
    # (Most modules never hand one out: an empty tuple, no list each.)
    handed_out: Sequence[tuple[weakref.ref[types.FunctionType], str]] = ()
    _source: bytes = b""
    # What its statements registered with the standard library (`stdlibrecord`).
    ledger: Ledger = field(default_factory=Ledger)

    @property
    def namespace(self) -> dict[str, Any]:
        return self.module.__dict__

    @property
    def source(self) -> bytes:
        return self._source if self._current is None else self._current.source

    @property
    def current(self) -> Candidate:
        if self._current is None:
            prepared = prepare(self.spec, self._source)
            # It ran this very source, so it prepares; if the file read was not that source
            # after all, an empty version makes the next save run the module whole.
            self._current = prepared if isinstance(prepared, Candidate) else _unknown(self._source)
        return self._current

    @current.setter
    def current(self, candidate: Candidate) -> None:
        self._current = candidate

    @property
    def analysed(self) -> Candidate | None:
        """The running version if it is analysed already (never analyses it)."""
        return self._current


@dataclass(eq=False)
class Outcome:
    """What a reload did; the server turns it into exactly one event."""

    kind: Literal["accepted", "rejected", "unchanged", "restart_needed"]
    live: LiveModule
    started: float
    failure: Failure | None = None
    restart: RestartNeeded | None = None  # for `restart_needed`: why, and what
    changed: list[str] = field(default_factory=list)
    added: list[str] = field(default_factory=list)
    rebound: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    ran: PlanKind | None = None
    statements: list[str] = field(default_factory=list)
    replaced: frozenset[str] = frozenset()  # names now bound to other objects than before
    altered: frozenset[str] = frozenset()  # functions whose behaviour changed (`Plan.altered`)
    altered_methods: frozenset[str] = frozenset()  # `Plan.altered_methods`
    warnings: list[AcceptWarning] = field(default_factory=list)
    # For `accepted`: the version that ran before (its code objects are those running calls
    # may still run), to tell what the save changed under them.
    previous: Candidate | None = None
    # For `accepted`: applied in place, but only a restart makes the process what a fresh start
    # makes (a function only the app factory called); the server restarts where it may.
    restart_after: RestartNeeded | None = None
    # Rejected for want of a name another file of the project brings: tried again with the
    # next batch (the batch decides this, so its event can say so).
    waiting: bool = False

    finished: float = field(default_factory=time.perf_counter)

    @property
    def duration_ms(self) -> float:
        """From the start of the decision to the moment this outcome was reached."""
        return (self.finished - self.started) * 1000


def prepare(
    spec: ModuleSpec, source: bytes, previous: Candidate | None = None
) -> Candidate | Failure:
    """Every check that runs none of the new code: decode, parse and compile (only the
    statements around the edit, where ``previous`` is the running version), contract."""
    text = decode_source(source, spec.path)
    if isinstance(text, Failure):
        return text
    reading = Reading(spec.name, spec.path, spec.exports, keep_nodes=bool(spec.types))
    try:
        # Each walks trees recursively: a tree the parser accepted can still be too deep here.
        analysis = analyse(text, reading, previous.analysis if previous else None)
        if isinstance(analysis, Failure):
            return analysis
        if previous is not None:
            from hotreload.engine.unbound import first_unbound  # a save's check

            if (unbound := first_unbound(analysis)) is not None:
                return _would_fail(spec.path, *unbound)
        violations = _violations(spec, analysis)
        types: dict[str, FoundType] = {}
        if spec.types:  # only for frozen types
            from hotreload.contract.typerules import compare_types
            from hotreload.contract.typeshapes import read_types

            types = read_types(analysis.tree(), spec.types)
            violations += compare_types(spec.types, types, analysis.tree(), (spec.name, spec.path))
    except (RecursionError, MemoryError) as e:
        return Failure("syntax_error", f"{spec.path.name}: {too_deep(e)}")
    if violations:
        order = [*spec.exports, *spec.types]
        violations.sort(
            key=lambda v: order.index(v.function) if v.function in order else len(order)
        )
        lines = "; ".join(v.message for v in violations)
        hint = "restore the frozen signature, or run `hotreload freeze` and restart the host"
        if all(v.code == "export_replaced" for v in violations):
            hint = "the exports must stay the functions the manifest freezes"
        return Failure(violations[0].code, f"{lines} ({hint})", tuple(violations))
    statements = analysis.statements
    delta = None
    if previous is not None:  # a save (a start-up's first load compares with nothing)
        from hotreload.engine.plan import match

        old = previous.analysis
        changed = tuple(name for name in spec.exports if _export_changed(old, analysis, name))
        delta = Delta(weakref.ref(old), match(old, analysis), changed)
    return Candidate(
        source,
        text,
        analysis,
        index_nested(analysis.nested()),
        function_names=tuple(
            dict.fromkeys(s.definition for s in statements if s.is_function and s.definition)
        ),
        defined=frozenset(n for s in statements for n in s.scope.binds - s.scope.deleted),
        imports=merged(s.imports for s in statements),
        types=types,
        delta=delta,
    )


def _would_fail(path: Path, statement: Statement, name: str) -> Failure:
    """The rejection of a version whose import would raise NameError at ``statement``."""
    return Failure(
        "import_would_fail",
        f"{path.name}:{statement.line}: `{statement.summary().split(': ', 1)[1]}` reads "
        f"`{name}` at import, but nothing above it binds that name: a fresh start would raise "
        f"NameError; define `{name}` above line {statement.line}, or stop reading it there",
        line=statement.line,
    )


def _violations(spec: ModuleSpec, analysis: Analysis) -> list[Violation]:
    """The exports' signatures against the contract, and bindings that would replace one."""
    if not spec.exports:
        return []
    functions: dict[str, FoundFunction] = {}
    for statement in analysis.statements:  # the last unconditional def of a name wins
        if statement.export is not None:
            functions.pop(statement.export.name, None)
            functions[statement.export.name] = statement.export
    return compare(spec.exports, functions) + replaced_in_source(analysis, spec.exports)


def prepare_file(spec: ModuleSpec) -> Candidate | Failure:
    """Read and `prepare` a module's file: every check, and still no code run."""
    source = read_source(spec.path)
    return prepare(spec, source) if isinstance(source, bytes) else source


def _remember_source(path: Path, text: str) -> None:
    """Tracebacks from the new code must show the new lines, not the file as first read."""
    lines = text.splitlines(keepends=True)
    linecache.cache[str(path)] = (len(text), None, lines, str(path))


# -- applying a candidate ----------------------------------------------------------------------


def apply_version(
    live: LiveModule,
    candidate: Candidate,
    started: float,
    *,
    watchdog: Watchdog,
    timeout: float = DEFAULT_EXEC_TIMEOUT,
    also_run: frozenset[str] = frozenset(),
    also_statements: frozenset[int] = frozenset(),
    gone: frozenset[str] = frozenset(),
    restarts: bool = False,
    pinned: Mapping[str, RestartCause] = {},
) -> Outcome:
    """Apply a prepared version to the live module; the caller holds the version gate.

    ``also_run`` names top-level names whose statements must run even if their text did not
    change (a module they import from gave those names new objects), ``also_statements`` such
    statements by index; ``gone`` names what a star-imported module no longer has. On any
    failure, and when a statement to run cannot run again in place (``restart_needed``), the
    module is left exactly as it was. ``restarts`` (the server restarts itself): where in place
    is only an approximation, ask for a restart: a class built by a library's metaclass run
    again, a statement run again that raised (``exec_error_in_place``, not a rejection: a fresh
    start may well not raise there).

    Every restart_needed of a save is made here, from the causes found: the plan's (a value
    changed in place at import, a registration removed), `restarts`' (registrations with live
    objects, the served app, docstrings a framework read), and those raised while running
    (`NeedsRestart`).
    """
    from hotreload.engine.execute import NeedsRestart, Run, exec_failure
    from hotreload.engine.plan import decide
    from hotreload.engine.restarts import (
        docstring_causes,
        removal_causes,
        restart_causes,
        restart_needed,
        statement_cause,
    )
    from hotreload.engine.stdlibcover import covered

    spec = live.spec
    try:
        ledger = placed(live)
        undoable = _undoable(live.current.analysis, ledger, live.namespace)
        live.handed_out = [(ref, root) for ref, root in live.handed_out if ref() is not None]
        extra = [(f, root) for ref, root in live.handed_out if (f := ref()) is not None]
        functions = live_functions(live.namespace, str(spec.path), spec.name, extra)
        swaps = plan_swaps(
            functions, live.current.code_index, candidate.code_index, namespace=live.namespace
        )
        delta = _delta(candidate, live.current)
        decided = decide(
            (live.current.analysis, live.current.code_index),
            (candidate.analysis, candidate.code_index),
            live_names=live.namespace.keys(),
            keep=spec.keep,
            force=set(also_run) | swaps.blocked,
            reached=swaps.reached,
            force_statements=also_statements,
            undoable=undoable,
            matching=delta.matching if delta is not None else None,
        )
    except Exception as error:  # nothing ran yet: the module is as it was
        return Outcome("rejected", live, started, failure=_planning_failed(error, spec))
    # Decided before anything runs, where the source shows it: nothing of the save is applied.
    analysis, namespace = candidate.analysis, live.namespace
    causes = removal_causes(live.current.analysis, decided.removed, namespace)
    causes += docstring_causes(live.current.analysis, analysis, decided.edited, namespace)
    if not decided.restart:
        to_run = range(len(analysis.statements)) if decided.kind == "module" else decided.run
        to_check = set(to_run) - decided.never
        causes += restart_causes(analysis, to_check, namespace, strict=restarts, pinned=pinned)
    said = {(cause.statement, cause.code) for cause in causes}
    causes += [c for c in decided.restart if (c.statement, c.code) not in said]
    if causes:
        restart = restart_needed(causes, spec.name)
        return Outcome("restart_needed", live, started, restart=restart)

    if decided.kind == "code" and any(i in ledger.by_index for i in decided.removed):
        # Nothing runs again, but what a removed statement registered must go.
        decided = replace(decided, kind="statements")
    run = Run(live.namespace, swaps.swaps, stale=swaps.stale, ledger=ledger)
    try:
        run.swap_code()
        if decided.kind == "statements":
            # Statements that run because a name they read changed are known only while running;
            # they are judged on the objects this run has not made anew.
            def guard(index: int) -> RestartCause | None:
                before = run.snapshot or {}
                kept = {k: v for k, v in before.items() if namespace.get(k, _GONE) is v}
                return statement_cause(analysis, index, kept, strict=restarts, pinned=pinned)

            def undoes(index: int) -> bool:
                return covered(analysis.node(index), namespace)

            run.run_statements(
                analysis, decided, spec.path, watchdog, timeout, gone, guard=guard, covered=undoes
            )
        elif decided.kind == "module":
            run.run_module(
                candidate.analysis,
                spec.path,
                watchdog,
                timeout,
                keep=spec.keep,
                old=live.current.analysis,
            )
    except NeedsRestart as needed:
        run.rollback()
        restart = restart_needed([needed.cause], spec.name)
        return Outcome("restart_needed", live, started, restart=restart)
    except BaseException as error:
        # SystemExit and KeyboardInterrupt too: module code must not stop the server.
        run.rollback()
        if isinstance(error, MainThreadUnavailable):
            restart = _main_thread_only(error, spec.name)
            return Outcome("restart_needed", live, started, restart=restart)
        if isinstance(error, ValueError) and "main thread" in str(error):
            restart = _main_thread_only(error, spec.name)
            return Outcome("restart_needed", live, started, restart=restart)
        failure = exec_failure(error, spec.path, timeout)
        if (
            restarts
            and decided.kind == "statements"
            and failure.reason == "exec_error"
            and _raised_elsewhere(error, spec.path)
        ):
            restart = _error_in_place(failure, analysis, run)
            return Outcome("restart_needed", live, started, restart=restart)
        return Outcome("rejected", live, started, failure=failure)
    if decided.kind != "code":
        violations = _replaced_once_run(spec, live.namespace)
        if violations:
            run.rollback()
            message = "; ".join(v.message for v in violations)
            failure = Failure(violations[0].code, message, tuple(violations))
            return Outcome("rejected", live, started, failure=failure)
    try:
        return _commit(live, candidate, decided, run, started)
    except Exception as error:
        run.rollback()
        return Outcome("rejected", live, started, failure=_planning_failed(error, spec))


def _raised_elsewhere(error: BaseException, path: Path) -> bool:
    """Whether code outside the module raised (a library the statement called: SQLAlchemy's
    `Table 'todos' is already defined`), which a first run's state can explain. An error
    raised by the module's own line (`int("ten")`, a typo's NameError) a fresh start raises
    too: that stays a rejection, and the previous version keeps serving."""
    import traceback  # (with textwrap: a save's, never a start-up's)

    frames = traceback.extract_tb(error.__traceback__)
    return bool(frames) and frames[-1].filename != str(path)


def _error_in_place(failure: Failure, analysis: Analysis, run: Run) -> RestartNeeded:
    """A statement run again in place raised: a fresh start runs every statement once, in
    order, and may well not (`Table 'todos' is already defined`)."""
    from hotreload.saveverdicts import RestartCause, RestartNeeded

    statement = analysis.statements[run.ran[-1]] if run.ran else None
    cause = RestartCause(
        "exec_error_in_place",
        failure.message,
        statement.summary() if statement is not None else None,
        failure.line if failure.line is not None else (statement.line if statement else None),
    )
    message = (
        f"{failure.message.removesuffix('; the previous version keeps running')}; "
        "it ran again in place, where a fresh start runs it once: a restart applies this save"
    )
    return RestartNeeded("exec_error_in_place", message, (cause,))


def _planning_failed(error: Exception, spec: ModuleSpec) -> Failure:
    """A reload that broke outside the module's own code (a live object that raised when looked
    at, a bug of ours): the module's own rejection, with its file, never a nameless error."""
    return Failure(
        "exec_error",
        f"{spec.path.name}: reloading module {spec.name!r} failed with {type(error).__name__}: "
        f"{error} (while planning or keeping the new version, not in the module's code); "
        "the previous version keeps running; please report this with the module's source",
        exception=type(error).__name__,
    )


def _main_thread_only(error: BaseException, module: str) -> RestartNeeded:
    """A statement that only the main thread may run (`signal.signal`): a reload runs on the
    watcher's thread, a fresh start on the main one. Where the module's registrations are
    recorded the call is made on the main thread; this is when that thread was unavailable."""
    from hotreload.engine.restarts import restart_needed
    from hotreload.saveverdicts import RestartCause

    if isinstance(error, MainThreadUnavailable):
        cause = RestartCause("exec_error_in_place", f"{error} (a reload runs off the main thread)")
        return restart_needed([cause], module)
    return restart_needed(
        [
            RestartCause(
                "exec_error_in_place",
                f"a statement to run again raised ValueError: {error} (a reload runs off the "
                "main thread, where a fresh start runs it)",
            )
        ],
        module,
    )


def _replaced_once_run(spec: ModuleSpec, namespace: dict[str, Any]) -> list[Violation]:
    """What only running shows: an export that is not its `def` any more, a frozen class that
    a decorator replaced or reshaped."""
    violations = replaced_at_run_time(namespace, spec.exports, spec.path)
    if spec.types:
        from hotreload.contract.liveshapes import verify_class  # only for frozen types

        for name, shape in spec.types.items():
            violations += verify_class(name, namespace.get(name), shape, namespace)
    return violations


def _commit(
    live: LiveModule, candidate: Candidate, decided: Plan, run: Run, started: float
) -> Outcome:
    """Keep the run: patch re-made objects into the live ones, restore `keep`, drop stale names."""
    from hotreload.engine.patching import Patcher, keeps_identity, made_here, taken_as_same

    spec, namespace, snapshot = live.spec, live.namespace, run.snapshot or {}
    patcher = Patcher()
    replaced = {n for n in run.bound if n in namespace and n not in snapshot}
    definitions = Counter(s.definition for s in candidate.analysis.statements if s.definition)
    repeated = {n for n, count in definitions.items() if count > 1}
    # A `def` a dispatcher registered while it ran: the registry holds the new function, which
    # the module takes too (as a fresh start has one object in both).
    found = run.target.found if run.target is not None else []
    statements = candidate.analysis.statements
    repeated |= {
        name
        for index, _, _, made in found
        if made.holds and index is not None and (name := statements[index].definition)
    }
    for name in [n for n in namespace if n in run.bound]:
        if name not in snapshot or _is_module_dunder(name, namespace[name]):
            continue
        old, new = snapshot[name], namespace[name]
        if name in spec.keep:
            namespace[name] = old
            continue
        if name in repeated or (name in run.imported and not made_here(new, namespace)):
            # Another module's object, or the last of several definitions of one name (`def
            # _` under `@f.register`), which a registry holds: taken as it is, never rewritten.
            # (A `def` beside an import, `try: from itertools import x ... else: def x`, is
            # this module's own: patched as any other.)
            namespace[name] = patcher.take(old, new, name)
            if not taken_as_same(old, new):
                replaced.add(name)
            continue
        try:
            kept = patcher.patch(old, new, name)
        except Exception:  # a class that refuses an attribute: serve the new object instead
            kept = new
            patcher.rebound.append(name)
        namespace[name] = kept
        if kept is old and new is not old:
            _remember_handed_out(live, new, name)
        if kept is not old and (name in patcher.rebound or not keeps_identity(old, kept)):
            # A class made again that could have been patched (`keeps_identity`) but was not,
            # its base being made again too (`_same_bases`): a new object, which the modules
            # that imported the old one must take.
            replaced.add(name)
    replaced |= _exported_difference(snapshot, namespace, run.bound)
    run.keep_old_code(set(patcher.rebound))
    # A name the old version defined that a star import now binds (a class moved into the
    # star-imported module) takes the star import's object, as at a fresh start.
    starred = run.imported & run.bound - candidate.defined
    removed = sorted(
        (live.current.defined - candidate.defined - set(spec.keep) - starred)
        | (run.dropped - set(spec.keep))
    )
    for name in removed:
        namespace.pop(name, None)
    replaced.update(removed)
    doc = docstring(candidate.analysis)
    if namespace.get("__doc__") != doc and not candidate.analysis.binders("__doc__"):
        # What a fresh import sets, the docstring or None; where a statement binds `__doc__`
        # (pyparsing's `__doc__ = """..."""`), what it bound is what a fresh start has.
        namespace["__doc__"] = doc
    patcher.retarget_instances(namespace)
    for wrapper in cache_wrappers(namespace):
        wrapper.cache_clear()  # never serve a result computed by the old code
    _remember_source(spec.path, candidate.text)

    outcome = Outcome(
        "accepted",
        live,
        started,
        rebound=sorted(set(patcher.rebound) | set(run.stale)),
        removed=removed,
        ran=decided.kind,
        statements=[candidate.analysis.statements[i].summary() for i in run.ran],
        replaced=frozenset(replaced),
        # Every definition that ran again, planned or reached by a changed input (`class
        # Todo(TodoBase)` after TodoBase changed): what other modules made from it runs again.
        altered=decided.altered
        | {d for i in run.ran if (d := candidate.analysis.statements[i].definition)},
        altered_methods=decided.altered_methods,
    )
    _say_what_changed(outcome, live.current, candidate)
    live.ledger = _next_ledger(live.ledger, decided, run)
    outcome.previous = live.current
    live.current = candidate
    live.version += 1
    return outcome


def _next_ledger(ledger: Ledger, decided: Plan, run: Run) -> Ledger:
    """The registrations of the version kept, by its statements: what the statements that ran
    registered now, and the old entries of the statements that did not run (by their pairs)."""
    found = run.target.found if run.target is not None else []
    by_index: dict[int, list[Any]] = {}
    if decided.kind != "module":
        ran = set(run.ran)
        for new, old in decided.pairs:
            if new not in ran and old in ledger.by_index:
                by_index[new] = ledger.by_index[old]
    for index, _line, _hook, registration in found:
        if index is not None:
            by_index.setdefault(index, []).append(registration)
    return Ledger(ledger.complete, by_index)


def placed(live: LiveModule) -> Ledger:
    """The module's ledger, with the first import's registrations on their statements."""
    ledger = live.ledger
    if ledger.by_line:
        from hotreload.engine.stdlibcover import hook_statement

        analysis = live.current.analysis
        lines = [(s.line, s.end_line) for s in analysis.statements]

        def nodes() -> Iterator[tuple[int, ast.stmt | None]]:
            return ((i, analysis.node(i)) for i in range(len(analysis.statements)))

        ledger.place(lines, lambda hook: hook_statement(nodes(), hook))
    return ledger


def _undoable(
    analysis: Analysis, ledger: Ledger, namespace: Mapping[str, Any]
) -> Callable[[int], bool]:
    """Whether a statement of the running version registered with the standard library only
    what was recorded (`stdlibrecord.covered`): changed or removed, it is undone in place.
    Only for a module whose import was recorded; asked only of statements a save removes."""
    if not ledger.complete:
        return lambda _index: False
    from hotreload.engine.stdlibcover import covered

    def undoable(index: int) -> bool:
        statement = analysis.statements[index]
        return _may_register(statement) and covered(analysis.node(index), namespace)

    return undoable


def _may_register(statement: Statement) -> bool:
    """Cheap first look: a statement that calls or decorates, or assigns an attribute."""
    return bool(statement.scope.mutates) or "@" in statement.text


def _exported_difference(
    snapshot: dict[str, Any], namespace: dict[str, Any], bound: set[str]
) -> set[str]:
    """Names that entered or left `__all__`: what `from module import *` takes changed."""
    if "__all__" not in bound:
        return set()
    try:
        before = {str(n) for n in snapshot.get("__all__", ())}
        after = {str(n) for n in namespace.get("__all__", ())}
    except TypeError:
        return set()
    return before ^ after


def _say_what_changed(outcome: Outcome, old: Candidate, new: Candidate) -> None:
    """The exports and frozen types that changed, the new public functions, and the warnings
    of an accepted version, for its event."""
    from hotreload.contract.typerules import (
        changed_types,
        field_warnings,
        method_signatures,
        parameter_warnings,
    )
    from hotreload.saveverdicts import AcceptWarning

    spec = outcome.live.spec
    delta = _delta(new, old)
    changed = (
        list(delta.changed)
        if delta is not None
        else [name for name in spec.exports if _export_changed(old.analysis, new.analysis, name)]
    )
    outcome.changed = changed + changed_types(old.types, new.types)
    outcome.warnings = list[AcceptWarning](
        parameter_warnings(spec.exports, _export_signatures(old), _export_signatures(new))
        + parameter_warnings(
            method_signatures(spec.types),
            method_signatures(old.types),
            method_signatures(new.types),
        )
        + field_warnings(old.types, new.types)
    )
    before = set(old.function_names)
    outcome.added = [
        name
        for name in new.function_names
        if spec.contract
        and not name.startswith("_")
        and name not in spec.exports
        and name not in before
    ]


def _delta(candidate: Candidate, running: Candidate) -> Delta | None:
    """The candidate's comparison with ``running``, if it was prepared against that version."""
    delta = candidate.delta
    return delta if delta is not None and delta.previous() is running.analysis else None


def _export_signatures(candidate: Candidate) -> dict[str, Signature]:
    """The exports' signatures in this version (the last `def` of each)."""
    return {
        s.export.name: s.export.signature
        for s in candidate.analysis.statements
        if s.export is not None
    }


def _export_changed(old: Analysis, new: Analysis, name: str) -> bool:
    """Whether an export's `def` changed, comments and layout aside (compared only where its
    text changed: dumping every export's tree at every load was a quarter of a large start-up)."""
    before, after = old.exported_def(name), new.exported_def(name)
    if before is None or after is None:
        return before != after
    if old.statements[before].text == new.statements[after].text:
        return False
    from hotreload.engine.plan import same_tree

    a, b = old.node(before), new.node(after)
    return a is None or b is None or not same_tree(a, b)


def _is_dunder(name: str) -> bool:
    return name.startswith("__") and name.endswith("__")


def _is_module_dunder(name: str, value: Any) -> bool:
    """A module's own dunder (`__name__`, `__all__`, `__version__`), never patched; a class or
    function the module named like one (pyparsing's `class __diag__`) is patched as any other."""
    return _is_dunder(name) and not (is_class(value) or is_a(value, types.FunctionType))


def _remember_handed_out(live: LiveModule, new: Any, root: str) -> None:
    """The run made ``new``, the module keeps the old object: whoever got ``new`` (a decorator
    registered it) must still see later edits."""
    spec = live.spec
    handed_out = list(live.handed_out)
    for function, _ in live_functions({root: new}, str(spec.path), spec.name):
        handed_out.append((weakref.ref(function), root))
    live.handed_out = handed_out


# -- first load -------------------------------------------------------------------------------


def load(spec: ModuleSpec, candidate: Candidate | Failure) -> LiveModule:
    """Import a checked module: version 1.

    Raises ContractViolation (with the violations) before any module code runs, and ServerError
    when the file cannot be read or its code raises. KeyboardInterrupt passes through: Ctrl+C
    during a slow import stops the server, it is not the module's failure.
    """
    if isinstance(candidate, Failure):
        if candidate.violations:
            raise ContractViolation(candidate.message, list(candidate.violations))
        raise ServerError(f"cannot load module {spec.name!r}: {candidate.message}")
    module = _existing_module(spec)
    if module is None:
        _import_parent(spec)  # a package that imports this very module imports it now
        module = _existing_module(spec)
    if module is None:
        module = _new_module(spec)
        sys.modules[spec.name] = module
        try:
            # No deadline at start-up: this runs in the caller's thread, where Ctrl+C stops it,
            # and a first import may rightly take long (a model, a cache).
            with recording(module.__dict__) as target:
                for index, code in enumerate(candidate.analysis.codes()):
                    target.index = index
                    exec(code, module.__dict__)
                    target.check_hooks()
        except KeyboardInterrupt:  # Ctrl+C or SIGTERM stops start-up cleanly
            sys.modules.pop(spec.name, None)
            raise
        except BaseException as error:
            sys.modules.pop(spec.name, None)
            from hotreload.engine.execute import exec_failure  # a failed start only

            failure = exec_failure(error, spec.path, 0)
            raise ServerError(f"cannot load module {spec.name!r}: {failure.message}") from error
        _attach_to_parent(spec.name, module)
        violations = _replaced_once_run(spec, module.__dict__)
        if violations:
            message = "; ".join(v.message for v in violations)
            raise ContractViolation(message, list[object](violations))
        _remember_source(spec.path, candidate.text)
        return LiveModule(spec, module, candidate, 1, ledger=ledger_of(target))
    _remember_source(spec.path, candidate.text)
    return LiveModule(spec, module, candidate, 1, ledger=take_imported(spec.name))


def adopt(spec: ModuleSpec, module: types.ModuleType, source: bytes) -> LiveModule:
    """A module the process imported, running ``source``: version 1, analysed when needed."""
    return LiveModule(spec, module, None, 1, _source=source, ledger=take_imported(spec.name))


def _unknown(source: bytes) -> Candidate:
    """A version of which nothing is known: every statement of the next one is new to it."""
    analysis = Analysis((), 0, ())
    return Candidate(source, "", analysis, index_code(()), (), frozenset(), merged(()), {})


def _existing_module(spec: ModuleSpec) -> types.ModuleType | None:
    """A module the host imported before hotreload started is rehomed, not imported twice."""
    module = sys.modules.get(spec.name)
    if module is not None and getattr(module, "__file__", None):
        if Path(module.__file__ or "").resolve() == spec.path.resolve():
            return module
    return None


def _import_parent(spec: ModuleSpec) -> None:
    parent = spec.name.rpartition(".")[0]
    if parent:
        importlib.import_module(parent)


def _new_module(spec: ModuleSpec) -> types.ModuleType:
    is_package = spec.path.name == "__init__.py"
    import_spec = importlib.util.spec_from_file_location(
        spec.name,
        spec.path,
        submodule_search_locations=[str(spec.path.parent)] if is_package else None,
    )
    if import_spec is None:
        raise ServerError(f"cannot import {spec.name!r} from {spec.path}")
    return importlib.util.module_from_spec(import_spec)


def _attach_to_parent(name: str, module: types.ModuleType) -> None:
    parent_name, _, child = name.rpartition(".")
    if parent_name and parent_name in sys.modules:
        setattr(sys.modules[parent_name], child, module)
