"""The server's own output: events rendered on stderr (console or JSON) and a JSON-lines log file.

Written by our own renderers and writers, never through `structlog.configure` or the `logging`
module's root: hotreload runs inside someone else's process, whose logging set-up is theirs, and
it writes nothing on stdout. (No logging library either: rendering a line is one function call,
and start-up imports none.)

On the console, the project modules adopted in one burst (an app importing its 1,000 modules at
start-up) are said in one line, `N project modules loaded`, once the burst is over (or before
any other event): a person scans the console, and a thousand `module.loaded` lines would hide
what matters. The JSON stream on stderr, the log file and `on_event` listeners still get every
event: they are for machines, and a pipeline may want each module's digest.
"""

from __future__ import annotations

import json
import os
import sys
import threading
import time
from collections.abc import Callable, MutableMapping
from pathlib import Path
from typing import Any, TextIO

from hotreload.errors import LogFileError
from hotreload.words import LogFormat

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


# One encoder for every line: `json.dumps` with options makes a new one at each call.
_ENCODER = json.JSONEncoder(ensure_ascii=False, allow_nan=False, default=str)
# What that encoder writes for a string (ensure_ascii=False).
_encode_str: Callable[[str], str] = json.encoder.encode_basestring
# The C encoder `_ENCODER.encode` makes at every call, made once: without the check for
# circular records (a record is built from an event's fields, never circular), it keeps no
# state between calls, so every thread may share it.
_make_encoder = getattr(json.encoder, "c_make_encoder", None)
_C_ENCODER: Callable[[Any, int], list[str]] | None = (
    None
    if _make_encoder is None
    else _make_encoder(None, str, _encode_str, None, ": ", ", ", False, False, False)
)


def ordered(event_dict: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    """The event's common fields first, so a JSON line reads like the schema (most records of
    the event log come in that order already: they are returned as they are)."""
    keys = iter(event_dict)
    for key in _FIRST_KEYS:  # stops at the first key out of place: nothing built till then
        if key in event_dict and next(keys) != key:
            break
    else:
        return event_dict
    first = {key: event_dict[key] for key in _FIRST_KEYS if key in event_dict}
    return {**first, **{k: v for k, v in event_dict.items() if k not in first}}


def to_json_line(event_dict: MutableMapping[str, Any]) -> str:
    """One event as one line of strict JSON (no NaN, no raw newlines)."""
    record = ordered(event_dict)
    if _C_ENCODER is not None and type(record) is dict:
        return "".join(_C_ENCODER(record, 0))
    return _ENCODER.encode(record)


class LogFile:
    """An append-only JSON-lines file that reopens itself when rotated or deleted under it.

    A pipeline tails this file; after `logrotate` moves it away (or someone deletes it) the next
    event must land at the configured path again, not in an unlinked inode nobody reads.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._text = os.fspath(path)
        self._lock = threading.Lock()
        self._file: TextIO | None = None
        self._identity: tuple[int, int] = (-1, -1)  # the open file's (inode, device)
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
            file = open(self._text, "a", encoding="utf-8")
        except FileNotFoundError:  # its directory was never made, or was deleted: make it
            self.path.parent.mkdir(parents=True, exist_ok=True)
            file = open(self._text, "a", encoding="utf-8")
        mine = os.fstat(file.fileno())
        self._identity = (mine.st_ino, mine.st_dev)
        return file

    def _rotated(self) -> bool:
        """Whether the path names another file than the one open (one stat per line: the open
        file's identity was taken when it was opened)."""
        try:
            on_disk = os.stat(self._text)
        except OSError:  # gone, or a directory on the way was replaced: open the path again
            return True
        return (on_disk.st_ino, on_disk.st_dev) != self._identity

    def write_line(self, line: str) -> None:
        """Append one line and flush it, reopening the file first if it was rotated away.

        Raises OSError when the path cannot be written now; the next call tries again. Once
        closed, it writes nothing (a late event must not open the file again, for nobody).
        """
        with self._lock:
            if self._closed:
                return
            if self._file is None or self._rotated():
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
    """Writes each event to a `LogFile` as JSON.

    A write that fails (disk full, directory gone read-only) must not reach the thread that
    emitted the event (the watcher thread must survive it), and must not go unnoticed: ``warn``
    says so once per failing stretch. The event still reaches the stream, and the file shows the
    loss as a gap in ``seq``.
    """

    def __init__(self, log_file: LogFile, warn: Callable[[str], None]) -> None:
        self.log_file = log_file
        self.warn = warn
        self._failing = False

    def __call__(self, event_dict: MutableMapping[str, Any]) -> None:
        self.write_line(to_json_line(event_dict))

    def write_line(self, line: str) -> None:
        """Append one line (or several, joined by newlines) to the file."""
        try:
            self.log_file.write_line(line)
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


def render_console(event_dict: MutableMapping[str, Any]) -> str:
    """A short line a person can scan while editing."""
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
    """Writes each rendered line to stderr and flushes it.

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


BURST_QUIET_S = 0.5  # a burst of adopted modules is over once none came for this long


class AdoptedBurst:
    """Console lines for the project modules adopted in one burst: held, then said as one
    `N project modules loaded` line (a lone module keeps its own line).

    A burst ends when no adopted module came for `BURST_QUIET_S` (a timer thread says it then),
    or when any other event is about to be rendered (said first, so lines keep their order).
    """

    def __init__(self, say: Callable[[str], None]) -> None:
        self._say = say
        self._lock = threading.Lock()
        self._held: list[MutableMapping[str, Any]] = []
        self._start = 0.0  # when the burst's first import began (monotonic s)
        self._last = 0.0  # when its last module came
        self._timer: threading.Timer | None = None

    @staticmethod
    def holds(event_dict: MutableMapping[str, Any]) -> bool:
        """Whether this event belongs to a burst: a project module adopted without a contract."""
        return event_dict.get("event") == "module.loaded" and event_dict.get("contract") is False

    def add(self, event_dict: MutableMapping[str, Any]) -> None:
        now = time.monotonic()
        began = now - float(event_dict.get("duration_ms") or 0.0) / 1000
        with self._lock:
            if not self._held:
                self._start = began
                self._arm(BURST_QUIET_S)
            self._held.append(event_dict)
            self._start = min(self._start, began)  # an importer ends after what it imported
            self._last = now

    def end(self) -> None:
        """Say the burst now (before another event's line, or at close)."""
        with self._lock:
            self._end()

    def _arm(self, delay: float) -> None:
        self._timer = threading.Timer(delay, self._quiet)
        self._timer.daemon = True
        self._timer.name = "hotreload-output"
        self._timer.start()

    def _quiet(self) -> None:
        with self._lock:
            if not self._held:
                return
            left = self._last + BURST_QUIET_S - time.monotonic()
            if left > 0:  # more came meanwhile: look again once they may have stopped
                self._arm(left)
                return
            self._end()

    def _end(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        held, self._held = self._held, []
        if len(held) == 1:
            self._say(render_console(held[0]))
        elif held:
            took = (self._last - self._start) * 1000
            last = held[-1]
            stamp = str(last.get("timestamp", ""))[11:23]
            self._say(
                f"{stamp} • {len(held)} project modules loaded (no contract) in {took:.0f} ms "
                "— each is a module.loaded event in the log file and to listeners"
            )


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
        self._tee = TeeToFile(log_file, self.warn) if log_file is not None else None
        self._burst = AdoptedBurst(self._writer.msg) if log_format == "console" else None

    def write(self, record: dict[str, Any]) -> None:
        """Write one event to the log file, then render it on stderr."""
        if self._tee is not None:
            self._tee(record)
        if not self.stderr:
            return
        if self._burst is None:
            self._writer.msg(to_json_line(record))
        else:
            self._to_console(record)

    def write_many(self, records: list[dict[str, Any]]) -> None:
        """Write several events, in order, as `write` does each; JSON lines go in one write
        to the log file and one to stderr (an import burst's `module.loaded` events)."""
        lines = None
        if self._tee is not None:
            lines = "\n".join(map(to_json_line, records))
            self._tee.write_line(lines)
        if not self.stderr:
            return
        if self._burst is None:
            self._writer.msg(lines or "\n".join(map(to_json_line, records)))
        else:
            for record in records:
                self._to_console(record)

    def _to_console(self, record: dict[str, Any]) -> None:
        assert self._burst is not None, "console output only"
        if self._burst.holds(record):
            self._burst.add(record)
        else:
            self._burst.end()
            self._writer.msg(render_console(record))

    def warn(self, message: str) -> None:
        """A problem with the output itself (the file cannot be written): said on stderr, even
        when events are not, as nobody would hear of it otherwise."""
        self._writer.msg(f"hotreload: warning: {message}")

    def close(self) -> None:
        """Close the log file: a late event (a reload `stop` gave up on) reaches stderr only."""
        if self._burst is not None:
            self._burst.end()
        if self.log_file is not None:
            self.log_file.close()
