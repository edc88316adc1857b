"""Finding a project's app in its source, read with `ast` and never imported: what `hotreload
init` writes under ``[app]`` (an ASGI or WSGI app object, a factory that builds one, or a
``main`` function to call), and why it chose it.

Only forms a person would point at are taken: a module-level ``app = FastAPI(...)`` (or
Starlette, Flask), also when a local factory builds it (``app = create_app()``); a module-level
factory ``def create_app()`` that builds one; a module-level ``def main()`` (no parameter, or
only ``server``). Tests, virtual environments, hidden and build folders, and modules named
like the standard library's are not looked at.
"""

from __future__ import annotations

import ast
import os
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from hotreload.parsing import parse
from hotreload.tracking import EXCLUDED_FOLDERS
from hotreload.words import article

AppKey = Literal["asgi", "wsgi", "entry"]

# Qualified name of the class -> how it is served, and the name a person knows it by.
APP_CLASSES: dict[str, tuple[AppKey, str]] = {
    "fastapi.FastAPI": ("asgi", "FastAPI"),
    "fastapi.applications.FastAPI": ("asgi", "FastAPI"),
    "starlette.applications.Starlette": ("asgi", "Starlette"),
    "flask.Flask": ("wsgi", "Flask"),
    "flask.app.Flask": ("wsgi", "Flask"),
}
# Bytes one of which a file must hold to be parsed at all: most files of a project hold none.
_HINTS = (b"FastAPI", b"Starlette", b"Flask", b"def main")
_SKIPPED_FOLDERS = EXCLUDED_FOLDERS | {"tests", "test", "testing", "docs"}
_PREFERRED_NAMES = ("main", "app", "asgi", "wsgi", "server", "api", "application")
_STDLIB = sys.stdlib_module_names
# A project bigger than this is looked at in part, and init says so.
MAX_FILES = 5000
MAX_ENTRIES = 200_000
MAX_FILE_BYTES = 1024 * 1024


@dataclass(frozen=True)
class FoundApp:
    """One thing `hotreload up` could run: how (``key``), what (``target``), and where."""

    key: AppKey
    target: str  # "module:attribute"
    factory: bool
    path: Path
    line: int
    what: str  # for a person: "the FastAPI app", "create_app(), which builds a Flask app"

    def where(self, root: Path) -> str:
        """``main.py:12``: the file relative to the project root, and the line."""
        try:
            shown = self.path.relative_to(root).as_posix()
        except ValueError:
            shown = str(self.path)
        return f"{shown}:{self.line}"

    def setting(self) -> str:
        """The [app] lines, as the manifest will hold them: ``asgi = "main:app"``."""
        return f'{self.key} = "{self.target}"' + (", factory = true" if self.factory else "")

    def rank(self) -> tuple[int, int, int, str, int]:
        """Best first: an app object, then a factory, then an entry; then the shallowest
        module, one with a usual name (main, app, ...), and the alphabet."""
        kind = 2 if self.key == "entry" else 1 if self.factory else 0
        module = self.target.partition(":")[0]
        last = module.rpartition(".")[2]
        usual = 0 if last in _PREFERRED_NAMES else 1
        return kind, module.count("."), usual, module, self.line


@dataclass(frozen=True)
class Scan:
    """What a look at the project found: every candidate, best first, and whether it stopped
    early (more than `MAX_FILES` files)."""

    found: list[FoundApp]
    truncated: bool

    @property
    def chosen(self) -> FoundApp | None:
        return self.found[0] if self.found else None


def find_apps(root: Path) -> Scan:
    """Every app, factory and entry under ``root``, best first."""
    found: list[FoundApp] = []
    budget = _Budget()
    for path, module in _project_modules(root, budget):
        found += apps_in_file(path, module)
    return Scan(sorted(found, key=FoundApp.rank), truncated=budget.spent)


class _Budget:
    """How much of a big tree is looked at: `MAX_FILES` Python files, `MAX_ENTRIES` names."""

    def __init__(self) -> None:
        self.files = 0
        self.entries = 0

    @property
    def spent(self) -> bool:
        return self.files >= MAX_FILES or self.entries >= MAX_ENTRIES


def apps_in_file(path: Path, module: str) -> list[FoundApp]:
    """The candidates one module defines; none if it cannot be read or parsed."""
    try:
        if path.stat().st_size > MAX_FILE_BYTES:
            return []
        source = path.read_bytes()
    except OSError:
        return []
    if not any(hint in source for hint in _HINTS):
        return []
    try:
        tree = parse(source, filename=str(path))
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return []  # init names the modules it reads; a broken file elsewhere is not its concern
    return apps_in_tree(tree, module, path)


def apps_in_tree(tree: ast.Module, module: str, path: Path) -> list[FoundApp]:
    """App objects, factories and a ``main`` entry defined at the top of one module."""
    imports = _import_table(tree)
    factories = {
        node.name: (built, node.lineno)
        for node in tree.body
        if isinstance(node, ast.FunctionDef)
        and _takes_no_arguments(node.args)
        and (built := _builds_app(node, imports)) is not None
    }
    found: list[FoundApp] = []
    for node in tree.body:
        name, value = _assigned(node)
        if name is None or not isinstance(value, ast.Call):
            continue
        built = APP_CLASSES.get(_qualified(value.func, imports) or "")
        if built is not None:
            what = f"the {built[1]} app"
        elif isinstance(value.func, ast.Name) and value.func.id in factories:
            built = factories[value.func.id][0]
            what = f"the {built[1]} app that {value.func.id}() builds"
        else:
            continue
        found.append(FoundApp(built[0], f"{module}:{name}", False, path, node.lineno, what))
    for name, ((key, framework), line) in factories.items():
        what = f"{name}(), which builds {article(framework)} app"
        found.append(FoundApp(key, f"{module}:{name}", True, path, line, what))
    for node in tree.body:
        if isinstance(node, ast.FunctionDef) and node.name == "main" and _entry_shaped(node.args):
            what = "main(), a function to call"
            found.append(FoundApp("entry", f"{module}:main", False, path, node.lineno, what))
    return found


def _project_modules(root: Path, budget: _Budget) -> Iterator[tuple[Path, str]]:
    """Every Python file of the project with the dotted name it imports as, in a stable order;
    folders that hold no project code (virtual environments, tests, hidden ones) skipped."""
    for folder, subfolders, names in os.walk(root):
        budget.entries += len(subfolders) + len(names)
        if budget.spent:
            return
        here = Path(folder)
        subfolders[:] = sorted(
            d
            for d in subfolders
            if not d.startswith(".")
            and d not in _SKIPPED_FOLDERS
            and not (here / d / "pyvenv.cfg").exists()
            and d.isidentifier()
        )
        for name in sorted(names):
            if not name.endswith(".py") or _is_test_file(name):
                continue
            parts = (*here.relative_to(root).parts, name.removesuffix(".py"))
            if parts[-1] == "__init__":
                parts = parts[:-1]
            # A module named like one of the standard library's is shadowed by it (or shadows
            # it): `import` would not find the app there.
            if parts and all(p.isidentifier() for p in parts) and parts[0] not in _STDLIB:
                budget.files += 1
                yield here / name, ".".join(parts)
                if budget.spent:
                    return


def _is_test_file(name: str) -> bool:
    return name.startswith("test_") or name.endswith("_test.py") or name == "conftest.py"


def _import_table(tree: ast.Module) -> dict[str, str]:
    """Local name -> what it names, from the module's top-level imports:
    ``from fastapi import FastAPI as F`` gives ``F -> fastapi.FastAPI``."""
    table: dict[str, str] = {}
    for node in tree.body:
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.asname is not None:
                    table[alias.asname] = alias.name
                else:
                    first = alias.name.partition(".")[0]
                    table[first] = first
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            for alias in node.names:
                table[alias.asname or alias.name] = f"{node.module}.{alias.name}"
    return table


def _qualified(node: ast.expr, imports: dict[str, str]) -> str | None:
    """What a called name refers to through the imports: ``fastapi.FastAPI``."""
    if isinstance(node, ast.Name):
        return imports.get(node.id)
    if isinstance(node, ast.Attribute):
        base = _qualified(node.value, imports)
        return None if base is None else f"{base}.{node.attr}"
    return None


def _builds_app(function: ast.FunctionDef, imports: dict[str, str]) -> tuple[AppKey, str] | None:
    """What app a factory builds: a class of APP_CLASSES called in its body (or named as its
    return annotation), and a `return` of a value."""
    if not any(isinstance(n, ast.Return) and n.value is not None for n in ast.walk(function)):
        return None
    if function.returns is not None:
        named = APP_CLASSES.get(_qualified(function.returns, imports) or "")
        if named is not None:
            return named
    for node in ast.walk(function):
        if isinstance(node, ast.Call):
            built = APP_CLASSES.get(_qualified(node.func, imports) or "")
            if built is not None:
                return built
    return None


def _assigned(node: ast.stmt) -> tuple[str | None, ast.expr | None]:
    """``name = value`` or ``name: T = value`` at the top of a module: the name and value."""
    if isinstance(node, ast.Assign) and len(node.targets) == 1:
        target = node.targets[0]
        if isinstance(target, ast.Name):
            return target.id, node.value
    if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
        return node.target.id, node.value
    return None, None


def _takes_no_arguments(args: ast.arguments) -> bool:
    """Whether a call with no arguments binds every parameter (uvicorn calls a factory so)."""
    required = len(args.posonlyargs) + len(args.args) - len(args.defaults)
    return required == 0 and all(d is not None for d in args.kw_defaults)


def _entry_shaped(args: ast.arguments) -> bool:
    """``main()`` or ``main(server)``: how `hotreload up` calls an entry. A ``main(argv)``
    would be handed the server, so it is not taken."""
    if not _takes_no_arguments(args) and [a.arg for a in args.args] != ["server"]:
        return False
    positional = [*args.posonlyargs, *args.args]
    return not positional or [a.arg for a in positional] == ["server"]
