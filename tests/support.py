"""Helpers for reload tests: a running project, saves that wait for their event, bounded polls."""

from __future__ import annotations

import sys
import textwrap
import threading
import time
import types
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from conftest import EVENT_TIMEOUT, EventRecorder, Project

from hotreload.bindings import Binding
from hotreload.server import Server


def manifest_text(
    exports: Mapping[str, Mapping[str, str]],
    *,
    keep: Mapping[str, Sequence[str]] | None = None,
    debounce_ms: int = 5,
) -> str:
    """A manifest for these modules (in this order) with a development and a production profile."""
    lines = ['[project]\nname = "reload-tests"\n']
    for module, functions in exports.items():
        key = f'"{module}"' if "." in module else module  # a dotted name is one TOML key
        lines.append(f"[modules.{key}]")
        kept = (keep or {}).get(module, [])
        lines.append("keep = [" + ", ".join(f'"{k}"' for k in kept) + "]")
        lines.append(f"[modules.{key}.exports]")
        lines.extend(f'{name} = "{signature}"' for name, signature in functions.items())
        lines.append("")
    lines.append(f"[env.development]\nreload = true\ndebounce_ms = {debounce_ms}\n")
    lines.append("[env.production]\nreload = false\n")
    return "\n".join(lines)


@dataclass
class Running:
    """A started server on a project, and the ways a test drives it."""

    project: Project
    server: Server
    events: EventRecorder

    def module(self, name: str = "calc") -> types.ModuleType:
        return sys.modules[name]

    def binding(self, name: str = "calc") -> Binding:
        return self.server.module(name)

    def save(
        self,
        source: str,
        *,
        module: str = "calc",
        expect: str = "reload.accepted",
        atomic: bool = True,
        **fields: Any,
    ) -> dict[str, Any]:
        """Save a new version the way an editor does and wait for the event it causes."""
        mark = self.events.mark()
        self.project.write(module, source, atomic=atomic)
        return self.events.wait_for(expect, after=mark, module=module, **fields)


def run(
    project: Project,
    start: Callable[..., tuple[Server, EventRecorder]],
    sources: Mapping[str, str],
    exports: Mapping[str, Mapping[str, str]],
    *,
    keep: Mapping[str, Sequence[str]] | None = None,
    env: str | None = None,
    debounce_ms: int = 5,
    **options: Any,
) -> Running:
    """Write the modules and a manifest, start a real server (stopped by the `start` fixture)."""
    for module, source in sources.items():
        project.write(module, source)
    project.manifest(manifest_text(exports, keep=keep, debounce_ms=debounce_ms))
    server, events = start(env, **options)
    return Running(project, server, events)


def wait_until(predicate: Callable[[], bool], *, timeout: float = EVENT_TIMEOUT) -> None:
    """Poll a condition another thread will make true; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    pause = threading.Event()
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout} s")
        pause.wait(0.001)


def dedent(source: str) -> str:
    return textwrap.dedent(source).lstrip("\n")


def in_thread(target: Callable[[], Any]) -> tuple[threading.Thread, list[Any]]:
    """Run ``target`` in a daemon thread (a deadlocked one must not keep pytest from ending);
    its result, or what it raised, lands in the list."""
    out: list[Any] = []

    def body() -> None:
        try:
            out.append(target())
        except BaseException as error:
            out.append(error)

    thread = threading.Thread(target=body, daemon=True)
    thread.start()
    return thread, out
