"""`hotreload init`: a first manifest for a project, from its source read with `ast` (none of
it runs): the app `hotreload up` serves or runs, the modules named with the functions a host
calls and the types those take, the profiles, and the manifest's JSON Schema beside it."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import tomli_w

from hotreload.appscan import FoundApp, Scan, find_apps
from hotreload.errors import ManifestError
from hotreload.freeze import Current, read_project, write_atomic
from hotreload.manifest import (
    find_module_file,
    is_module_name,
    manifest_json_schema,
    validate_manifest,
)
from hotreload.schema import MANIFEST_SCHEMA, write_schema
from hotreload.words import DEFAULT_DEBOUNCE_MS

# Beside the manifest, under a name no Python package can have (a dotted file name): a folder
# such as `schemas/` can be, and often is, a package of the user's own.
SCHEMA_FILE = MANIFEST_SCHEMA
SCHEMA_LINE = f"#:schema ./{SCHEMA_FILE}"
_NEW = "the new manifest"  # how errors name a manifest that does not exist yet


@dataclass(frozen=True)
class Initialized:
    """What `init_manifest` wrote and chose, for the person who ran it."""

    text: str
    path: Path
    root: Path
    schema: Path | None
    scan: Scan
    modules: dict[str, Current] = field(default_factory=dict)
    taken_as: dict[str, str] = field(default_factory=dict)  # a path given -> the module name
    src_layout: bool = False  # the app was found in src/, which became project.root

    @property
    def app(self) -> FoundApp | None:
        return self.scan.chosen

    def report(self) -> list[str]:
        """What was chosen and why, a line each: the app, the modules, what was left out."""
        lines = [f"{given}: taken as module {name}" for given, name in self.taken_as.items()]
        if self.src_layout:
            lines.append('project.root = "src": the app is in src/, where module names start')
        lines += self._app_lines()
        for name, current in self.modules.items():
            exports = ", ".join(current.exports) or "none"
            types = f"; types {', '.join(current.types)}" if current.types else ""
            lines.append(f"{name}: exports {exports}{types}")
            if current.left_out:
                called = ", ".join(f"{n} ({why})" for n, why in current.left_out.items())
                lines.append(
                    f"{name}: left out of the exports, as the framework calls them, not a "
                    f"host: {called}"
                )
        if not self.modules:
            lines.append(
                "no [modules]: no contract; every project module the process imports reloads "
                "(`hotreload init --force MODULE` freezes the functions a host calls)"
            )
        return lines

    def _app_lines(self) -> list[str]:
        chosen = self.app
        if chosen is None:
            where = self.root
            lines = [
                f"[app]: none found under {where} (looked for a module-level FastAPI(), "
                "Starlette() or Flask() app, a factory of one, or a main()); for `hotreload up` "
                "to run your app, add [app] with entry, asgi or wsgi"
            ]
            if (where / "src").is_dir() and not (where / "src" / "__init__.py").exists():
                lines.append("your code may live in src/: run `hotreload init --root src`")
            if self.scan.truncated:
                lines.append("the project has too many files: only part of it was looked at")
            return lines
        lines = [f"[app] {chosen.setting()}: {chosen.what} at {chosen.where(self.root)}"]
        for other in self.scan.found[1:4]:
            lines.append(
                f"  also found {other.setting()}: {other.what} at {other.where(self.root)}"
            )
        if len(self.scan.found) > 4:
            lines.append(f"  and {len(self.scan.found) - 4} more; edit [app] to run another")
        elif len(self.scan.found) > 1:
            lines.append("  edit [app] to run another")
        return lines


def init_manifest(
    path: Path | str,
    modules: Sequence[str] = (),
    *,
    root: Path | str | None = None,
    force: bool = False,
    schema: bool = True,
    cwd: Path | None = None,
) -> Initialized:
    """Write a new manifest: the app found under root, and for each of ``modules`` the public
    functions a host calls (a framework's routes and dependency providers left out) with the
    types they reach; none named, no [modules], so every imported module reloads freely.

    A module may be given as a file path (``myapp/pricing.py``, relative to ``cwd``): it is
    taken as the module it names. The result loads with `load_manifest`, and `freeze` on it
    changes nothing, as both read the sources the same way. An existing file is kept unless
    ``force``. With ``schema``, the manifest's JSON Schema is written beside it and the first
    line points editors at it (only ever at a file that exists).
    """
    path = Path(path).absolute()
    if path.exists() and not force:
        raise _exists_error(path)
    manifest_dir = path.parent.resolve()
    root_dir = Path(root).resolve() if root is not None else manifest_dir
    if not root_dir.is_dir():
        raise ManifestError(f"--root {root}: not a directory (looked at {root_dir})")
    here = (cwd or Path.cwd()).resolve()
    taken_as: dict[str, str] = {}
    names: list[str] = []
    for given in modules:
        name = module_name(given, root_dir, here)
        if name != given:
            taken_as[given] = name
        if name not in names:
            names.append(name)
    current = read_project(
        {name: _module_file(root_dir, name) for name in names},
        exported={name: () for name in names},
    )
    scan = find_apps(root_dir)
    src_layout = root is None and not names and _in_src_layout(scan.chosen, manifest_dir)
    if src_layout:  # module names start in src/, where the app's own imports resolve
        root_dir = manifest_dir / "src"
        scan = find_apps(root_dir)
    data = _manifest_data(manifest_dir, root_dir, current, scan.chosen)
    validate_manifest(data, source=_NEW)  # what init writes must load: a bug otherwise
    text = _render(data, schema_line=schema)
    schema_path = _write_schema_beside(path) if schema else None
    encoded = text.encode("utf-8")
    if force and path.exists():
        write_atomic(path, encoded)
    else:
        try:
            with path.open("xb") as f:  # "x": another process creating it is not overwritten
                f.write(encoded)
        except FileExistsError as e:
            raise _exists_error(path) from e
        except OSError as e:
            raise ManifestError(f"cannot write {path}: {e.strerror or e}") from e
    return Initialized(text, path, root_dir, schema_path, scan, current, taken_as, src_layout)


def module_name(given: str, root: Path, cwd: Path) -> str:
    """The dotted module name an argument of `init` names: itself, or, for a file path
    (``myapp/pricing.py``, ``myapp/``), the module that file is under ``root``."""
    is_path = given.endswith(".py") or "/" in given or os.sep in given
    if not is_path:
        if not is_module_name(given):
            raise ManifestError(
                f"{given!r} is not a module name: name it as Python imports it, e.g. "
                "`hotreload init myapp.pricing`, or give its file, `myapp/pricing.py`"
            )
        return given
    # Relative to where the command runs, as a shell completes it; else to the root.
    tried = [(place / given).resolve() for place in dict.fromkeys((cwd, root))]
    tried = [f / "__init__.py" if f.is_dir() else f for f in tried]
    file = next((f for f in tried if f.is_file()), None)
    if file is None:
        guess = _dotted_guess(given)
        looked = ", ".join(map(str, tried))
        if guess is not None and _module_exists(root, guess):
            raise ManifestError(
                f"{given}: no such file (looked at {looked}); the module `{guess}` exists: "
                f"`hotreload init {guess}`"
            )
        raise ManifestError(
            f"{given}: no such file (looked at {looked}); give a module's file, or its name as "
            "Python imports it (`hotreload init pkg.module`)"
        )
    if not file.is_relative_to(root):
        raise ManifestError(
            f"{given} is not under the project root {root}: run `hotreload init` from the "
            "directory module names start at, or pass --root DIR"
        )
    parts = list(file.relative_to(root).with_suffix("").parts)
    if parts and parts[-1] == "__init__":
        parts.pop()
    name = ".".join(parts)
    if not parts or not is_module_name(name):
        bad = next((p for p in parts if not is_module_name(p)), given)
        raise ManifestError(
            f"{given} cannot be imported as a module: {bad!r} is not a Python identifier "
            f"(seen from {root}); rename it, or pass --root DIR where module names start"
        )
    return name


def _dotted_guess(given: str) -> str | None:
    """``myapp/pricing.py`` -> ``myapp.pricing``, if that is a module name at all."""
    text = given.replace(os.sep, "/").removeprefix("./").removesuffix(".py").strip("/")
    text = text.removesuffix("/__init__").replace("/", ".")
    return text if text and is_module_name(text) else None


def _in_src_layout(app: FoundApp | None, manifest_dir: Path) -> bool:
    """Whether the app was found in a `src/` folder that is no package (a "src layout"): its
    modules import each other from there (`from myapp import db`), not as `src.myapp`."""
    return (
        app is not None
        and app.target.startswith("src.")
        and not (manifest_dir / "src" / "__init__.py").exists()
    )


def _module_exists(root: Path, name: str) -> bool:
    try:
        find_module_file(root, name)
    except ManifestError:
        return False
    return True


def _module_file(root: Path, name: str) -> Path:
    """The module's file under root; not found, the error says where else it might be."""
    try:
        return find_module_file(root, name, hint="check the name, or pass --root DIR")
    except ManifestError as e:
        src = root / "src"
        if (src / name.replace(".", "/")).with_suffix(".py").is_file() or (
            src / name.replace(".", "/") / "__init__.py"
        ).is_file():
            raise ManifestError(f"{e}; it is under src/: pass --root src") from None
        raise


def _manifest_data(
    manifest_dir: Path,
    root_dir: Path,
    current: Mapping[str, Current],
    app: FoundApp | None,
) -> dict[str, Any]:
    """The manifest's tables, in the order they are written."""
    data: dict[str, Any] = {
        "project": {
            "name": manifest_dir.name or "project",
            "root": Path(os.path.relpath(root_dir, manifest_dir)).as_posix(),
            "default_env": "development",
        }
    }
    if app is not None:
        data["app"] = {app.key: app.target} | ({"factory": True} if app.factory else {})
    if current:
        data["modules"] = {
            name: {"keep": [], "exports": {f: str(s) for f, s in found.exports.items()}}
            | (
                {"types": {t: shape.as_manifest() for t, shape in found.types.items()}}
                if found.types
                else {}
            )
            for name, found in current.items()
        }
    data["env"] = {
        "development": {
            "reload": True,
            "debounce_ms": DEFAULT_DEBOUNCE_MS,
            "log_format": "console",
        },
        "production": {"reload": False, "log_format": "json"},
    }
    return data


def _exists_error(path: Path) -> ManifestError:
    """One wording for both the early check and the race the "x" open catches."""
    return ManifestError(f"{path} already exists; pass --force to overwrite it")


def _write_schema_beside(manifest: Path) -> Path:
    """The schema the `#:schema` line names, so an editor finds what it points at."""
    target = manifest.parent / SCHEMA_FILE
    try:
        write_schema(target, manifest_json_schema())
    except OSError as e:
        raise ManifestError(
            f"cannot write {target}: {e.strerror or e}; "
            "pass --no-schema to write the manifest without it"
        ) from e
    return target


_COMMENTS = {
    "project": "",
    "app": "# What `hotreload up` runs: asgi / wsgi (an app it serves) or entry (a function).\n",
    "modules": (
        "# The modules a host calls, with their contract. keep: module globals whose values\n"
        "# survive a reload. exports: a reload that changes one of these signatures is\n"
        "# rejected. types: the classes the exports take or return, frozen too.\n"
    ),
    "env": "# Profiles: --env picks one, else HOTRELOAD_ENV, else project.default_env.\n",
}


def _render(data: Mapping[str, Any], *, schema_line: bool) -> str:
    """tomli-w writes the tables; the comments around them are for the person who opens it."""
    if "modules" in data:
        about = (
            "# hotreload manifest: the modules a host calls and the frozen signatures of their\n"
            "# exports. `hotreload freeze` records the signatures the source has now.\n"
        )
    else:
        about = (
            "# hotreload manifest. No [modules]: no contract, and every project module the\n"
            "# process imports reloads when saved.\n"
        )
    header = (f"{SCHEMA_LINE}\n" if schema_line else "") + about
    body = "\n".join(
        _COMMENTS[key] + tomli_w.dumps({key: table}).rstrip("\n") + "\n"
        for key, table in data.items()
    )
    return f"{header}\n{body}"
