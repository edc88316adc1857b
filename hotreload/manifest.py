"""The manifest: loading `hotreload.toml`, validating it, errors a person can act on.

The types live in `manifesttypes` (stdlib dataclasses) and are re-exported here. Pydantic is the
validator, imported only when a manifest's content has to be validated: content it accepted
before is rebuilt from `manifestcache` without it, so `hotreload up` on an unchanged manifest
never loads pydantic.
"""

from __future__ import annotations

import functools
import os
import re
from collections.abc import Mapping
from dataclasses import field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hotreload.contract.signatures import Signature, parse_signature
from hotreload.errors import ManifestError
from hotreload.manifestcache import build, cache_directory, content_key, read_entry, write_entry
from hotreload.manifesterrors import key_path
from hotreload.manifesttypes import (
    AppConfig,
    EnvProfile,
    Manifest,
    ModuleConfig,
    ProjectConfig,
    ServeConfig,
    TypeConfig,
    is_module_name,
    split_target,
)
from hotreload.records import record
from hotreload.verdicts import RestartPolicy
from hotreload.words import LogFormat

if TYPE_CHECKING:
    from pydantic import TypeAdapter

    from hotreload.contract.typeshapes import TypeShape

__all__ = [
    "AppConfig",
    "EnvProfile",
    "LoadedManifest",
    "Manifest",
    "ModuleConfig",
    "ProjectConfig",
    "ServeConfig",
    "TypeConfig",
    "find_module_file",
    "is_module_name",
    "load_manifest",
    "manifest_json_schema",
    "resolve_env_name",
    "split_target",
    "validate_manifest",
]

ENV_VARIABLE = "HOTRELOAD_ENV"
JSON_SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"
# Compiled where a TOML error is read (re caches it), not at every start.
_TOML_POSITION = (
    r"^(?P<msg>.*) \(at "
    r"(?:line (?P<line>\d+), column (?P<col>\d+)|end of document)\)$"
)


def find_module_file(
    root: Path, name: str, *, hint: str = "check the name or project.root"
) -> Path:
    """The file Python would import for ``name`` under ``root`` (resolved): a package wins
    over a module, as in Python's own finder, so we watch the file that actually runs. The
    error names the module and the files tried, not a manifest (`init` has none yet)."""
    if not is_module_name(name):
        raise ManifestError(f"{name!r} is not a dotted Python import name")
    base = root.joinpath(*name.split("."))
    tried = [base / "__init__.py", base.with_name(base.name + ".py")]
    for candidate in tried:
        if candidate.is_file():
            resolved = candidate.resolve()
            if not resolved.is_relative_to(root):
                raise ManifestError(
                    f"{candidate} resolves to {resolved}, outside the project root {root}; "
                    "paths may not leave root"
                )
            return resolved
    raise ManifestError(
        f"module {name!r} not found under {root}; tried {', '.join(map(str, tried))}; {hint}"
    )


def resolve_env_name(explicit: str | None, environ: Mapping[str, str], default: str) -> str:
    """An explicit name beats HOTRELOAD_ENV beats the default; an empty variable is unset."""
    if explicit is not None:
        return explicit
    return environ.get(ENV_VARIABLE) or default


@record
class LoadedManifest:
    """A validated manifest tied to where it was found, so paths in it can be resolved."""

    manifest: Manifest
    path: Path
    root: Path
    content: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)
    """The manifest's tables as written (parsed TOML), without defaults."""

    def _error(self, message: str) -> ManifestError:
        return ManifestError(f"{self.path}: {message}")

    def module_path(self, name: str) -> Path:
        """The file Python would import for ``name`` under root (see `find_module_file`)."""
        try:
            return find_module_file(self.root, name)
        except ManifestError as e:
            raise self._error(f"{key_path(('modules', name))}: {e}") from None

    def signatures(self, name: str) -> dict[str, Signature]:
        """The frozen exports of one module, parsed (validation already proved they parse)."""
        module = self.manifest.modules.get(name)
        if module is None:
            known = ", ".join(self.manifest.modules) or "none"
            raise self._error(f"unknown module {name!r}; known modules: {known}")
        return {function: parse_signature(text) for function, text in module.exports.items()}

    def types(self, name: str) -> dict[str, TypeShape]:
        """The frozen types of one module, parsed (validation already proved they parse)."""
        self.signatures(name)  # the same error for an unknown module
        types = self.manifest.modules[name].types
        if not types:
            return {}
        # Loaded only for a manifest that freezes types: most start-ups need no type shapes.
        from hotreload.contract.typeshapes import parse_shape

        return {
            type_name: parse_shape(entry.methods, entry.properties, entry.fields, entry.members)
            for type_name, entry in types.items()
        }

    def profile(self, name: str | None = None) -> tuple[str, EnvProfile]:
        """The profile to run under and its name: ``name``, else HOTRELOAD_ENV, else the default."""
        chosen = resolve_env_name(name, os.environ, self.manifest.project.default_env)
        profile = self.manifest.env.get(chosen)
        if profile is None:
            source = f" (from {ENV_VARIABLE})" if name is None else ""
            known = ", ".join(self.manifest.env)
            raise self._error(f"unknown environment {chosen!r}{source}; known: {known}")
        return chosen, profile

    def restart_policy(self, profile: EnvProfile, *, serving: bool) -> RestartPolicy:
        """The profile's `restart`, else ``auto`` for a served app and ``never`` otherwise."""
        if profile.restart is not None:
            return profile.restart
        return "auto" if serving else "never"

    def written_log_format(self, env: str) -> LogFormat | None:
        """The profile's log_format when the file sets it; None when it is the default (a
        terminal then gets console, anything else json)."""
        written = self.content.get("env", {}).get(env, {})
        return self.manifest.env[env].log_format if "log_format" in written else None

    def log_file(self, profile: EnvProfile) -> Path | None:
        """Where the profile's events go: relative paths start at the manifest, not the cwd."""
        if profile.log_file is None:
            return None
        return self.path.parent / profile.log_file


@functools.cache
def _validator() -> TypeAdapter[Manifest]:
    """Pydantic's validator of the manifest, built once a process, when first needed."""
    from pydantic import TypeAdapter

    return TypeAdapter(Manifest)


def validate_manifest(data: Mapping[str, Any], *, source: str = "hotreload.toml") -> Manifest:
    """Validate parsed TOML; every problem at once, one line each, so one edit fixes them all."""
    from pydantic import ValidationError

    from hotreload.manifesterrors import describe

    try:
        return _validator().validate_python(data)
    except ValidationError as exc:
        described = (describe(error, Manifest) for error in exc.errors())
        lines = [
            f"{source}: {key}: {text}" if key else f"{source}: {text}" for key, text in described
        ]
        raise ManifestError("\n".join(lines)) from exc


def _read_bytes(path: Path, source: str) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise ManifestError(f"{source}: no such file; create one with `hotreload init`") from None
    except OSError as exc:
        raise ManifestError(f"{source}: cannot read: {exc.strerror}") from exc


def _parse_toml(raw: bytes, source: str) -> dict[str, Any]:
    import tomllib  # only content not validated before is parsed: a cache hit needs no parser

    try:
        text = raw.decode("utf-8").removeprefix("\ufeff")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        column = exc.start - raw.rfind(b"\n", 0, exc.start)
        raise ManifestError(
            f"{source}:{line}:{column}: not UTF-8 (byte 0x{raw[exc.start]:02x}); TOML files must "
            "be UTF-8: re-save the file as UTF-8"
        ) from exc
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        match = re.match(_TOML_POSITION, str(exc))
        if match is None:
            raise ManifestError(f"{source}: invalid TOML: {exc}") from exc
        if match["line"] is None:  # "at end of document": point at the last character
            lines = text.split("\n")
            position = f"{len(lines)}:{len(lines[-1]) + 1}"
        else:
            position = f"{match['line']}:{match['col']}"
        raise ManifestError(f"{source}:{position}: invalid TOML: {match['msg']}") from exc


def _from_cache(path: Path, key: str, directory: Path) -> tuple[dict[str, Any], Manifest] | None:
    """Content pydantic accepted before, rebuilt without it; None on a miss."""
    data = read_entry(path, key, directory)
    if data is None:
        return None
    try:
        return data, build(Manifest, data)
    except (TypeError, ValueError, AttributeError, KeyError):  # not what was kept: a miss
        return None


def _validated(
    raw: bytes, path: Path, source: str, *, revalidate: bool
) -> tuple[dict[str, Any], Manifest]:
    """The manifest's content and its validated tables: from the cache when these bytes were
    validated under today's rules before (and not ``revalidate``), else from pydantic, kept."""
    directory = cache_directory()
    key = content_key(raw) if directory is not None else None
    if key is not None and directory is not None and not revalidate:
        cached = _from_cache(path, key, directory)
        if cached is not None:
            return cached
    data = _parse_toml(raw, source)
    manifest = validate_manifest(data, source=source)
    if key is not None and directory is not None:
        write_entry(path, key, data, directory)
    return data, manifest


def load_manifest(
    path: str | Path = "hotreload.toml", *, revalidate: bool = False
) -> LoadedManifest:
    """Read, parse and validate a manifest and resolve its root; the one function here doing I/O.

    Content validated before (the same bytes under the same rules) is taken from the cache
    (`manifestcache`) without pydantic; ``revalidate`` validates it again all the same."""
    source = str(path)
    manifest_path = Path(path).absolute()
    raw = _read_bytes(manifest_path, source)
    content, manifest = _validated(raw, manifest_path, source, revalidate=revalidate)
    directory = manifest_path.parent.resolve()
    root = (directory / manifest.project.root).resolve()
    if not root.is_relative_to(directory):
        raise ManifestError(
            f"{source}: project.root: {manifest.project.root!r} resolves to {root}, outside the "
            f"manifest's directory {directory}"
        )
    if not root.is_dir():
        raise ManifestError(
            f"{source}: project.root: {manifest.project.root!r} is not a directory "
            f"(looked at {root})"
        )
    return LoadedManifest(manifest=manifest, path=manifest_path, root=root, content=content)


def manifest_json_schema() -> dict[str, Any]:
    """The manifest's JSON Schema, generated by pydantic from the types so editors show the
    descriptions."""
    schema = _validator().json_schema()
    return {"$schema": JSON_SCHEMA_DIALECT, **schema, "title": "hotreload manifest"}
