"""What a module must run again because another module it imports changed.

A fresh start runs every statement on the other module's new values. So after a module
changed, the statements of its importers that read what changed run again:

- `from M import x` (and `from M import *`) where M's `x` is now another object, or gone;
- `import M` then `DEADLINE = M.TIMEOUT * 2`: an attribute of M read at import;
- a statement that calls at import (or passes to what it computes) a function of M whose
  behaviour changed, though that function kept its identity (`X = compute()` after an edit of
  `M.compute`'s body);
- a statement that computes a value calling, by name, a method of M's classes whose code
  changed (`X = M.Helper().compute()`, `Y = MODEL.predict(1)` after an edit of `compute` or
  `predict`): which object a call reaches is not known from the source, so the name decides,
  as for the module's own classes. A false match only computes an equal value again.

Found from the importer's source: its import statements say which local names stand for M
and its attributes, each statement's scope what it reads and calls.
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Callable, Collection
from dataclasses import dataclass, field

from hotreload.engine.importorder import resolve_module
from hotreload.engine.plan import import_time_uses
from hotreload.engine.statements import Analysis, Statement


@dataclass
class Dependents:
    """The statements of one importer to run again, and the names a star import drops."""

    statements: set[int] = field(default_factory=set)
    gone: set[str] = field(default_factory=set)


def dependents(
    analysis: Analysis,
    package: str,
    module: str,
    *,
    replaced: Collection[str],
    public: Collection[str],
    altered: Callable[[str], bool],
    methods: Collection[str] = frozenset(),
) -> Dependents:
    """The statements of an importer (``analysis``, in ``package``) that read what changed in
    ``module``: ``replaced`` names bound to other objects (or gone), ``public`` the names a
    star import takes from it now, ``altered`` whether a name is a function whose behaviour
    changed, ``methods`` the names of its classes' methods whose code changed."""
    found = Dependents()
    aliases: dict[str, str] = {}  # local name -> the dotted module (or attribute) it stands for
    taken: dict[str, str] = {}  # local name -> the name of `module` it was imported as
    for index, statement in enumerate(analysis.statements):
        if not statement.imports.modules:
            continue
        for local, dotted in statement.imports.aliases:
            aliases[local] = dotted
            base, _, name = dotted.rpartition(".")
            if base == module:
                taken[local] = name
        for raw in statement.scope.star:
            if _star_base(raw, package) == module:
                found.statements.add(index)  # run it again only if it must (below)
                star = set(public) | set(replaced)
                taken |= {n: n for n in star if not analysis.binders(n)}
                found.gone |= {n for n in replaced if n not in public}
    runs = _statements_reading(analysis, module, aliases, taken, replaced, altered, methods)
    stars = {i for i in found.statements if analysis.statements[i].scope.star}
    if not (set(replaced) & set(taken.values())):
        found.statements -= stars  # nothing it brings changed
    found.statements |= runs
    return found


def _statements_reading(
    analysis: Analysis,
    module: str,
    aliases: dict[str, str],
    taken: dict[str, str],
    replaced: Collection[str],
    altered: Callable[[str], bool],
    methods: Collection[str],
) -> set[int]:
    replaced = set(replaced)
    methods = set(methods)
    runs: set[int] = set()
    for index, statement in enumerate(analysis.statements):
        scope = statement.scope
        if statement.imports.modules:
            # `from module import x` where x changed: the import itself runs again.
            names = {taken[n] for n in scope.binds if n in taken}
            if names & replaced:
                runs.add(index)
            continue
        uses = import_time_uses(statement)
        for name in scope.reads & taken.keys():
            if name in uses and altered(taken[name]):
                runs.add(index)
        for dotted in scope.attributes:
            attribute = _attribute_of(dotted, module, aliases)
            if attribute is None:
                continue
            called = dotted in scope.attribute_calls or bool(scope.binds)
            if attribute in replaced or (called and altered(attribute)):
                runs.add(index)
        if scope.binds and scope.methods & methods:
            runs.add(index)
    return runs


def _attribute_of(dotted: str, module: str, aliases: dict[str, str]) -> str | None:
    """The attribute of ``module`` that a dotted read (`cfg.TIMEOUT`, `pkg.cfg.X`) reaches."""
    root, _, rest = dotted.partition(".")
    base = aliases.get(root)
    if base is None or not rest:
        return None
    full = f"{base}.{rest}"
    if not full.startswith(module + "."):
        return None
    attribute = full[len(module) + 1 :].split(".")[0]
    if base.startswith(f"{module}.{attribute}."):
        # A name taken from inside a submodule (`from pkg.sub import X`; `X.Y` read): the
        # import system took it from the submodule, never from `pkg`'s attribute `sub`.
        return None
    return attribute


def _star_base(raw: str, package: str) -> str | None:
    """The module `from <raw> import *` names (``raw`` keeps its leading dots)."""
    module = raw.lstrip(".")
    return resolve_module(module or None, len(raw) - len(module), package)


def reader_of(
    analysis: Analysis, package: str, module: str, removed: Collection[str]
) -> tuple[Statement, str] | None:
    """The first statement of an importer that takes at import a name ``module`` no longer
    binds (`from module import gone`, `X = module.gone()`), and that name; else None."""
    removed = set(removed)
    aliases: dict[str, str] = {}
    for statement in analysis.statements:
        first = statement.text.split(None, 1)[0] if statement.text.strip() else ""
        guarded = first.rstrip(":") in _GUARDS
        for local, dotted in statement.imports.aliases:
            aliases[local] = dotted
            if guarded:
                continue  # `try: from m import x` / `except ImportError:` may well cope
            base, _, name = dotted.rpartition(".")
            if base == module and name in removed and not _is_module(dotted):
                return statement, name
        for dotted in () if guarded else statement.scope.attributes:
            attribute = _attribute_of(dotted, module, aliases)
            if attribute in removed:
                return statement, attribute
    return None


# Statements whose reads may not happen, or may be caught: not judged.
_GUARDS = frozenset({"try", "if", "while", "for", "with", "async", "match"})


def _is_module(dotted: str) -> bool:
    """`from pkg import sub` may name a submodule, which no statement of pkg binds."""
    return dotted in sys.modules


def missing_exports(analysis: Analysis) -> set[str]:
    """Names a literal `__all__` lists that no statement binds: `from module import *` fails
    on them (unless the module binds names the source does not show)."""
    binders = analysis.binders("__all__")
    if not binders or any(s.scope.dynamic or s.scope.star for s in analysis.statements):
        return set()
    node = analysis.node(binders[-1])
    value = node.value if isinstance(node, ast.Assign | ast.AnnAssign) else None
    if not isinstance(value, ast.List | ast.Tuple):
        return set()
    listed = {e.value for e in value.elts if isinstance(e, ast.Constant)}
    bound = {n for s in analysis.statements for n in s.scope.binds}
    return {
        n for n in listed if isinstance(n, str) and n not in bound and "__getattr__" not in bound
    }


def star_importer(analysis: Analysis, package: str, module: str) -> Statement | None:
    """The first statement that does `from module import *`, if any."""
    for statement in analysis.statements:
        if any(_star_base(raw, package) == module for raw in statement.scope.star):
            return statement
    return None


def read_while_partial(
    importer: Analysis, importer_name: str, module: str, analysis: Analysis, package: str
) -> tuple[Statement, str, Statement] | None:
    """An import cycle a fresh start would trip on: ``importer`` (whose import began before
    ``module``'s, so it is the one that imports ``module``) imports it at import before it binds
    some name, and ``module``'s version (``analysis``; ``package`` for its relative imports)
    takes that name from it at import: ``importer`` is then only partly initialised, and a
    fresh start raises ImportError (`from importer import X`) or AttributeError
    (`importer.X`). Returns the reading statement, the name, and ``importer``'s statement that
    imports ``module``; None when nothing is read too early."""
    statements = importer.statements
    first = next((i for i, s in enumerate(statements) if module in s.imports.modules), None)
    if first is None:
        return None
    bound = {n for s in statements[: first + 1] for n in s.scope.binds}
    later = {n for s in statements[first + 1 :] for n in s.scope.binds} - bound
    if not later:
        return None
    found = reader_of(analysis, package, importer_name, later)
    return None if found is None else (*found, statements[first])
