"""Security: nothing outside the project root is read or run, rejected code never runs, and
production cannot be switched into watching or reloading by editing files."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from conftest import EVENT_TIMEOUT, EventRecorder, Project
from support import wait_until

from hotreload import ManifestError
from hotreload.server import Server, up
from hotreload.watcher import Watcher

EXPORT = 'add = "(a: int, b: int) -> int"'


def valid(offset: int, *, top: str = "") -> str:
    return f"{top}def add(a: int, b: int) -> int:\n    return a + b + {offset}\n"


def leaves_marker(marker: Path) -> str:
    """Top-level code that proves it ran."""
    return f"open({str(marker)!r}, 'w').close()\n"


def manifest(modules: list[str], *, root: str = "project", extra: str = "") -> str:
    tables = "".join(f'[modules."{m}".exports]\n{EXPORT}\n' for m in modules)
    return (
        f'[project]\nname = "security"\nroot = "{root}"\n{tables}'
        "[env.development]\nreload = true\ndebounce_ms = 5\n"
        f"[env.production]\nreload = false\n{extra}"
    )


class Tree:
    """tmp/project (the root the manifest names), tmp/outside (a tree beside it), a marker."""

    def __init__(self, base: Path) -> None:
        self.base = base
        self.root = base / "project"
        self.outside = base / "outside"
        self.marker = base / "outside-code-ran"
        self.manifest = base / "hotreload.toml"
        self.root.mkdir()
        self.outside.mkdir()

    def write(self, path: Path, text: str) -> Path:
        path.parent.mkdir(parents=True, exist_ok=True)
        temp = path.with_name(f".{path.name}.tmp")
        temp.write_text(text, encoding="utf-8")
        os.replace(temp, path)
        return path

    def evil(self, path: Path) -> Path:
        """A file that keeps the contract, so only where it lives can refuse it."""
        return self.write(path, valid(666, top=leaves_marker(self.marker)))


@pytest.fixture
def tree(project: Project) -> Tree:
    # `project` removes the modules the test imports from sys.modules afterwards.
    return Tree(project.root)


@pytest.fixture
def servers() -> Iterator[list[Server]]:
    started: list[Server] = []
    try:
        yield started
    finally:
        for server in started:
            server.stop()


Up = Callable[..., tuple[Server, EventRecorder]]


@pytest.fixture
def start_tree(tree: Tree, servers: list[Server]) -> Up:
    def _start(env: str | None = None) -> tuple[Server, EventRecorder]:
        events = EventRecorder()
        server = up(tree.manifest, env=env, on_event=events)
        servers.append(server)
        return server, events

    return _start


# -- names and paths that would leave the root ----------------------------------------------


@pytest.mark.parametrize(
    "name", ["../evil", "/evil", "..evil", ".evil", "project/../evil", "C:\\\\evil", "evil\\u0000"]
)
def test_module_name_that_is_not_a_dotted_import_name_is_refused(tree: Tree, name: str) -> None:
    tree.evil(tree.base / "evil.py")
    tree.manifest.write_text(manifest([name]), encoding="utf-8")
    with pytest.raises(ManifestError, match="not a valid module name"):
        up(tree.manifest)
    assert not tree.marker.exists()


@pytest.mark.parametrize("linked", ["file", "package_directory"])
def test_module_linked_out_of_the_root_is_refused_at_start_unrun(tree: Tree, linked: str) -> None:
    if linked == "file":
        name = "calc"
        (tree.root / "calc.py").symlink_to(tree.evil(tree.outside / "calc.py"))
    else:
        name = "pkg.calc"
        tree.write(tree.outside / "pkg" / "__init__.py", "")
        tree.evil(tree.outside / "pkg" / "calc.py")
        (tree.root / "pkg").symlink_to(tree.outside / "pkg", target_is_directory=True)
    tree.manifest.write_text(manifest([name]), encoding="utf-8")
    with pytest.raises(ManifestError, match="outside the project root"):
        up(tree.manifest)
    assert not tree.marker.exists()


def test_module_replaced_at_run_time_by_a_link_out_of_the_root_is_not_read(
    tree: Tree, start_tree: Up
) -> None:
    path = tree.write(tree.root / "calc.py", valid(0))
    tree.manifest.write_text(manifest(["calc"]), encoding="utf-8")
    server, events = start_tree()
    evil = tree.evil(tree.outside / "calc.py")
    mark = events.mark()
    link = path.with_name(".calc.py.link")
    link.symlink_to(evil)
    os.replace(link, path)  # an atomic swap: calc.py is now a link out of the tree
    event = events.wait_for("reload.rejected", after=mark, module="calc")
    assert event["reason"] == "outside_root"
    assert str(evil) in event["message"]
    assert "replace the link with the module's file" in event["message"]
    assert event["digest"] is None  # refused unread
    assert not tree.marker.exists()
    assert server.module("calc").add(2, 3) == 5
    mark = events.mark()
    tree.write(path, valid(7))  # the next save replaces the link with a file: applied
    assert events.wait_for("reload.accepted", after=mark, module="calc")["version"] == 2
    assert server.module("calc").add(2, 3) == 12


def test_package_directory_swapped_for_a_link_out_of_the_root_is_not_read(
    tree: Tree, start_tree: Up
) -> None:
    tree.write(tree.root / "pkg" / "__init__.py", "")
    path = tree.write(tree.root / "pkg" / "calc.py", valid(0))
    tree.manifest.write_text(manifest(["pkg.calc"]), encoding="utf-8")
    server, _ = start_tree()
    tree.write(tree.outside / "pkg" / "__init__.py", "")
    tree.evil(tree.outside / "pkg" / "calc.py")
    (tree.root / "pkg").rename(tree.base / "pkg-away")
    (tree.root / "pkg").symlink_to(tree.outside / "pkg", target_is_directory=True)
    # The watch was on the old directory; ask for the decision directly, as a host may.
    [outcome] = server.reload([path])
    assert outcome.kind == "rejected"
    assert outcome.failure is not None and outcome.failure.reason == "outside_root"
    assert not tree.marker.exists()
    assert server.module("pkg.calc").add(2, 3) == 5


# -- code the contract rejects never runs ---------------------------------------------------


REJECTED: list[tuple[str, Callable[[str], bytes]]] = [
    # (reason, a version whose top level would leave the marker, from that top-level line)
    ("parameters_changed", lambda top: f"{top}def add(a: int) -> int:\n    return 0\n".encode()),
    (
        "export_removed",
        lambda top: f"{top}def plus(a: int, b: int) -> int:\n    return a\n".encode(),
    ),
    ("syntax_error", lambda top: f"{top}{valid(1)}def broken(:\n".encode()),
    ("decode_error", lambda top: f"{top}# caf\xe9\n{valid(1)}".encode("latin-1")),
    ("file_too_large", lambda top: (top + valid(1)).encode() + b"#" * (9 * 2**20) + b"\n"),
]


@pytest.mark.parametrize(("reason", "make"), REJECTED, ids=[case[0] for case in REJECTED])
def test_code_of_a_rejected_version_never_runs(
    tree: Tree, start_tree: Up, reason: str, make: Callable[[str], bytes]
) -> None:
    path = tree.write(tree.root / "calc.py", valid(0))
    tree.manifest.write_text(manifest(["calc"]), encoding="utf-8")
    server, events = start_tree()
    mark = events.mark()
    temp = path.with_name(".calc.py.tmp")
    temp.write_bytes(make(leaves_marker(tree.marker)))
    os.replace(temp, path)
    event = events.wait_for("reload.rejected", after=mark, module="calc")
    assert event["reason"] == reason
    assert not tree.marker.exists()
    assert server.module("calc").add(2, 3) == 5


# -- production -----------------------------------------------------------------------------


def test_production_cannot_be_made_to_watch_or_reload_by_editing_files(
    tree: Tree, start_tree: Up
) -> None:
    """Edits that would turn reload on (the profile, the default env) and module saves change
    nothing. A separate watcher on the same files is the witness that the edits were seen by
    the OS, so the test waits on something rather than sleeping for a while."""
    path = tree.write(tree.root / "calc.py", valid(0))
    tree.manifest.write_text(manifest(["calc"]), encoding="utf-8")
    server, events = start_tree("production")
    add = server.module("calc").add
    assert not server.watching
    assert [t for t in threading.enumerate() if t.name == "hotreload-watcher"] == []
    seen: list[Path] = []
    witness = Watcher([path, tree.manifest], lambda paths, *_: seen.extend(paths), debounce_ms=5)
    witness.start()
    try:
        tree.manifest.write_text(
            manifest(["calc"], root="project").replace("reload = false", "reload = true")
            + 'debounce_ms = 1\n[app]\nentry = "calc:add"\n',
            encoding="utf-8",
        )
        tree.write(path, valid(100, top=leaves_marker(tree.marker)))
        wait_until(lambda: path in seen and tree.manifest in seen, timeout=EVENT_TIMEOUT)
    finally:
        witness.stop()
    assert add(2, 3) == 5
    assert server.version("calc") == 1
    assert not tree.marker.exists()
    assert not server.watching
    assert events.names() == ["module.loaded", "server.started"]
