"""The server's own output: events rendered on stderr (console or JSON) and a JSON-lines log file.

Built with explicit structlog processors over writers of our own, never with `structlog.configure`
or the `logging` module's root: hotreload runs inside someone else's process, whose logging set-up
is theirs, and it writes nothing on stdout.
"""

from __future__ import annotations

import json
import os
import sys
import threading
from collections.abc import Callable, MutableMapping
from pathlib import Path
from typing import Any, TextIO

import structlog

from hotreload.errors import LogFileError
from hotreload.words import Level, LogFormat

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
        self._closed = False
        try:
            self._file = self._open()
        except OSError as e:
            raise LogFileError(
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

        Raises OSError when the path cannot be written now; the next call tries again. Once
        closed, it writes nothing (a late event must not open the file again, for nobody).
        """
        with self._lock:
            if self._closed:
                return
            if self._file is None or self._rotated(self._file):
                if self._file is not None:
                    self._file.close()
                    self._file = None
                self._file = self._open()
            self._file.write(line + "\n")
            self._file.flush()

    def close(self) -> None:
        with self._lock:
            self._closed = True
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
    if event_dict.get("module") is not None:
        version = event_dict.get("version")
        parts.append(f"{event_dict['module']}" + (f" v{version}" if version is not None else ""))
        if event_dict.get("contract") is False:
            parts.append("(no contract)")
    elif event_dict.get("path"):  # a file that is no module (the manifest, a watched folder)
        parts.append(str(event_dict["path"]))
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


class StderrWriter:
    """The end of the stderr pipeline: writes each rendered line to stderr and flushes it.

    ``sys.stderr`` is looked up at each write, so a host (or a test) that swaps it still gets
    the lines. A stream that cannot be written (closed, a broken pipe) drops the line: the
    emitting thread (the watcher's) must not die of it, and there is nowhere left to say so.
    """

    def __init__(self, stream: TextIO | None = None) -> None:
        self._stream = stream

    def msg(self, line: str) -> None:
        stream = self._stream or sys.stderr
        if stream is None:  # pythonw and some daemons run without one
            return
        try:
            stream.write(line + "\n")
            stream.flush()
        except (OSError, ValueError):
            pass

    debug = info = warning = error = msg


def _drop(_logger: Any, _name: str, _event_dict: MutableMapping[str, Any]) -> Any:
    """The last processor when stderr is silenced: the event ends after the file got it."""
    raise structlog.DropEvent


class EventOutput:
    """Where a server's events go: rendered on stderr in ``log_format`` (unless ``stderr`` is
    False), and as one JSON line each to ``log_file`` (closed with `close`).

    Implements `events.EventSink`: the event log calls `write` in seq order, under its lock.
    """

    def __init__(
        self,
        log_format: LogFormat = "console",
        *,
        stderr: bool = True,
        log_file: LogFile | None = None,
        stream: TextIO | None = None,
    ) -> None:
        self.log_format: LogFormat = log_format
        self.stderr = stderr
        self.log_file = log_file
        self._writer = StderrWriter(stream)
        processors: list[Any] = []
        if log_file is not None:
            processors.append(TeeToFile(log_file, self.warn))
        if not stderr:
            processors.append(_drop)
        else:
            processors.append(render_json if log_format == "json" else render_console)
        # Every argument explicit: nothing is read from structlog's global configuration, so a
        # host's `structlog.configure` (before or after) neither changes nor receives our events.
        self._logger = structlog.wrap_logger(
            self._writer,
            processors=processors,
            wrapper_class=structlog.make_filtering_bound_logger(0),
            context_class=dict,
            cache_logger_on_first_use=True,
        ).bind()

    def write(self, record: dict[str, Any]) -> None:
        """Render one event (its ``event`` and ``level`` fields pick the name and the method)."""
        fields = dict(record)
        name = fields.pop("event")
        level: Level = fields["level"]
        getattr(self._logger, level)(name, **fields)

    def warn(self, message: str) -> None:
        """A problem with the output itself (the file cannot be written): said on stderr, even
        when events are not, as nobody would hear of it otherwise."""
        self._writer.msg(f"hotreload: warning: {message}")

    def close(self) -> None:
        """Close the log file: a late event (a reload `stop` gave up on) reaches stderr only."""
        if self.log_file is not None:
            self.log_file.close()
