"""hotreload: hot-reload Python modules in a running process, guarded by a manifest's contract.

The public names are imported when first used (PEP 562): `import hotreload` costs a few
milliseconds, and a command or host pays only for the parts it touches (the manifest's models,
the engine, the watcher), not for every one at once.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # what the lazy names are, for type checkers and IDEs
    from hotreload.bindings import Binding
    from hotreload.contract.signatures import Signature, parse_signature
    from hotreload.errors import (
        ContractViolation,
        HotreloadError,
        LogFileError,
        ManifestError,
        ServerError,
        SignatureSyntaxError,
    )
    from hotreload.manifest import LoadedManifest, Manifest, load_manifest
    from hotreload.server import Server, current, up
    from hotreload.verdicts import Violation

# Each public name and the module that defines it.
_PUBLIC: dict[str, str] = {
    "Binding": "hotreload.bindings",
    "ContractViolation": "hotreload.errors",
    "HotreloadError": "hotreload.errors",
    "LoadedManifest": "hotreload.manifest",
    "LogFileError": "hotreload.errors",
    "Manifest": "hotreload.manifest",
    "ManifestError": "hotreload.errors",
    "Server": "hotreload.server",
    "ServerError": "hotreload.errors",
    "Signature": "hotreload.contract.signatures",
    "SignatureSyntaxError": "hotreload.errors",
    "Violation": "hotreload.verdicts",
    "current": "hotreload.server",
    "load_manifest": "hotreload.manifest",
    "parse_signature": "hotreload.contract.signatures",
    "up": "hotreload.server",
}

__all__ = [
    "Binding",
    "ContractViolation",
    "HotreloadError",
    "LoadedManifest",
    "LogFileError",
    "Manifest",
    "ManifestError",
    "Server",
    "ServerError",
    "Signature",
    "SignatureSyntaxError",
    "Violation",
    "__version__",
    "current",
    "load_manifest",
    "parse_signature",
    "up",
]


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        # The distribution's name, which pip knows it by: `hotreload` on the index is another
        # project.
        return version("hotreload-contract")
    except PackageNotFoundError:  # running from a source tree that was never installed
        return "0.0.0"


def __getattr__(name: str) -> Any:
    """Import a public name's module the first time the name is used, then keep the name."""
    if name == "__version__":
        value: Any = _version()
    elif name in _PUBLIC:
        value = getattr(importlib.import_module(_PUBLIC[name]), name)
    else:
        raise AttributeError(f"module 'hotreload' has no attribute {name!r}")
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
