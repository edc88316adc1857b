"""Writing manifests: `freeze` records current signatures, `init_manifest` starts a new manifest."""

from __future__ import annotations

import os
import stat
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import tomli_w
import tomlkit
from tomlkit.container import OutOfOrderTableProxy
from tomlkit.items import InlineTable, Table, Whitespace

from .codes import DEFAULT_DEBOUNCE_MS
from .errors import ManifestError
from .manifest import LoadedManifest, load_manifest, manifest_json_schema, validate_manifest
from .schema import MANIFEST_SCHEMA, write_schema
from .signatures import Signature, functions_in_source, public_functions

SCHEMA_DIR = "schemas"  # beside the manifest, where `init` writes the schema the line names
SCHEMA_LINE = f"#:schema ./{SCHEMA_DIR}/{MANIFEST_SCHEMA}"

FreezeAction = Literal["added", "removed", "changed"]
_TableLike = Table | InlineTable | OutOfOrderTableProxy


@dataclass(frozen=True)
class FreezeChange:
    """One export that `freeze` wrote differently from what the manifest had."""

    module: str
    function: str
    action: FreezeAction
    old: str | None  # the manifest's signature text; None when added
    new: str | None  # str() of the source's signature; None when removed


def freeze(manifest_path: Path | str, modules: Sequence[str] | None = None) -> list[FreezeChange]:
    """Make each module's exports equal the public functions its source defines now.

    Sources are read with `ast`, never imported. Every module is read before the manifest is
    touched, so one broken module leaves the file as it was. Only the exports tables are edited,
    through tomlkit, so the user's comments and layout survive; nothing is written when nothing
    changed, which makes a second run a no-op.
    """
    loaded = load_manifest(manifest_path)
    names = _select_modules(loaded, modules)
    current = {name: _current_exports(loaded, name) for name in names}
    try:
        raw = loaded.path.read_bytes().decode("utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise ManifestError(f"cannot read {loaded.path} again to rewrite it: {e}") from e
    # tomlkit writes "\n" for the lines it adds; work in "\n" and restore the file's style after.
    newline = "\r\n" if "\r\n" in raw else "\n"
    text = raw.replace("\r\n", "\n")
    doc = tomlkit.parse(text)
    changes: list[FreezeChange] = []
    for name in names:
        frozen = loaded.manifest.modules[name].exports
        changes += _sync_module(doc, name, frozen, loaded.signatures(name), current[name])
    new_text = doc.as_string()
    if new_text != text:
        _write_atomic(loaded.path, new_text.replace("\n", newline).encode("utf-8"))
    return changes


def _select_modules(loaded: LoadedManifest, requested: Sequence[str] | None) -> list[str]:
    """The modules to freeze, in manifest order; a typo fails before anything is read."""
    known = list(loaded.manifest.modules)
    if requested is None:
        return known
    unknown = [name for name in requested if name not in known]
    if unknown:
        listed = ", ".join(known) or "(none)"
        raise ManifestError(
            f"module {', '.join(map(repr, unknown))} is not in {loaded.path}; "
            f"known modules: {listed}. Add it under [modules] or run `hotreload init`."
        )
    return [name for name in known if name in requested]


def _current_exports(loaded: LoadedManifest, name: str) -> dict[str, Signature]:
    """Public top-level functions of a module's source, in source order, without running it."""
    path = loaded.module_path(name)  # its error already lists the paths it tried
    try:
        source = path.read_bytes()
    except OSError as e:
        raise ManifestError(f"cannot read module {name!r} at {path}: {e.strerror or e}") from e
    try:
        found = functions_in_source(source, filename=str(path))
    except SyntaxError as e:
        raise ManifestError(
            f"{path}:{e.lineno}:{e.offset}: module {name!r} has a syntax error ({e.msg}); "
            "fix it and run freeze again"
        ) from e
    except ValueError as e:  # Python 3.11 raises ValueError for NUL bytes in source
        raise ManifestError(f"{path}: module {name!r} cannot be parsed: {e}") from e
    ordered = sorted(public_functions(found).values(), key=lambda function: function.line)
    return {function.name: function.signature for function in ordered}


def _sync_module(
    doc: tomlkit.TOMLDocument,
    name: str,
    frozen_text: Mapping[str, str],
    frozen: Mapping[str, Signature],
    current: Mapping[str, Signature],
) -> list[FreezeChange]:
    """Edit one module's exports in place and report what differed."""
    module = _as_table(_as_table(doc["modules"])[name])
    changes: list[FreezeChange] = []
    for function, old in frozen_text.items():
        if function not in current:
            changes.append(FreezeChange(name, function, "removed", old, None))
        # A spelling that parses to the same signature (spacing, say) is the user's to keep.
        elif old != str(current[function]) and frozen.get(function) != current[function]:
            changes.append(FreezeChange(name, function, "changed", old, str(current[function])))
    for function, signature in current.items():
        if function not in frozen_text:
            changes.append(FreezeChange(name, function, "added", None, str(signature)))

    if "exports" not in module:
        _add_exports(module, {function: str(sig) for function, sig in current.items()})
        return changes
    if not changes:
        return changes
    exports = _as_table(module["exports"])
    if isinstance(exports, InlineTable):
        wanted = {function: str(signature) for function, signature in current.items()}
        ordered = {f: wanted[f] for f in frozen_text if f in wanted} | wanted
        module["exports"] = _inline(ordered, padded=exports.as_string().startswith("{ "))
        return changes
    for change in changes:
        if change.action == "removed":
            del exports[change.function]
        else:  # assigning an existing key keeps its place and its trailing comment
            exports[change.function] = change.new
    return changes


def _add_exports(module: _TableLike, exports: Mapping[str, str]) -> None:
    """Give a module its first exports table, right below the module's own keys."""
    if isinstance(module, InlineTable):
        module["exports"] = _inline(exports, padded=module.as_string().startswith("{ "))
        return
    table = tomlkit.table()
    table.update(exports)
    if isinstance(module, Table):
        # The blank lines that separated the module from the next table now belong after the
        # new one; left in place they would sit above it and glue it to what follows.
        body = module.value.body
        trailing: list[Whitespace] = []
        while body and body[-1][0] is None and isinstance(last := body[-1][1], Whitespace):
            body.pop()
            trailing.insert(0, last)
        for whitespace in trailing:
            table.add(whitespace)
    module["exports"] = table


def _inline(exports: Mapping[str, str], *, padded: bool) -> InlineTable:
    """An inline table in the user's spacing style; tomlkit's own edits leave stray spaces."""
    body = ", ".join(
        f"{tomlkit.key(function).as_string()} = {tomlkit.string(text).as_string()}"
        for function, text in exports.items()
    )
    value = tomlkit.value(f"{{ {body} }}" if padded and body else f"{{{body}}}")
    if not isinstance(value, InlineTable):  # pragma: no cover - the text above is an inline table
        raise TypeError(f"expected an inline table, got {type(value).__name__}")
    return value


def _as_table(value: object) -> _TableLike:
    """Narrow a tomlkit value; load_manifest has already checked that these are tables."""
    if isinstance(value, Table | InlineTable | OutOfOrderTableProxy):
        return value
    raise ManifestError(f"expected a TOML table, found {type(value).__name__}")


def _write_atomic(path: Path, data: bytes) -> None:
    """Replace a file in one step, so a crash or a watcher never sees half a manifest."""
    target = path.resolve()  # write through a symlink instead of replacing it
    mode = stat.S_IMODE(target.stat().st_mode)
    fd, tmp_name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp_name, mode)  # mkstemp creates 0600; keep the user's permissions
        os.replace(tmp_name, target)
    except OSError as e:
        Path(tmp_name).unlink(missing_ok=True)
        raise ManifestError(f"cannot write {path}: {e.strerror or e}") from e


def init_manifest(
    path: Path | str,
    modules: Sequence[str],
    *,
    root: Path | str | None = None,
    force: bool = False,
    schema: bool = True,
) -> str:
    """Write a new manifest exporting every public function of `modules`; return its text.

    The result loads with `load_manifest`, and `freeze` on it reports nothing to change, because
    both read the same source the same way. An existing file is kept unless `force` is set.
    With ``schema``, the manifest's JSON Schema is written (or refreshed) in ``schemas/`` beside
    it, and the manifest's first line points editors at it: a `#:schema` line is only written
    when the file it names exists.
    """
    path = Path(path).absolute()
    if path.exists() and not force:
        raise _exists_error(path)
    if not modules:
        raise ManifestError("name at least one module, e.g. `hotreload init calculator`")
    manifest_dir = path.parent.resolve()
    root_dir = Path(root).resolve() if root is not None else manifest_dir
    names = list(dict.fromkeys(modules))
    module_tables: dict[str, dict[str, Any]] = {n: {"keep": [], "exports": {}} for n in names}
    data: dict[str, Any] = {
        "project": {
            "name": manifest_dir.name or "project",
            "root": Path(os.path.relpath(root_dir, manifest_dir)).as_posix(),
            "default_env": "development",
        },
        "modules": module_tables,
        "env": {
            "development": {
                "reload": True,
                "debounce_ms": DEFAULT_DEBOUNCE_MS,
                "log_format": "console",
            },
            "production": {"reload": False, "log_format": "json"},
        },
    }
    # Validating before reading any source rejects a bad module name before it becomes a path.
    loaded = LoadedManifest(validate_manifest(data, source=str(path)), path, root_dir)
    for name in names:
        current = _current_exports(loaded, name)
        module_tables[name]["exports"] = {f: str(sig) for f, sig in current.items()}
    validate_manifest(data, source=str(path))
    text = _render(data, schema_line=schema)
    if schema:
        _write_schema_beside(path)

    encoded = text.encode("utf-8")
    if force and path.exists():
        _write_atomic(path, encoded)
        return text
    try:
        with path.open("xb") as f:  # "x": another process creating the file is not overwritten
            f.write(encoded)
    except FileExistsError as e:
        raise _exists_error(path) from e
    except OSError as e:
        raise ManifestError(f"cannot write {path}: {e.strerror or e}") from e
    return text


def _exists_error(path: Path) -> ManifestError:
    """One wording for both the early check and the race the "x" open catches."""
    return ManifestError(f"{path} already exists; pass --force to overwrite it")


def _write_schema_beside(manifest: Path) -> None:
    """The schema the `#:schema` line names, so an editor finds what it points at."""
    target = manifest.parent / SCHEMA_DIR / MANIFEST_SCHEMA
    try:
        write_schema(target, manifest_json_schema())
    except OSError as e:
        raise ManifestError(
            f"cannot write {target}: {e.strerror or e}; "
            "pass --no-schema to write the manifest without it"
        ) from e


def _render(data: Mapping[str, Any], *, schema_line: bool) -> str:
    """tomli-w writes the tables; the comments around them are for the person who opens the file."""
    header = (f"{SCHEMA_LINE}\n" if schema_line else "") + (
        "# hotreload manifest: the modules a host calls and the frozen signatures of their\n"
        "# exports. `hotreload freeze` records the signatures the source has now.\n"
    )
    sections = [
        ("", {"project": data["project"]}),
        (
            "# keep: module globals whose values survive a reload.\n"
            "# exports: the contract; a reload that changes one of these signatures is rejected.\n",
            {"modules": data["modules"]},
        ),
        (
            "# Profiles: --env picks one, else HOTRELOAD_ENV, else project.default_env.\n",
            {"env": data["env"]},
        ),
    ]
    body = "\n".join(
        comment + tomli_w.dumps(table).rstrip("\n") + "\n" for comment, table in sections
    )
    return f"{header}\n{body}"
