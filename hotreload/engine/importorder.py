"""A batch of changed modules in import order: each after the modules it imports.

Files saved together (an editor's "save all", a `git checkout`) can depend on each other: a
module may import a name that another file of the same batch only now defines. Applying them
in import order makes that work; modules that import each other (a cycle) are applied as one
group, in the order given, and one that still fails is tried again after the others.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable, Mapping, Sequence

from hotreload.records import record


@record
class Imports:
    """What a module imports while it runs: its top-level imports, also under `if`/`try`, not
    inside functions, and not under `if TYPE_CHECKING:`."""

    modules: frozenset[str]  # dotted names of every module it may import
    names: dict[str, frozenset[str]]  # `from M import a, b`: M -> {a, b}
    # The local names it binds, each with what it stands for: `import a.b as c` c -> "a.b",
    # `import a.b` a -> "a", `from M import x as y` y -> "M.x" (a module or an attribute).
    aliases: tuple[tuple[str, str], ...] = ()


def statement_imports(node: ast.stmt, package: str) -> Imports:
    """What one top-level statement imports while it runs (``package``: the module's package,
    for relative imports)."""
    modules: set[str] = set()
    names: dict[str, set[str]] = {}
    aliases: list[tuple[str, str]] = []
    for found in _import_time_nodes([node]):
        if isinstance(found, ast.Import):
            for alias in found.names:
                modules |= _prefixes(alias.name)
                if alias.asname:
                    aliases.append((alias.asname, alias.name))
                else:
                    root = alias.name.split(".")[0]
                    aliases.append((root, root))
        elif isinstance(found, ast.ImportFrom):
            base = resolve_module(found.module, found.level, package)
            if base is None:
                continue
            modules |= _prefixes(base)
            taken = {alias.name for alias in found.names if alias.name != "*"}
            modules |= {f"{base}.{n}" for n in taken}
            names.setdefault(base, set()).update(taken)
            aliases += [
                (alias.asname or alias.name, f"{base}.{alias.name}")
                for alias in found.names
                if alias.name != "*"
            ]
    return Imports(frozenset(modules), {m: frozenset(n) for m, n in names.items()}, tuple(aliases))


def merged(parts: Iterable[Imports]) -> Imports:
    """The imports of a module, from those of its statements."""
    modules: set[str] = set()
    names: dict[str, set[str]] = {}
    for part in parts:
        modules |= part.modules
        for module, taken in part.names.items():
            names.setdefault(module, set()).update(taken)
    return Imports(frozenset(modules), {m: frozenset(n) for m, n in names.items()})


def _import_time_nodes(body: list[ast.stmt]) -> list[ast.stmt]:
    nodes: list[ast.stmt] = []
    for node in body:
        if isinstance(node, ast.Import | ast.ImportFrom):
            nodes.append(node)
        elif isinstance(node, ast.If) and _is_type_checking(node.test):
            nodes.extend(_import_time_nodes(node.orelse))
        elif isinstance(node, ast.If | ast.Try | ast.With | ast.For | ast.While):
            for field in ("body", "orelse", "finalbody"):
                nodes.extend(_import_time_nodes(getattr(node, field, [])))
            for handler in getattr(node, "handlers", []):
                nodes.extend(_import_time_nodes(handler.body))
    return nodes


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _prefixes(dotted: str) -> set[str]:
    parts = dotted.split(".")
    return {".".join(parts[: i + 1]) for i in range(len(parts))}


def resolve_module(module: str | None, level: int, package: str) -> str | None:
    """The dotted name `from <level dots><module> import ...` imports, in ``package``."""
    if level == 0:
        return module
    parts = package.split(".") if package else []
    if level - 1 > len(parts):
        return None  # beyond the top-level package: the import itself fails
    base = parts[: len(parts) - (level - 1)]
    return ".".join(base + ([module] if module else [])) or None


def import_order(names: Sequence[str], imports: Mapping[str, frozenset[str]]) -> list[list[str]]:
    """Groups of modules, each group after the groups it imports; a group is a cycle (or one
    module). Among modules that do not depend on each other, the given order is kept."""
    position = {name: i for i, name in enumerate(names)}
    edges = {
        n: sorted((imports.get(n, frozenset()) & position.keys()) - {n}, key=position.__getitem__)
        for n in names
    }
    groups = _cycles(names, edges)
    group_of = {name: g for g, members in enumerate(groups) for name in members}
    needs = {
        g: {group_of[d] for n in members for d in edges[n]} - {g}
        for g, members in enumerate(groups)
    }
    ordered: list[list[str]] = []
    done: set[int] = set()
    while len(done) < len(groups):
        # The first group (in the given order) whose imports are all applied.
        ready = min(
            (g for g in range(len(groups)) if g not in done and needs[g] <= done),
            key=lambda g: min(position[n] for n in groups[g]),
        )
        done.add(ready)
        ordered.append(sorted(groups[ready], key=position.__getitem__))
    return ordered


def _cycles(names: Sequence[str], edges: Mapping[str, list[str]]) -> list[list[str]]:
    """Strongly connected components (Tarjan's algorithm, without recursion)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    groups: list[list[str]] = []
    for start in names:
        if start in index:
            continue
        work = [(start, 0)]
        while work:
            node, i = work.pop()
            if i == 0:
                index[node] = low[node] = len(index)
                stack.append(node)
                on_stack.add(node)
            targets = edges[node]
            if i < len(targets):
                work.append((node, i + 1))
                target = targets[i]
                if target not in index:
                    work.append((target, 0))
                elif target in on_stack:
                    low[node] = min(low[node], index[target])
                continue
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                group = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    group.append(member)
                    if member == node:
                        break
                groups.append(group)
    return groups
