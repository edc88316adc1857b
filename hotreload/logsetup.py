"""structlog set-up for the CLI: JSON lines or a console view, and a rotation-proof log file."""

from __future__ import annotations

import json
import os
import sys
import threading
from collections.abc import Callable, MutableMapping
from pathlib import Path
from typing import Any, Literal, TextIO

import structlog

from hotreload.errors import ServerError

LogFormat = Literal["console", "json"]

_FIRST_KEYS = ("event", "timestamp", "level", "seq", "env", "module", "path", "version")
_CONSOLE_SKIP = {
    "event",
    "timestamp",
    "level",
    "seq",
    "env",
    "module",
    "path",
    "version",
    "contract",
    "message",
}
_LEVEL_MARK = {"debug": "·", "info": "•", "warning": "!", "error": "✗"}


def ordered(event_dict: MutableMapping[str, Any]) -> dict[str, Any]:
    """The event's common fields first, so a JSON line reads like the schema."""
    head = {key: event_dict[key] for key in _FIRST_KEYS if key in event_dict}
    return {**head, **{k: v for k, v in event_dict.items() if k not in head}}


def to_json_line(event_dict: MutableMapping[str, Any]) -> str:
    """One event as one line of strict JSON (no NaN, no raw newlines)."""
    return json.dumps(ordered(event_dict), ensure_ascii=False, allow_nan=False, default=str)


class LogFile:
    """An append-only JSON-lines file that reopens itself when rotated or deleted under it.

    A pipeline tails this file; after `logrotate` moves it away (or someone deletes it) the next
    event must land at the configured path again, not in an unlinked inode nobody reads.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._file: TextIO | None = None
        try:
            self._file = self._open()
        except OSError as e:
            raise ServerError(
                f"cannot open log file {path}: {e.strerror or e}; "
                "choose a writable path with --log-file or env.<name>.log_file"
            ) from e

    def _open(self) -> TextIO:
        try:
            return open(self.path, "a", encoding="utf-8")
        except FileNotFoundError:  # its directory was never made, or was deleted: make it
            self.path.parent.mkdir(parents=True, exist_ok=True)
            return open(self.path, "a", encoding="utf-8")

    def _rotated(self, file: TextIO) -> bool:
        try:
            on_disk = os.stat(self.path)
        except OSError:  # gone, or a directory on the way was replaced: open the path again
            return True
        mine = os.fstat(file.fileno())
        return (on_disk.st_ino, on_disk.st_dev) != (mine.st_ino, mine.st_dev)

    def write_line(self, line: str) -> None:
        """Append one line and flush it, reopening the file first if it was rotated away.

        Raises OSError when the path cannot be written now; the next call tries again.
        """
        with self._lock:
            if self._file is None or self._rotated(self._file):
                if self._file is not None:
                    self._file.close()
                    self._file = None
                self._file = self._open()
            self._file.write(line + "\n")
            self._file.flush()

    def close(self) -> None:
        with self._lock:
            if self._file is not None:
                self._file.close()
                self._file = None


class TeeToFile:
    """A structlog processor that writes each event to a `LogFile` as JSON, then passes it on.

    A write that fails (disk full, directory gone read-only) must not reach the thread that
    emitted the event (the watcher thread must survive it), and must not go unnoticed: ``warn``
    says so once per failing stretch. The event still reaches the stream, and the file shows the
    loss as a gap in ``seq``.
    """

    def __init__(self, log_file: LogFile, warn: Callable[[str], None]) -> None:
        self.log_file = log_file
        self.warn = warn
        self._failing = False

    def __call__(self, _logger: Any, _name: str, event_dict: MutableMapping[str, Any]) -> Any:
        try:
            self.log_file.write_line(to_json_line(event_dict))
        except OSError as e:
            if not self._failing:
                self._failing = True
                self.warn(
                    f"cannot write log file {self.log_file.path}: {e.strerror or e}; "
                    "events go to stderr only until it is writable again"
                )
        else:
            if self._failing:
                self._failing = False
                self.warn(f"writing log file {self.log_file.path} again (seq shows the gap)")
        return event_dict


def render_json(_logger: Any, _name: str, event_dict: MutableMapping[str, Any]) -> str:
    """structlog renderer: one strict JSON object per line."""
    return to_json_line(event_dict)


def render_console(_logger: Any, _name: str, event_dict: MutableMapping[str, Any]) -> str:
    """structlog renderer: a short line a person can scan while editing."""
    stamp = str(event_dict.get("timestamp", ""))[11:23]
    level = str(event_dict.get("level", "info"))
    parts = [stamp, _LEVEL_MARK.get(level, "•"), str(event_dict.get("event", ""))]
    if "module" in event_dict:
        version = event_dict.get("version")
        parts.append(f"{event_dict['module']}" + (f" v{version}" if version is not None else ""))
        if event_dict.get("contract") is False:
            parts.append("(no contract)")
    if event_dict.get("message"):
        parts.append(f"— {event_dict['message']}")
    # A warning of an accepted change is as prominent as a rejection: its message up front.
    warnings = event_dict.get("warnings") or []
    if warnings:
        parts.append("— " + "; ".join(str(w.get("message", w)) for w in warnings))
    for key, value in event_dict.items():
        if key in _CONSOLE_SKIP or value in (None, [], ""):
            continue
        if key in ("violations", "warnings"):
            continue  # their messages are shown above (a rejection's are in `message` already)
        if isinstance(value, float):
            value = f"{value:.2f}"
        parts.append(f"{key}={value}")
    return " ".join(parts)


def configure_logging(
    log_format: LogFormat,
    *,
    stream: TextIO | None = None,
    log_file: LogFile | None = None,
) -> None:
    """Send events to ``stream`` (stderr by default) in ``log_format``, and as JSON to ``log_file``.

    Events go to stderr, not stdout, so a host application's own output stays clean.
    """
    output = stream or sys.stderr

    def warn(message: str) -> None:
        output.write(f"hotreload: warning: {message}\n")
        output.flush()

    processors: list[Any] = []
    if log_file is not None:
        processors.append(TeeToFile(log_file, warn))
    processors.append(render_json if log_format == "json" else render_console)
    structlog.configure(
        processors=processors,
        logger_factory=structlog.PrintLoggerFactory(file=output),
        cache_logger_on_first_use=False,
    )
