"""Manifests validated before: a start on unchanged content skips pydantic.

Pydantic validates a manifest (importing it and building its validator cost a start more than
everything else of ours); what it accepted is kept here, keyed by the manifest's bytes and the
sources of the rules it was checked against, and rebuilt into the same dataclasses by a small
builder on the next start. Only the re-validation of unchanged content is skipped: a changed
manifest, or changed rules, is a different key and pydantic checks it again.

The cache is a convenience, never a source of errors: an entry that cannot be read, is
corrupted, or cannot be written is a miss, and the manifest is validated as if it were not there.
One file per manifest path (rewritten when the content changes), JSON with a digest of its body,
written to a temporary file and renamed into place so a reader never sees half of one.
"""

from __future__ import annotations

import contextlib
import functools
import importlib.util
import json
import os
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any, TypeVar, cast, get_args, get_origin

from hotreload.digests import sha256
from hotreload.manifesterrors import is_table, table_fields, unwrap

CACHE_VARIABLE = "HOTRELOAD_CACHE_DIR"
"""Where the cache lives, overriding ``$XDG_CACHE_HOME/hotreload`` and ``~/.cache/hotreload``."""

_FORMAT = b"hotreload manifest cache 1"  # changes when the entry's layout does
# The modules whose source is the validation's rules: the types and the parsers their checks call.
# Named, not imported: a start on content validated before reads their files but runs no checks
# (the type shapes' parser loads only for a manifest that freezes types).
_RULES = (
    "hotreload.manifesttypes",
    "hotreload.contract.signatures",
    "hotreload.contract.typeshapes",
)

_T = TypeVar("_T")


def cache_directory(environ: Mapping[str, str] = os.environ) -> Path | None:
    """HOTRELOAD_CACHE_DIR, else $XDG_CACHE_HOME/hotreload, else ~/.cache/hotreload; None
    (no cache) when there is no home to put it in."""
    explicit = environ.get(CACHE_VARIABLE)
    if explicit:
        return Path(explicit)
    xdg = environ.get("XDG_CACHE_HOME")
    if xdg and Path(xdg).is_absolute():  # the XDG spec: a relative value is to be ignored
        return Path(xdg) / "hotreload"
    try:
        return Path.home() / ".cache" / "hotreload"
    except RuntimeError:
        return None


@functools.cache
def _rules_digest() -> bytes | None:
    """A digest of everything that decides what validation accepts: the sources of our rules,
    pydantic's version (its version module, found without importing pydantic) and Python's
    (its TOML parser). None (no caching) if one of our sources cannot be read."""
    digest = sha256(_FORMAT + b"\0" + sys.version.encode())
    for name in _RULES:
        spec = importlib.util.find_spec(name)
        try:
            digest.update(Path(spec.origin if spec and spec.origin else "").read_bytes())
        except OSError:
            return None
    digest.update(_pydantic_version())
    return digest.digest()


def _pydantic_version() -> bytes:
    try:
        spec = importlib.util.find_spec("pydantic")
        locations = (spec.submodule_search_locations or []) if spec else []
        return b"".join(Path(place, "version.py").read_bytes() for place in locations)
    except (ImportError, ValueError, OSError):
        return b""  # not installed (a miss fails to validate and says so) or unreadable


def content_key(raw: bytes) -> str | None:
    """The key of a manifest's bytes under today's rules; None when it cannot be computed."""
    rules = _rules_digest()
    return None if rules is None else sha256(rules + raw).hexdigest()


def _entry_path(manifest: Path, directory: Path) -> Path:
    name = sha256(os.fsencode(manifest)).hexdigest()[:32]
    return directory / "manifests" / f"{name}.json"


def read_entry(manifest: Path, key: str, directory: Path) -> dict[str, Any] | None:
    """The content stored for ``manifest`` under ``key``: the table pydantic accepted; None on
    any miss (no entry, another key, unreadable, corrupted)."""
    try:
        text = _entry_path(manifest, directory).read_bytes()
    except OSError:
        return None
    head, _, body = text.partition(b"\n")
    if head != _FORMAT + b" " + sha256(body).hexdigest().encode():
        return None  # not ours, or not what was written (a digest of the body guards it)
    try:
        entry = json.loads(body)
    except ValueError:
        return None
    if not isinstance(entry, dict) or entry.get("key") != key:
        return None
    data = entry.get("manifest")
    return data if isinstance(data, dict) else None


def write_entry(manifest: Path, key: str, data: Mapping[str, Any], directory: Path) -> bool:
    """Keep ``data`` (what pydantic accepted) for ``manifest`` under ``key``; False if it could
    not be written, which only means the next start validates again."""
    path = _entry_path(manifest, directory)
    try:
        body = json.dumps(
            {"key": key, "manifest_path": str(manifest), "manifest": data},
            ensure_ascii=False,
            allow_nan=False,
        ).encode()
    except (TypeError, ValueError):
        return False  # not JSON (validation accepted something no field should hold): no entry
    text = _FORMAT + b" " + sha256(body).hexdigest().encode() + b"\n" + body
    import tempfile  # only a miss writes

    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".", suffix=".tmp")
    except OSError:
        return False
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(text)
        os.replace(temporary, path)
    except OSError:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        return False
    return True


def build(table: type[_T], data: Mapping[str, Any]) -> _T:
    """The dataclass ``table`` from content pydantic accepted, without pydantic: each key's
    value converted by its declared type (a table, a dict or list of them, or a plain value),
    defaults and the tables' own whole-table checks (``__post_init__``) as in a validation."""
    fields = table_fields(cast(type, table))  # a type: hashable, as the cache needs
    return table(**{name: _value(fields[name][0], value) for name, value in data.items()})


def _value(annotation: Any, value: Any) -> Any:
    if value is None:
        return None
    shape = unwrap(annotation)
    if is_table(shape):
        return build(shape, value)
    origin = get_origin(shape)
    if origin is dict:
        item = get_args(shape)[1]
        return {key: _value(item, entry) for key, entry in value.items()}
    if origin is list:
        item = get_args(shape)[0]
        return [_value(item, entry) for entry in value]
    return value
