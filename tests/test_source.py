"""Reading a save whole: an atomic save at once, an in-place write once it settled, and never a
wait without end, whatever a writer does."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

from hotreload.engine.source import (
    TIMESTAMP_SLACK_NS,
    file_mark,
    may_have_moved,
    read_marked,
    read_settled,
)
from hotreload.verdicts import Failure

QUIET_NS = 5_000_000


def replace_file(path: Path, text: str) -> None:
    temp = path.with_name(f".{path.name}.tmp")
    temp.write_text(text, encoding="utf-8")
    os.replace(temp, path)


def test_an_atomic_save_is_read_whole_and_the_new_inode_noted(tmp_path: Path) -> None:
    path = tmp_path / "m.py"
    path.write_text("X = 1\n", encoding="utf-8")
    mark = file_mark(path)
    assert mark is not None
    inodes = {path: mark[0]}
    replace_file(path, "X = 2\n")
    waits: list[float] = []
    sources = read_settled(
        [path],
        quiet_ns=QUIET_NS,
        limit_s=2.0,
        root=None,
        wait=lambda s: waits.append(s) or False,
        inodes=inodes,
    )
    assert sources[path] == b"X = 2\n"
    assert waits == []  # a file renamed over the module is whole: no quiet period to wait out
    assert inodes[path] == os.stat(path).st_ino


def test_an_in_place_write_waits_out_the_quiet_period(tmp_path: Path) -> None:
    path = tmp_path / "m.py"
    path.write_text("X = 1\n", encoding="utf-8")
    inodes = {path: os.stat(path).st_ino}
    path.write_text("X = 2\n", encoding="utf-8")  # same inode: it may be written in pieces
    waits: list[float] = []
    # A quiet period long enough that the file is still fresh when read on a loaded machine.
    quiet_ns = 300_000_000
    read_settled(
        [path],
        quiet_ns=quiet_ns,
        limit_s=2.0,
        root=None,
        wait=lambda s: waits.append(s) or False,
        inodes=inodes,
    )
    # At most one quiet period from now (the file system may stamp a few ms ahead of the clock).
    assert waits and all(0 < s <= quiet_ns / 1e9 + 0.02 for s in waits)


def test_a_file_replaced_then_written_without_pause_ends_within_the_limit(tmp_path: Path) -> None:
    """A replaced file that keeps moving is being written after all: it waits like any other,
    and past the limit it is decided as read (no busy loop, no endless wait)."""
    path = tmp_path / "m.py"
    path.write_text("X = 0\n", encoding="utf-8")
    inodes = {path: os.stat(path).st_ino}
    replace_file(path, "X = 1\n")
    stop, writing = threading.Event(), threading.Event()

    def keep_writing() -> None:
        n = 0
        while not stop.is_set():
            n += 1
            with open(path, "a", encoding="utf-8") as f:
                f.write(f"# {n}\n")
            if n == 10:
                writing.set()

    writer = threading.Thread(target=keep_writing)
    writer.start()
    try:
        assert writing.wait(10)
        began = time.monotonic()
        sources = read_settled(
            [path],
            quiet_ns=QUIET_NS,
            limit_s=0.5,
            root=None,
            wait=threading.Event().wait,
            inodes=inodes,
        )
        # However long the writer goes on: the limit (0.5 s) and one last wait, not more.
        assert time.monotonic() - began < 2.5
        # Decided as read, or, when every read overlapped a write, as a file that kept changing
        # (its next change event brings it back).
        read = sources[path]
        assert isinstance(read, bytes) or "kept changing" in read.message
    finally:
        stop.set()
        writer.join()


def test_a_resync_reads_a_file_only_if_it_may_have_moved_since_it_was_read(tmp_path: Path) -> None:
    """A fresh watch decides every file once; a stat says which ones need reading."""
    path = tmp_path / "m.py"
    path.write_text("X = 1\n", encoding="utf-8")
    mark = file_mark(path)
    assert mark is not None
    seen_ns = max(mark[2], mark[3]) + 2 * TIMESTAMP_SLACK_NS  # read well after it was written
    assert not may_have_moved(file_mark(path), mark, seen_ns)
    path.write_text("X = 22\n", encoding="utf-8")
    assert may_have_moved(file_mark(path), mark, seen_ns)
    path.unlink()
    assert may_have_moved(file_mark(path), mark, seen_ns)


def test_a_file_read_in_the_tick_it_was_written_is_read_again(tmp_path: Path) -> None:
    """A second write in the same timestamp tick, of the same size, leaves the mark as it was."""
    path = tmp_path / "m.py"
    path.write_text("X = 1\n", encoding="utf-8")
    mark = file_mark(path)
    assert mark is not None
    written = max(mark[2], mark[3])
    assert may_have_moved(mark, mark, written + TIMESTAMP_SLACK_NS // 2)
    assert not may_have_moved(mark, mark, written + 2 * TIMESTAMP_SLACK_NS)


def test_a_link_into_a_folder_whose_name_starts_with_the_root_s_is_outside_the_root(
    tmp_path: Path,
) -> None:
    """The root check compares resolved paths as text: `/x/app-old/m.py` is not under the root
    `/x/app`, though its text starts with the root's. The file inside is read, with its mark."""
    root, sibling = tmp_path / "app", tmp_path / "app-old"
    root.mkdir()
    sibling.mkdir()
    (sibling / "m.py").write_bytes(b"X = 1\n")
    (root / "m.py").symlink_to(sibling / "m.py")
    (root / "n.py").write_bytes(b"X = 2\n")
    refused, mark = read_marked(root / "m.py", root=root.resolve())
    assert isinstance(refused, Failure) and refused.reason == "outside_root" and mark is None
    assert read_marked(root / "n.py", root=root.resolve()) == (b"X = 2\n", file_mark(root / "n.py"))
    assert read_marked(sibling / "m.py", root=tmp_path.resolve())[0] == b"X = 1\n"
