"""hotreload: hot-reload Python modules in a running process, guarded by a manifest's contract."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

from hotreload.bindings import Binding
from hotreload.contract.signatures import Signature, parse_signature
from hotreload.engine.dispose import handed_over, on_dispose
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

try:
    # The distribution's name, which pip knows it by: `hotreload` on the index is another project.
    __version__ = version("hotreload-contract")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0"

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
    "handed_over",
    "load_manifest",
    "on_dispose",
    "parse_signature",
    "up",
]
