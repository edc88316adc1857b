"""Generated projects for the benchmarks: the 500-line module, scale projects, the field's three
module kinds (small, 500-line, heavy-init), and saves."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

SaveStyle = Literal["atomic", "inplace"]
SAVE_STYLES: tuple[SaveStyle, ...] = ("atomic", "inplace")

BIG_MODULE = "bench_target"
BIG_LINES = 500
# The export whose return value changes on every edit, and the others the manifest freezes.
BIG_EXPORTS = {
    "current_value": "() -> int",
    "compute": "(x: int, y: int = 3) -> int",
    "describe": "(name: str) -> str",
}
SCALE_EXPORTS = 10
SCALE_PER_PACKAGE = 100

# Profiles every generated manifest carries: the development profile keeps every default (that
# is what the targets are stated for); "direct" is a reload-off profile whose server the memory
# benchmark drives by calling server.reload() itself, so no watcher races the driver.
ENV_TABLES = """
[env.development]
reload = true

[env.production]
reload = false
log_format = "json"

[env.direct]
reload = false
"""


def _helper(index: int) -> list[str]:
    return [
        f"def helper_{index:03d}(x: int, y: int = 3) -> int:",
        f'    """Helper {index}: a little arithmetic, so parsing and compiling cost."""',
        f"    total = x * {index} + y",
        "    for step in range(3):",
        "        total += (step * x) % 7",
        "    if total > 1000:",
        "        total -= 1000",
        "    return total",
        "",
    ]


def big_module(value: int, *, broken: bool = False, field: bool = False) -> str:
    """A 500-line module: many helpers and three exports; ``current_value()`` returns ``value``.

    ``broken`` changes the frozen signature of ``current_value`` (a new required parameter,
    which its callers do not pass), so the change is rejected before any of its code runs.
    ``field`` is the field's variant: a ``STATE`` token (see ``field_module``), and only
    ``current_value``'s body changes with ``value`` (the docstring and ``VALUE`` stay), so an
    edit is a body edit.
    """
    version = 0 if field else value
    head = [
        f'"""Benchmark target, version {version}: many helpers, three exports."""',
        "",
        "from __future__ import annotations",
        "",
        "import math",
        *(["import time"] if field else []),
        "",
        f"VALUE = {version}",
        "SCALE = 3",
        *([STATE_LINE] if field else []),
        "",
    ]
    params = "extra: int" if broken else ""
    tail = [
        f"def current_value({params}) -> int:",
        '    """The export the benchmark host polls: its body changes with every edit."""',
        f"    return {value}",
        "",
        "",
        "def compute(x: int, y: int = 3) -> int:",
        '    """A cheap export, for the call-overhead benchmark."""',
        "    return x * y + SCALE",
        "",
        "",
        "def describe(name: str) -> str:",
        "    return f'{name}: {math.pi:.2f}'",
    ]
    lines = list(head)
    index = 0
    while len(lines) + len(_helper(index)) + len(tail) <= BIG_LINES:
        lines += _helper(index)
        index += 1
    lines += tail
    lines += ["# padding"] * (BIG_LINES - len(lines))
    return "\n".join(lines) + "\n"


def _exports_table(module: str, exports: dict[str, str]) -> str:
    rows = "\n".join(f'{name} = "{signature}"' for name, signature in exports.items())
    key = f'"{module}"' if "." in module else module  # a dotted name is one TOML key
    return f"[modules.{key}.exports]\n{rows}\n"


@dataclass(frozen=True)
class Project:
    """A generated project on disk."""

    root: Path
    manifest: Path
    modules: tuple[str, ...]

    def path(self, module: str) -> Path:
        return self.root.joinpath(*module.split(".")).with_suffix(".py")

    @property
    def directories(self) -> list[Path]:
        """Every directory a watcher of this project watches (the modules' and the manifest's)."""
        return sorted({self.path(m).parent for m in self.modules} | {self.manifest.parent})


def write_big_project(root: Path, value: int = 0) -> Project:
    """A project of one 500-line module (``bench_target``) with three frozen exports; a later
    save of ``big_module(v, field=True)`` is a body edit of ``current_value()``."""
    root.mkdir(parents=True, exist_ok=True)
    (root / f"{BIG_MODULE}.py").write_text(big_module(value, field=True), encoding="utf-8")
    manifest = root / "hotreload.toml"
    manifest.write_text(
        f'[project]\nname = "bench-latency"\n\n{_exports_table(BIG_MODULE, BIG_EXPORTS)}'
        + ENV_TABLES,
        encoding="utf-8",
    )
    return Project(root, manifest, (BIG_MODULE,))


def scale_module(index: int, value: int = 0) -> str:
    """A small module with ten exports; ``f0()`` returns ``value``."""
    lines = [f'"""Generated module {index}."""', "", f"VALUE = {value}", ""]
    for n in range(SCALE_EXPORTS):
        body = "VALUE" if n == 0 else f"x * {n} + {index}"
        params = "" if n == 0 else "x: int"
        lines += ["", f"def f{n}({params}) -> int:", f"    return {body}", ""]
    return "\n".join(lines)


def scale_module_name(index: int) -> str:
    return f"pkg_{index // SCALE_PER_PACKAGE:02d}.mod_{index % SCALE_PER_PACKAGE:03d}"


def write_scale_project(root: Path, size: int) -> Project:
    """``size`` modules of ten exports each, in packages of a hundred."""
    root.mkdir(parents=True, exist_ok=True)
    names = [scale_module_name(i) for i in range(size)]
    tables = []
    for index, name in enumerate(names):
        path = root.joinpath(*name.split(".")).with_suffix(".py")
        if not path.parent.is_dir():
            path.parent.mkdir(parents=True)
            (path.parent / "__init__.py").write_text("", encoding="utf-8")
        path.write_text(scale_module(index), encoding="utf-8")
        exports = {f"f{n}": "() -> int" if n == 0 else "(x: int) -> int" for n in range(10)}
        tables.append(_exports_table(name, exports))
    manifest = root / "hotreload.toml"
    manifest.write_text(
        f'[project]\nname = "bench-scale-{size}"\n\n' + "\n".join(tables) + ENV_TABLES,
        encoding="utf-8",
    )
    return Project(root, manifest, tuple(names))


FieldKind = Literal["small", "big", "heavy"]
FIELD_KINDS: tuple[FieldKind, ...] = ("small", "big", "heavy")
FIELD_KIND_LABELS: dict[FieldKind, str] = {
    "small": "small module",
    "big": "500-line module",
    "heavy": "1 s top-level init, body edit",
}
HEAVY_INIT_S = 1.0
# Module-level state the hosts read after every save: a token made when the module's top level
# runs. The same token after a save means the module's state was kept (nothing re-ran it).
STATE_LINE = 'STATE = {"born": time.monotonic_ns()}'
SMALL_EXPORTS = {"current_value": "() -> int", **{f"f{n}": "(x: int) -> int" for n in range(1, 10)}}
WEBAPP_MODULE = "webapp"


def small_module(value: int, *, heavy: bool = False) -> str:
    """The small module (the shape of the scale projects' modules: ten short exports), whose
    ``current_value()`` body returns ``value``: every edit is a body edit of that export.

    ``heavy`` adds a top level that takes ``HEAVY_INIT_S`` (``MODEL = _load()``, as a model load
    or a warm cache would), and makes ``STATE`` that model, so "state kept" says whether the
    load ran again.
    """
    kind = "heavy-init" if heavy else "small"
    lines = [f'"""Benchmark target ({kind}): ten small exports."""', ""]
    lines += ["import time", ""]
    if heavy:
        lines += [
            "",
            "def _load() -> dict[str, int]:",
            '    """A model load: expensive start-up work that runs when the top level runs."""',
            f"    time.sleep({HEAVY_INIT_S!r})",
            '    return {"born": time.monotonic_ns()}',
            "",
            "",
            "MODEL = _load()",
            "STATE = MODEL",
            "",
        ]
    else:
        lines += [STATE_LINE, ""]
    lines += [
        "",
        "def current_value() -> int:",
        '    """The export the hosts poll: its body changes with every edit."""',
        f"    return {value}",
        "",
    ]
    for n in range(1, 10):
        lines += ["", f"def f{n}(x: int) -> int:", f"    return x * {n} + 1", ""]
    return "\n".join(lines)


def field_module(kind: FieldKind, value: int) -> str:
    """The field's module of this kind, with ``current_value()`` returning ``value``."""
    if kind == "big":
        return big_module(value, field=True)
    return small_module(value, heavy=kind == "heavy")


# The web case's app: its response comes from the module's export, read on every request (so a
# tool that patches or reloads the module is seen without the app module itself changing).
WEBAPP_SOURCE = f"""\
\"\"\"A tiny ASGI app for the benchmarks' web case: the response is the module's export.\"\"\"

import json
import os

import {BIG_MODULE} as target


async def app(scope, receive, send):
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({{"type": "lifespan.startup.complete"}})
            elif message["type"] == "lifespan.shutdown":
                await send({{"type": "lifespan.shutdown.complete"}})
                return
    payload = {{"value": target.current_value(), "born": target.STATE["born"], "pid": os.getpid()}}
    body = json.dumps(payload).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    await send({{"type": "http.response.start", "status": 200, "headers": headers}})
    await send({{"type": "http.response.body", "body": body}})
"""


def write_field_project(root: Path, kind: FieldKind) -> Project:
    """One field module (``bench_target``) of this kind, its manifest and the web app."""
    root.mkdir(parents=True, exist_ok=True)
    (root / f"{BIG_MODULE}.py").write_text(field_module(kind, 0), encoding="utf-8")
    (root / f"{WEBAPP_MODULE}.py").write_text(WEBAPP_SOURCE, encoding="utf-8")
    exports = BIG_EXPORTS if kind == "big" else SMALL_EXPORTS
    manifest = root / "hotreload.toml"
    manifest.write_text(
        f'[project]\nname = "bench-field-{kind}"\n\n{_exports_table(BIG_MODULE, exports)}'
        + ENV_TABLES,
        encoding="utf-8",
    )
    return Project(root, manifest, (BIG_MODULE,))


_temp_counter = 0


def save(path: Path, text: str, style: SaveStyle) -> int:
    """Write ``text`` as an editor does; return ``time.monotonic_ns()`` taken just before the
    step that completes the save.

    ``atomic``: a temp file in the same directory renamed over the module (the timestamp is
    taken right before ``os.replace``). ``inplace``: open with truncation, write and flush, then
    close (the timestamp is taken right before ``close``). Taken before, not after: a reloader
    that reacts within the writer's own return from that call (it can, on Linux) must not get a
    negative latency when the writer process is descheduled there; a delay before the call
    counts against the reloader instead. CLOCK_MONOTONIC is system-wide on Linux, so the value
    compares with timestamps taken in other processes.
    """
    global _temp_counter
    data = text.encode("utf-8")
    if style == "atomic":
        _temp_counter += 1
        temp = path.with_name(f".{path.name}.{os.getpid()}.{_temp_counter}.tmp")
        with open(temp, "wb") as f:
            f.write(data)
        saved = time.monotonic_ns()
        os.replace(temp, path)
    else:
        with open(path, "wb") as f:
            f.write(data)
            f.flush()
            saved = time.monotonic_ns()
    return saved


# -- big heaps: a nested closure made at run time ------------------------------------------------

CLOSURE_TAIL = """

ROUTES: dict[str, object] = {{}}


def install() -> None:
    \"\"\"Makes the route at run time, as a framework app's factory does.\"\"\"

    def current() -> int:
        return {value}

    ROUTES["current"] = current


install()
"""


def heap_module(value: int, edit: str) -> str:
    """The 500-line module, where ``edit`` says which body returns ``value``: ``body`` is
    `current_value()` itself; ``closure`` is a function `install()` made at run time (its
    nested `current()`), which `current_value()` calls through a registry."""
    if edit == "body":
        return big_module(value, field=True) + CLOSURE_TAIL.format(value=0)
    text = big_module(0, field=True).replace(
        "    return 0\n", '    return ROUTES["current"]()\n', 1
    )
    return text + CLOSURE_TAIL.format(value=value)


def write_heap_project(root: Path, edit: str) -> Project:
    """The heap section's project: ``heap_module(0, edit)`` and the big project's manifest."""
    project = write_big_project(root)
    (root / f"{BIG_MODULE}.py").write_text(heap_module(0, edit), encoding="utf-8")
    return project


# -- start-up: an app importing many project modules -------------------------------------------

STARTUP_FUNCTIONS = 8  # about 50 lines a module


def startup_module(index: int) -> str:
    lines = [f'"""Generated module {index}: a few small functions."""', "", f"VALUE = {index}", ""]
    for n in range(STARTUP_FUNCTIONS):
        lines += [
            "",
            f"def f{n}(x: int) -> int:",
            f'    """Function {n}."""',
            f"    y = x * {n} + VALUE",
            "    return y - 1",
            "",
        ]
    return "\n".join(lines) + "\n"


def write_startup_project(root: Path, size: int) -> Project:
    """An app whose entry imports ``size`` project modules (about 50 lines each, in packages of
    100), run two ways: ``python plain.py`` (plain Python) and ``hotreload up`` (``[app] entry``,
    one manifest module with one export)."""
    root.mkdir(parents=True, exist_ok=True)
    names = [scale_module_name(i) for i in range(size)]
    for index, name in enumerate(names):
        path = root.joinpath(*name.split(".")).with_suffix(".py")
        if not path.parent.is_dir():
            path.parent.mkdir(parents=True)
            (path.parent / "__init__.py").write_text("", encoding="utf-8")
        path.write_text(startup_module(index), encoding="utf-8")
    imports = "".join(f"import {name}\n" for name in names)
    (root / "app.py").write_text(
        f'"""Imports every module."""\n\n{imports}\n\ndef main() -> None:\n    pass\n',
        encoding="utf-8",
    )
    (root / "plain.py").write_text("import app\n\napp.main()\n", encoding="utf-8")
    manifest = root / "hotreload.toml"
    manifest.write_text(
        f'[project]\nname = "bench-startup-{size}"\n\n[app]\nentry = "app:main"\n\n'
        + _exports_table(names[0], {"f0": "(x: int) -> int"})
        + ENV_TABLES,
        encoding="utf-8",
    )
    return Project(root, manifest, tuple(names))
