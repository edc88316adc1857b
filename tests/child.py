"""A `hotreload` command in a child process, as a user runs it, with its output read as it comes."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import IO, Any

REPO = Path(__file__).resolve().parent.parent
EVENT_SCHEMA = REPO / "schemas" / "event.schema.json"
WAIT = 20.0  # upper bound for one awaited line on a loaded 2-core machine; a pass returns at once


def _reject_constant(name: str) -> Any:
    raise ValueError(f"non-standard JSON constant {name}")


def strict_json(line: str) -> dict[str, Any]:
    """Parse one line as strict JSON (NaN / Infinity are errors) that must be an object."""
    value = json.loads(line, parse_constant=_reject_constant)
    if not isinstance(value, dict):
        raise ValueError(f"not a JSON object: {line!r}")
    return value


def child_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The test's environment without anything that changes the profile, plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if k != "HOTRELOAD_ENV"}
    env["PYTHONPATH"] = str(REPO)  # the code under test, whatever is installed
    env["PYTHONDONTWRITEBYTECODE"] = "1"  # never leave __pycache__ in a project we run
    env["PYTHONUNBUFFERED"] = "1"
    env.update(extra or {})
    return env


def run(
    *args: str, cwd: Path, env: Mapping[str, str] | None = None, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    """Run ``python -m hotreload ARGS`` to completion (bounded)."""
    return subprocess.run(
        [sys.executable, "-m", "hotreload", *args],
        cwd=cwd,
        env=child_env(env),
        input=stdin,
        capture_output=True,
        text=True,
        timeout=WAIT * 2,
        check=False,
    )


class Child:
    """``python -m hotreload ARGS`` (or another ``program``) running in the background.

    Two reader threads collect stdout and stderr line by line; stderr lines that parse as strict
    JSON are the events. Tests wait for a line with a bounded timeout; nothing sleeps.
    """

    def __init__(
        self,
        *args: str,
        cwd: Path,
        env: Mapping[str, str] | None = None,
        program: Sequence[str] = (sys.executable, "-m", "hotreload"),
        python: Sequence[str] = (),
    ) -> None:
        """``python``: interpreter arguments before ``-m hotreload`` (``-m debugpy ...``)."""
        self.args = args
        self.program = program
        self.stdout: list[str] = []
        self.stderr: list[str] = []
        self.events: list[dict[str, Any]] = []
        self.bad_lines: list[tuple[str, str]] = []  # stderr lines that are not strict JSON
        self._cond = threading.Condition()
        self.proc = subprocess.Popen(
            [*program, *args]
            if not python
            else [sys.executable, *python, "-m", "hotreload", *args],
            cwd=cwd,
            env=child_env(env),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            encoding="utf-8",
        )
        assert self.proc.stdout is not None and self.proc.stderr is not None
        self._readers = [
            threading.Thread(target=self._read, args=(self.proc.stdout, self._on_stdout)),
            threading.Thread(target=self._read, args=(self.proc.stderr, self._on_stderr)),
        ]
        for reader in self._readers:
            reader.daemon = True
            reader.start()

    def _read(self, stream: IO[str], handle: Callable[[str], None]) -> None:
        for line in stream:
            with self._cond:
                handle(line.rstrip("\n"))
                self._cond.notify_all()
        with self._cond:
            self._cond.notify_all()

    def _on_stdout(self, line: str) -> None:
        self.stdout.append(line)

    def _on_stderr(self, line: str) -> None:
        self.stderr.append(line)
        try:
            self.events.append(strict_json(line))
        except ValueError as e:
            self.bad_lines.append((line, str(e)))

    # -- waiting -------------------------------------------------------------------------------

    def mark(self) -> tuple[int, int]:
        """A position (events, stdout lines): waits with ``after=`` only look past it."""
        with self._cond:
            return len(self.events), len(self.stdout)

    def _wait(self, find: Callable[[], Any], what: str, timeout: float) -> Any:
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                found = find()
                if found is not None:
                    return found
                remaining = deadline - time.monotonic()
                if remaining <= 0 or (self.proc.poll() is not None and not self._reading()):
                    raise AssertionError(f"no {what} within {timeout:g} s\n{self.output()}")
                self._cond.wait(min(remaining, 0.5))

    def _reading(self) -> bool:
        return any(reader.is_alive() for reader in self._readers)

    def wait_for(
        self,
        name: str,
        *,
        after: tuple[int, int] = (0, 0),
        timeout: float = WAIT,
        **fields: Any,
    ) -> dict[str, Any]:
        """The first event ``name`` with these field values past ``after``."""

        def find() -> dict[str, Any] | None:
            for event in self.events[after[0] :]:
                if event.get("event") == name and all(event.get(k) == v for k, v in fields.items()):
                    return event
            return None

        found: dict[str, Any] = self._wait(find, f"event {name} {fields}", timeout)
        return found

    def wait_stdout(
        self, text: str, *, after: tuple[int, int] = (0, 0), timeout: float = WAIT
    ) -> int:
        """Index of the first stdout line equal to ``text`` past ``after``."""

        def find() -> int | None:
            for index in range(after[1], len(self.stdout)):
                if self.stdout[index] == text:
                    return index
            return None

        index: int = self._wait(find, f"stdout line {text!r}", timeout)
        return index

    def wait_stderr(self, text: str, *, timeout: float = WAIT) -> int:
        """Index of the first stderr line equal to ``text`` (lines that are not events)."""

        def find() -> int | None:
            return self.stderr.index(text) if text in self.stderr else None

        index: int = self._wait(find, f"stderr line {text!r}", timeout)
        return index

    # -- ending ------------------------------------------------------------------------------

    def stop(self, sig: int = signal.SIGTERM, timeout: float = WAIT) -> int:
        """Send ``sig``, wait for the exit code, and for the readers to see the end of output."""
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        return self.wait(timeout)

    def wait(self, timeout: float = WAIT) -> int:
        """The exit code, once the child ended on its own (bounded)."""
        try:
            code = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            message = f"child did not exit within {timeout:g} s\n{self.output()}"
            raise AssertionError(message) from None
        for reader in self._readers:
            reader.join(timeout)
        return code

    def kill(self) -> None:
        """End the child whatever state it is in (for a `finally`)."""
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(WAIT)
        for reader in self._readers:
            reader.join(WAIT)
        for stream in (self.proc.stdout, self.proc.stderr):
            if stream is not None:
                stream.close()

    def output(self) -> str:
        """Everything the child wrote so far, for a failure message."""
        with self._cond:
            return (
                f"$ {' '.join([*self.program, *self.args])}  (exit {self.proc.poll()})\n"
                "--- stdout\n" + "\n".join(self.stdout) + "\n--- stderr\n" + "\n".join(self.stderr)
            )

    def __enter__(self) -> Child:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, *_: object) -> None:
        self.kill()
        if exc_type is not None:  # pytest shows captured stdout of a failed test
            print(self.output())
