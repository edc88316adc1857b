"""The package's layers (docs/architecture.md): no module imports a layer above its own, the
leaves import nothing of ours, and no imports go round in a circle.

Read from the source with `ast`, so a new module is held to the rules the day it is added.
Imports under `if TYPE_CHECKING:` are left out: they never run.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "hotreload"

# Bottom to top: a module may import its own layer and the layers below it.
LAYERS: list[tuple[str, tuple[str, ...]]] = [
    (
        "verdicts",
        ("errors", "verdicts", "saveverdicts", "words", "lookup", "digests", "records", "parsing"),
    ),
    ("contract", ("contract",)),
    ("engine", ("engine",)),
    (
        "models and process-facing leaves",
        (
            "manifest",
            "manifestcache",
            "manifesterrors",
            "manifesttypes",
            "freeze",
            "appscan",
            "init",
            "schema",
            "events",
            "output",
            "listeners",
            "watcher",
            "kernelwatch",
            "tracking",
        ),
    ),
    ("server", ("bindings", "checking", "reloading", "server", "process")),
    ("web", ("web",)),
    ("command line", ("cli", "__main__", "__init__")),
]
# Modules that import nothing of ours: each owns one concern that needs no other part. (They
# may define their records with `records.record`, which is the `dataclass` of the package.)
LEAVES = {
    "records",
    "errors",
    "verdicts",
    "words",
    "lookup",
    "digests",
    "parsing",
    "kernelwatch",
    "listeners",
    "tracking",
}


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" and len(parts) > 1 else parts)


def _layer_of(name: str) -> int:
    head = name.split(".")[0]
    for index, (_, members) in enumerate(LAYERS):
        if head in members:
            return index
    raise AssertionError(f"hotreload.{name} is in no layer: add it to LAYERS in {__file__}")


def _runtime_imports(tree: ast.Module) -> set[str]:
    """The hotreload modules a module imports when it runs (TYPE_CHECKING blocks left out)."""
    found: set[str] = set()

    def visit(nodes: list[ast.stmt]) -> None:
        for node in nodes:
            if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
                visit(node.orelse)
                continue
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                if node.module.startswith("hotreload."):
                    found.add(node.module.removeprefix("hotreload."))
            elif isinstance(node, ast.Import):
                found.update(
                    a.name.removeprefix("hotreload.")
                    for a in node.names
                    if a.name.startswith("hotreload.")
                )
            for child in ast.iter_child_nodes(node):
                if isinstance(child, ast.stmt):
                    visit([child])

    visit(tree.body)
    return found


GRAPH = {
    _module_name(path): _runtime_imports(ast.parse(path.read_text()))
    for path in sorted(PACKAGE.rglob("*.py"))
}


@pytest.mark.parametrize("module", sorted(GRAPH))
def test_imports_only_its_own_layer_and_below(module: str) -> None:
    """A part never imports a part above it: the engine knows nothing of events or the server,
    the contract nothing of the engine."""
    own = _layer_of(module)
    upward = {name for name in GRAPH[module] if _layer_of(name) > own}
    assert not upward, (
        f"hotreload.{module} ({LAYERS[own][0]}) imports a layer above it: {sorted(upward)}"
    )


@pytest.mark.parametrize("module", sorted(LEAVES))
def test_leaves_import_nothing_of_ours(module: str) -> None:
    imported = GRAPH[module] - {"records"}
    assert imported == set(), f"hotreload.{module} imports {sorted(imported)}"


def test_no_import_goes_round_in_a_circle() -> None:
    """Within a layer too: a circle would make import order matter and hide a missing split."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done

    def visit(name: str, path: list[str]) -> None:
        state[name] = 1
        for target in sorted(GRAPH.get(name, ())):
            target = target if target in GRAPH else target.rpartition(".")[0]
            if state.get(target) == 1:
                cycle = [*path[path.index(target) :], target] if target in path else [target]
                raise AssertionError("import circle: " + " -> ".join(cycle))
            if state.get(target) is None and target in GRAPH:
                visit(target, [*path, target])
        state[name] = 2

    for name in GRAPH:
        if name not in state:
            visit(name, [name])


def test_only_the_command_line_imports_the_web_layer() -> None:
    """The web extra is optional: nothing below the command line may need it."""
    users = {m for m, imports in GRAPH.items() if any(i.startswith("web") for i in imports)}
    assert users <= {"cli"} | {m for m in GRAPH if m.startswith("web")}, sorted(users)


# -- what importing costs ------------------------------------------------------------------------

HEAVY = ("pydantic", "asyncio", "structlog", "watchfiles", "tomlkit", "hotreload.server")


def _imported_after(code: str) -> list[str]:
    import subprocess
    import sys

    probe = f"{code}\nimport sys\nprint(' '.join(m for m in {HEAVY!r} if m in sys.modules))"
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, check=True
    )
    return done.stdout.split()


def test_importing_the_package_imports_none_of_its_parts() -> None:
    """`import hotreload` is a few milliseconds: each public name imports its part on first use."""
    assert _imported_after("import hotreload") == []


def test_every_public_name_resolves() -> None:
    import hotreload

    for name in hotreload.__all__:
        assert getattr(hotreload, name) is not None, name
    assert sorted(hotreload.__all__) == sorted([*hotreload._PUBLIC, "__version__"])
    assert set(hotreload.__all__) <= set(dir(hotreload))


def test_the_command_line_imports_a_command_s_parts_when_it_runs() -> None:
    """`--help` needs no models; nothing but freeze and init needs the TOML editor; the server
    needs no asyncio and no pydantic (events and the manifest's types are stdlib dataclasses)."""
    assert _imported_after("from hotreload.cli import build_parser; build_parser()") == []
    # On Linux the watcher reads the kernel's events: watchfiles is imported only as a fallback.
    assert _imported_after("import hotreload.server") == ["hotreload.server"]
