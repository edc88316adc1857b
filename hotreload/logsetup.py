"""structlog set-up for the CLI: JSON lines or a console view, and a rotation-proof log file."""

from __future__ import annotations

import json
import os
import sys
import threading
from collections.abc import MutableMapping
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
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._file = self._open()
        except OSError as e:
            raise ServerError(
                f"cannot open log file {path}: {e.strerror or e}; "
                "choose a writable path with --log-file or env.<name>.log_file"
            ) from e

    def _open(self) -> TextIO:
        return open(self.path, "a", encoding="utf-8")

    def _rotated(self) -> bool:
        try:
            on_disk = os.stat(self.path)
        except FileNotFoundError:
            return True
        mine = os.fstat(self._file.fileno())
        return (on_disk.st_ino, on_disk.st_dev) != (mine.st_ino, mine.st_dev)

    def write_line(self, line: str) -> None:
        """Append one line and flush it, reopening the file first if it was rotated away."""
        with self._lock:
            if self._rotated():
                self._file.close()
                self.path.parent.mkdir(parents=True, exist_ok=True)
                self._file = self._open()
            self._file.write(line + "\n")
            self._file.flush()

    def close(self) -> None:
        with self._lock:
            self._file.close()


class TeeToFile:
    """A structlog processor that writes each event to a `LogFile` as JSON, then passes it on."""

    def __init__(self, log_file: LogFile) -> None:
        self.log_file = log_file

    def __call__(self, _logger: Any, _name: str, event_dict: MutableMapping[str, Any]) -> Any:
        self.log_file.write_line(to_json_line(event_dict))
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
    if event_dict.get("message"):
        parts.append(f"— {event_dict['message']}")
    for key, value in event_dict.items():
        if key in _CONSOLE_SKIP or value in (None, [], ""):
            continue
        if key == "violations":
            continue  # their messages are in `message` already
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
    processors: list[Any] = []
    if log_file is not None:
        processors.append(TeeToFile(log_file))
    processors.append(render_json if log_format == "json" else render_console)
    structlog.configure(
        processors=processors,
        logger_factory=structlog.PrintLoggerFactory(file=stream or sys.stderr),
        cache_logger_on_first_use=False,
    )
