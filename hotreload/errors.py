"""The exception hierarchy: one root, a subclass per failure the CLI maps to an exit code."""

from __future__ import annotations


class HotreloadError(Exception):
    """Root of every error hotreload raises on purpose."""


class ManifestError(HotreloadError):
    """The manifest cannot be read, parsed or validated (CLI exit code 2)."""


class SignatureSyntaxError(HotreloadError, ValueError):
    """A signature string in the manifest is not of the form ``(a: int) -> int``."""


class ContractViolation(HotreloadError):
    """Running code does not match the manifest's frozen signatures (CLI exit code 1)."""

    def __init__(self, message: str, violations: list[object] | None = None) -> None:
        super().__init__(message)
        self.violations = violations or []


class ServerError(HotreloadError):
    """The server could not run: a module failed to import, the entry failed (CLI exit code 1)."""


class LogFileError(ServerError):
    """The log file (``log_file``, ``--log-file``) cannot be opened: a setting to fix (exit 2)."""


class EntryError(ServerError):
    """``[app] entry`` raised; the CLI shows its traceback (exit code 1)."""


class AppError(ServerError):
    """The [app] to serve cannot be served as configured: a bad path, not an app, the web extra
    missing, worker processes (CLI exit code 2)."""


class PortInUse(ServerError):
    """The address and port to serve the app on are taken (CLI exit code 1)."""


class WorkersRefused(AppError):
    """Code under `hotreload up` tried to start a worker process a reload could not reach."""
