"""Shared fixtures: real project directories on disk, a real server, and bounded waits on events."""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
import textwrap
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import structlog

from hotreload.events import VALIDATE_ENV
from hotreload.server import Server, up

# Every event the suite emits is validated against its type, in this process and in every CLI
# or child it starts (they inherit the environment): the records the event log builds itself
# cannot drift from the schema unseen. Users' processes never pay for it.
os.environ[VALIDATE_ENV] = "1"

# The manifest cache of every test (and of every process a test starts, which inherits it) lives
# in a directory of this session, never in the real home's ~/.cache.
SESSION_CACHE = tempfile.mkdtemp(prefix="hotreload-test-cache-")
os.environ["HOTRELOAD_CACHE_DIR"] = SESSION_CACHE


@pytest.fixture(autouse=True, scope="session")
def session_cache_removed() -> Iterator[None]:
    """The session's manifest cache is deleted when the session ends."""
    yield
    shutil.rmtree(SESSION_CACHE, ignore_errors=True)


EVENT_TIMEOUT = 10.0  # generous for a loaded 2-core CI machine; a passing wait returns at once


@pytest.fixture(autouse=True)
def structlog_untouched() -> Iterator[None]:
    """Every test runs with structlog at its defaults, as a host's would be, and ends with it so:
    hotreload builds its own pipeline and never configures structlog globally."""
    structlog.reset_defaults()
    yield
    assert not structlog.is_configured(), "structlog.configure was called"


class EventRecorder:
    """Collects a server's events from any thread; tests wait on them with a bounded timeout."""

    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []
        self._cond = threading.Condition()

    def __call__(self, event: dict[str, Any]) -> None:
        with self._cond:
            self.events.append(event)
            self._cond.notify_all()

    def mark(self) -> int:
        """A position: `wait_for(..., after=mark)` only looks at events emitted after it."""
        with self._cond:
            return len(self.events)

    def wait_for(
        self, name: str, *, after: int = 0, timeout: float = EVENT_TIMEOUT, **fields: Any
    ) -> dict[str, Any]:
        """The first event named ``name`` (with these field values) after position ``after``."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                for event in self.events[after:]:
                    if event["event"] == name and all(event.get(k) == v for k, v in fields.items()):
                        return event
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    seen = [(e["event"], e.get("reason"), e.get("message")) for e in self.events]
                    raise AssertionError(f"no {name} {fields} within {timeout} s; saw {seen}")
                self._cond.wait(remaining)

    def names(self) -> list[str]:
        with self._cond:
            return [e["event"] for e in self.events]


class Project:
    """A throw-away project on disk: module files and a manifest, written as a user would."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.manifest_path = root / "hotreload.toml"

    def path(self, module: str) -> Path:
        return self.root.joinpath(*module.split(".")).with_suffix(".py")

    def write(self, module: str, source: str, *, atomic: bool = True) -> Path:
        """Save a module the way editors do: a temp file renamed over it, or an in-place write."""
        path = self.path(module)
        path.parent.mkdir(parents=True, exist_ok=True)
        data = textwrap.dedent(source).lstrip("\n")
        if atomic:
            temp = path.with_name(f".{path.name}.{time.monotonic_ns()}.tmp")
            temp.write_text(data, encoding="utf-8")
            os.replace(temp, path)
        else:
            with open(path, "w", encoding="utf-8") as f:
                f.write(data)
        return path

    def manifest(self, text: str) -> Path:
        self.manifest_path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
        return self.manifest_path


@pytest.fixture
def project(tmp_path: Path) -> Iterator[Project]:
    """A project directory; modules it imports are removed from sys.modules afterwards."""
    before = set(sys.modules)
    path_before = list(sys.path)
    yield Project(tmp_path)
    for name in set(sys.modules) - before:
        module = sys.modules.get(name)
        if getattr(module, "__file__", "") and str(tmp_path) in str(module.__file__):
            del sys.modules[name]
    sys.path[:] = path_before


@pytest.fixture
def start(project: Project) -> Iterator[Callable[..., tuple[Server, EventRecorder]]]:
    """Start a real server on the project's manifest; every server started is stopped after."""
    servers: list[Server] = []

    def _start(env: str | None = None, **options: Any) -> tuple[Server, EventRecorder]:
        recorder = EventRecorder()
        options.setdefault("stderr", False)  # the recorder reads them: keep the test quiet
        server = up(project.manifest_path, env=env, on_event=recorder, **options)
        servers.append(server)
        return server, recorder

    try:
        yield _start
    finally:
        for server in servers:
            server.stop()


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """The replay's counts at the end of a run that replayed (``pytest -m replay``). Here, not
    in a conftest of tests/freshstart: the tests import this module as ``conftest``, and a
    second module of that name would take its place."""
    replay = sys.modules.get("replay")
    reports = vars(replay).get("REPORTS") if replay is not None else None
    if reports:
        terminalreporter.section("replay of real history (issue 21)")
        for report in reports:
            terminalreporter.write_line(report.summary())
