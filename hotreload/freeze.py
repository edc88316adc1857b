"""`freeze`: the exports and types of a manifest made equal to what the sources define now,
edited in place so the user's comments and layout survive."""

from __future__ import annotations

import ast
import json
import os
import stat
import tempfile
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Literal

import tomlkit
from tomlkit.container import OutOfOrderTableProxy
from tomlkit.items import InlineTable, Table, Whitespace

from hotreload.contract.crossmodule import ModuleSource, reached_across
from hotreload.contract.framework import framework_called
from hotreload.contract.signatures import (
    Signature,
    functions_in_tree,
    parse_signature,
    public_functions,
)
from hotreload.contract.typeshapes import TypeShape, parse_field
from hotreload.errors import ManifestError
from hotreload.manifest import (
    LoadedManifest,
    TypeConfig,
    load_manifest,
)
from hotreload.parsing import parse

FreezeAction = Literal["added", "removed", "changed"]
_TableLike = Table | InlineTable | OutOfOrderTableProxy


@dataclass(frozen=True)
class FreezeChange:
    """One export, or one entry of a frozen type, that `freeze` wrote differently.

    ``function`` is the export's name, or for a type the key path under the module:
    ``types.Counter.methods.inc``, ``types.Item.fields``, ``types.Color.members``, ``types.Total``.
    """

    module: str
    function: str
    action: FreezeAction
    old: str | None  # the manifest's text; None when added
    new: str | None  # the source's text; None when removed


@dataclass(frozen=True)
class Current:
    """What a module's source defines now: the public functions and the types they reach, and
    the public functions left out because a framework calls them (name -> how the source says
    so)."""

    exports: dict[str, Signature]
    types: dict[str, TypeShape]
    left_out: dict[str, str]
    # Whether exports of the modules `read_project` was asked for reach any of its types.
    reached: bool = True


def freeze(manifest_path: Path | str, modules: Sequence[str] | None = None) -> list[FreezeChange]:
    """Make each module's exports equal the public functions its source defines now, and its
    types the classes those take and return (and the classes those name, transitively).

    Sources are read with `ast`, never imported. Every module is read before the manifest is
    touched, so one broken module leaves the file as it was. Only the exports and types tables
    are edited, through tomlkit, so the user's comments and layout survive; nothing is written
    when nothing changed, which makes a second run a no-op.
    """
    loaded = load_manifest(manifest_path)
    names = _select_modules(loaded, modules)
    selected = set(names)
    every = loaded.manifest.modules
    current = read_project(
        {name: loaded.module_path(name) for name in every},
        exported={name: config.exports for name, config in every.items()},
        required=names,
    )
    # A type the named modules' exports take from another manifest module is frozen there:
    # that module's types are written too (all of them, as every export reaches them).
    names += [
        name for name in every if name not in names and name in current and current[name].reached
    ]
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
        config = loaded.manifest.modules[name]
        module = _as_table(_as_table(doc["modules"])[name])
        if name in selected:
            changes += _sync_exports(
                module, name, config.exports, loaded.signatures(name), current[name].exports
            )
        changes += _sync_types(module, name, config.types, loaded.types(name), current[name].types)
    new_text = doc.as_string()
    if new_text != text:
        write_atomic(loaded.path, new_text.replace("\n", newline).encode("utf-8"))
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


def read_current(name: str, path: Path, *, exported: Collection[str] = ()) -> Current:
    """Public top-level functions of a module's source in source order, and the types they
    reach, without running it.

    A function a web framework calls (a route, a hook, a dependency provider) is no export,
    as a host does not call it: it is left out, unless ``exported`` lists it already (frozen
    on purpose, it stays).
    """
    return read_project({name: path}, exported={name: exported})[name]


def read_project(
    paths: Mapping[str, Path],
    *,
    exported: Mapping[str, Collection[str]],
    required: Collection[str] | None = None,
) -> dict[str, Current]:
    """`read_current` for every manifest module at once, so that a type one module's exports
    take from another manifest module is recorded under the module that defines it
    (`contract.crossmodule`). A module outside ``required`` (not being frozen) that cannot be
    read is left out rather than failing the modules that are; one that can is returned too,
    with ``reached`` saying whether the required modules' exports reach its types."""
    sources: dict[str, ModuleSource] = {}
    left_out: dict[str, dict[str, str]] = {}
    for name, path in paths.items():
        try:
            tree = _parse_module(name, path)
        except ManifestError:
            if required is None or name in required:
                raise
            continue
        exports, left_out[name] = _exports_of(tree, exported.get(name, ()))
        sources[name] = ModuleSource(tree, path.name == "__init__.py", exports)
    reached = reached_across(sources)
    asked = set(sources) if required is None else set(required)
    by_asked = reached_across(
        {n: replace(src, exports=src.exports if n in asked else {}) for n, src in sources.items()}
    )
    return {
        name: Current(
            dict(source.exports),
            {type_name: found.shape for type_name, found in reached[name].items()},
            left_out[name],
            reached=bool(by_asked[name]),
        )
        for name, source in sources.items()
    }


def _exports_of(
    tree: ast.Module, exported: Collection[str]
) -> tuple[dict[str, Signature], dict[str, str]]:
    """The public functions to export, and those left out as a framework calls them."""
    found = public_functions(functions_in_tree(tree))
    called = framework_called(tree)
    left_out = {n: why for n, why in called.items() if n in found and n not in exported}
    ordered = sorted(found.values(), key=lambda function: function.line)
    return {f.name: f.signature for f in ordered if f.name not in left_out}, left_out


def _parse_module(name: str, path: Path) -> ast.Module:
    try:
        source = path.read_bytes()
    except OSError as e:
        raise ManifestError(f"cannot read module {name!r} at {path}: {e.strerror or e}") from e
    try:
        tree = parse(source, filename=str(path))
    except SyntaxError as e:
        raise ManifestError(
            f"{path}:{e.lineno}:{e.offset}: module {name!r} has a syntax error ({e.msg}); "
            "fix it and run freeze again"
        ) from e
    except ValueError as e:  # Python 3.11 raises ValueError for NUL bytes in source
        raise ManifestError(f"{path}: module {name!r} cannot be parsed: {e}") from e
    return tree


_Same = Callable[[str, str], bool]  # (key, manifest text) -> does it mean what the source has?


def _sync_exports(
    module: _TableLike,
    name: str,
    frozen_text: Mapping[str, str],
    frozen: Mapping[str, Signature],
    current: Mapping[str, Signature],
) -> list[FreezeChange]:
    """Edit one module's exports in place and report what differed."""
    wanted = {function: str(signature) for function, signature in current.items()}
    # A spelling that parses to the same signature (spacing, say) is the user's to keep.
    changes = _entry_changes(
        name, "", frozen_text, wanted, lambda key, _text: frozen.get(key) == current[key]
    )
    if "exports" not in module:
        _add_table(module, "exports", _table(wanted))
        return changes
    _edit_entries(module, "exports", frozen_text, wanted, changes)
    return changes


def _entry_changes(
    module: str, prefix: str, old: Mapping[str, str], wanted: Mapping[str, str], same: _Same
) -> list[FreezeChange]:
    """Removed, changed and added keys of one table, in that order."""
    changes: list[FreezeChange] = []
    for key, text in old.items():
        if key not in wanted:
            changes.append(FreezeChange(module, prefix + key, "removed", text, None))
        elif text != wanted[key] and not same(key, text):
            changes.append(FreezeChange(module, prefix + key, "changed", text, wanted[key]))
    for key, text in wanted.items():
        if key not in old:
            changes.append(FreezeChange(module, prefix + key, "added", None, text))
    return changes


def _edit_entries(
    parent: _TableLike,
    key: str,
    old: Mapping[str, str],
    wanted: Mapping[str, str],
    changes: Sequence[FreezeChange],
) -> None:
    """Apply one table's changes in place: an edited key keeps its place and its comment."""
    if not changes:
        return
    table = _as_table(parent[key])
    if isinstance(table, InlineTable):
        edited = {change.function.rpartition(".")[2] for change in changes}
        # Keys that did not change keep the user's spelling, and every key its place.
        kept = {k: (wanted[k] if k in edited else old[k]) for k in old if k in wanted}
        ordered = kept | {k: text for k, text in wanted.items() if k not in kept}
        parent[key] = _inline(ordered, padded=table.as_string().startswith("{ "))
        return
    for change in changes:
        entry = change.function.rpartition(".")[2]
        if change.action == "removed":
            del table[entry]
        else:  # assigning an existing key keeps its place and its trailing comment
            table[entry] = change.new


def _sync_types(
    module: _TableLike,
    name: str,
    config: Mapping[str, TypeConfig],
    frozen: Mapping[str, TypeShape],
    current: Mapping[str, TypeShape],
) -> list[FreezeChange]:
    """Make one module's types table equal the types its exports reach now."""
    changes: list[FreezeChange] = []
    for type_name in config:
        if type_name not in current:
            changes.append(
                FreezeChange(
                    name, f"types.{type_name}", "removed", frozen[type_name].summary(), None
                )
            )
    added = {t: shape for t, shape in current.items() if t not in config}
    for type_name, shape in added.items():
        changes += _added_type(name, type_name, shape)
    if "types" not in module:
        if current:
            _add_table(module, "types", _types_table(current))
        return changes
    types = _as_table(module["types"])
    for change in changes:
        if change.action == "removed":
            del types[change.function.removeprefix("types.")]
    for type_name, shape in current.items():
        if type_name in added:
            types[type_name] = _type_table(shape)
        else:
            entry = _as_table(types[type_name])
            changes += _sync_type(entry, name, type_name, config[type_name], shape)
    return changes


def _added_type(module: str, type_name: str, shape: TypeShape) -> list[FreezeChange]:
    """One change per entry of a new type (one for the type itself when it has none)."""
    prefix = f"types.{type_name}."
    changes = [
        FreezeChange(module, prefix + f"{key}.{entry}", "added", None, text)
        for key, table in _tables(shape).items()
        for entry, text in table.items()
    ]
    if shape.members:
        changes.append(
            FreezeChange(module, prefix + "members", "added", None, _list(shape.members))
        )
    return changes or [FreezeChange(module, f"types.{type_name}", "added", None, "class")]


def _tables(shape: TypeShape) -> dict[str, dict[str, str]]:
    """The shape's key-value tables as the manifest writes them (empty ones included)."""
    return {
        "methods": {n: str(s) for n, s in shape.methods.items()},
        "properties": {n: str(s) for n, s in shape.properties.items()},
        "fields": {f.name: str(f) for f in shape.fields},
    }


def _sync_type(
    entry: _TableLike, module: str, type_name: str, config: TypeConfig, shape: TypeShape
) -> list[FreezeChange]:
    """Edit one frozen type's methods, properties, fields and members in place."""
    prefix = f"types.{type_name}."
    frozen_tables = {
        "methods": config.methods,
        "properties": config.properties,
        "fields": config.fields,
    }
    same: dict[str, _Same] = {
        "methods": lambda key, text: parse_signature(text) == shape.methods[key],
        "properties": lambda key, text: parse_signature(text) == shape.properties[key],
        "fields": lambda key, text: (
            parse_field(key, text) == next(f for f in shape.fields if f.name == key)
        ),
    }
    changes: list[FreezeChange] = []
    for key, wanted in _tables(shape).items():
        old = frozen_tables[key]
        table_changes = _entry_changes(module, f"{prefix}{key}.", old, wanted, same[key])
        changes += table_changes
        if key not in entry:
            if wanted:
                _add_table(entry, key, _table(wanted))
        elif not wanted:
            if old:
                del entry[key]
        elif key == "fields" and [k for k in old if k in wanted] != [
            k for k in wanted if k in old
        ]:  # fields keep the source's order: a reordered table is written again whole
            changes.append(
                FreezeChange(module, prefix + key, "changed", ", ".join(old), ", ".join(wanted))
            )
            entry[key] = (
                _table(wanted) if isinstance(entry[key], Table) else _inline(wanted, padded=True)
            )
        else:
            _edit_entries(entry, key, old, wanted, table_changes)
    if list(config.members) != list(shape.members):
        old_members, new_members = _list(config.members), _list(shape.members)
        changes.append(
            FreezeChange(module, prefix + "members", "changed", old_members, new_members)
        )
        if shape.members:
            entry["members"] = list(shape.members)
        else:
            del entry["members"]
    return changes


def _list(names: Sequence[str]) -> str:
    """A list of names as TOML writes it: ``["RED", "GREEN"]``."""
    return json.dumps(list(names))


def _table(entries: Mapping[str, Any]) -> Table:
    table = tomlkit.table()
    table.update(entries)
    return table


def _type_table(shape: TypeShape) -> Table:
    """A new type's table: members first (plain keys go before sub-tables), then the tables."""
    table = tomlkit.table()
    if shape.members:
        table["members"] = list(shape.members)
    for key, entries in _tables(shape).items():
        if entries:
            table[key] = _table(entries)
    return table


def _types_table(types: Mapping[str, TypeShape]) -> Table:
    table = tomlkit.table(is_super_table=True)
    for type_name, shape in types.items():
        table[type_name] = _type_table(shape)
    return table


def _add_table(parent: _TableLike, key: str, table: Table) -> None:
    """Give a table its first sub-table ``key``, after what it holds now."""
    if isinstance(parent, InlineTable):
        entries = table.unwrap()
        if all(isinstance(value, str) for value in entries.values()):
            parent[key] = _inline(entries, padded=parent.as_string().startswith("{ "))
        else:
            parent[key] = tomlkit.item(entries).as_inline()
        return
    if isinstance(parent, Table):
        # The blank lines that separated the parent from the next table now belong after the
        # new one; left in place they would sit above it and glue it to what follows.
        for whitespace in _pop_trailing_whitespace(parent):
            _last_table(table).add(whitespace)
    parent[key] = table


def _pop_trailing_whitespace(table: Table) -> list[Whitespace]:
    """The blank lines that end a table's text (in its last sub-table, if it ends with one)."""
    body = table.value.body
    if body and isinstance(body[-1][1], Table):
        return _pop_trailing_whitespace(body[-1][1])
    trailing: list[Whitespace] = []
    while body and body[-1][0] is None and isinstance(last := body[-1][1], Whitespace):
        body.pop()
        trailing.insert(0, last)
    return trailing


def _last_table(table: Table) -> Table:
    """The table whose text comes last in ``table``'s (itself, or its last sub-table's)."""
    body = table.value.body
    return _last_table(body[-1][1]) if body and isinstance(body[-1][1], Table) else table


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


def write_atomic(path: Path, data: bytes) -> None:
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
