"""Reading a module's source safely: a regular file inside the root, whole, settled, decoded,
parsed; and the digest that names a version."""

from __future__ import annotations

import ast
import errno
import io
import os
import stat
import time
import tokenize
from collections.abc import Callable
from pathlib import Path

from hotreload.digests import sha256
from hotreload.parsing import parse
from hotreload.verdicts import Failure

# Every save is read, parsed and compared: a bigger file costs seconds and gigabytes of syntax
# tree (a 20 MB module of short statements takes ~30 s and ~3 GB to analyse).
MAX_SOURCE_BYTES = 8 * 1024 * 1024
READ_ATTEMPTS = 5
# Non-blocking: opening a FIFO put in a module's place must not wait for a writer for ever.
_OPEN_FLAGS = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)


def read_source(path: Path, *, root: Path | None = None) -> bytes | Failure:
    """The file's bytes as of one moment, or why they cannot be had.

    Only a regular file is read: a FIFO would block the reload thread for ever and a device
    could stream for ever. With ``root`` (resolved), a path that resolves outside it (a module
    file replaced by a symlink out of the tree) is refused unread. A read that overlaps a write
    (size or mtime moved while reading) is retried, so the bytes never mix two saves.
    """
    return read_marked(path, root=root)[0]


def read_marked(path: Path, *, root: Path | None = None) -> tuple[bytes | Failure, FileMark]:
    """`read_source`, and the file's mark as the bytes were read (None where none was read)."""
    for _ in range(READ_ATTEMPTS):
        try:
            result = _read_once(path, root)
        except FileNotFoundError:
            return Failure(
                "file_missing", f"{path} does not exist; restore it or save it again"
            ), None
        except IsADirectoryError:
            return Failure("file_missing", f"{path} is a directory, not a module file"), None
        except PermissionError:
            message = (
                f"cannot read {path}: permission denied; make it readable (chmod u+r) and save it"
            )
            return Failure("file_missing", message), None
        except OSError as e:
            if e.errno == errno.ELOOP:
                message = f"{path} is a symlink loop; replace it with the module's source file"
                return Failure("file_missing", message), None
            return Failure("file_missing", f"cannot read {path}: {e.strerror or e}"), None
        if isinstance(result, Failure):
            return result, None
        if result is not None:
            return result
    return Failure(
        "file_missing",
        f"{path} kept changing while it was read ({READ_ATTEMPTS} tries); "
        "it is decided again at its next change",
    ), None


def _read_once(path: Path, root: Path | None) -> tuple[bytes, FileMark] | Failure | None:
    """One attempt of `read_source`: the bytes and their mark, why not, or None if the file
    moved meanwhile."""
    fd = os.open(path, _OPEN_FLAGS)
    try:
        before = os.fstat(fd)
        if stat.S_ISDIR(before.st_mode):
            raise IsADirectoryError(errno.EISDIR, "is a directory")
        if not stat.S_ISREG(before.st_mode):
            return Failure(
                "file_missing",
                f"{path} is not a regular file (a pipe, socket or device); "
                "replace it with the module's source file",
            )
        if root is not None:
            opened = _opened_path(fd)
            if opened is not None and opened.endswith(" (deleted)"):
                return None  # removed since the open: look again
            real = opened if opened is not None else os.path.realpath(path)
            if not _within(real, root):
                return Failure(
                    "outside_root",
                    f"{path} now resolves to {real}, outside the project root {root}; code from "
                    "outside the root is never read: replace the link with the module's file",
                )
            if opened is None and not os.path.samestat(os.stat(real), before):
                return None  # swapped between the open and the check: look again
        if before.st_size > MAX_SOURCE_BYTES:
            return Failure(
                "file_too_large",
                f"{path.name} is {before.st_size / 2**20:.1f} MiB, over the "
                f"{MAX_SOURCE_BYTES / 2**20:g} MiB that hotreload parses and checks at each save; "
                "move bulky data out of the module (into a data file it loads)",
            )
        data = _read_up_to(fd, before.st_size + 1)  # one byte more: a file that grew moved
        after = os.fstat(fd)
    finally:
        os.close(fd)
    moved = (before.st_size, before.st_mtime_ns) != (after.st_size, after.st_mtime_ns)
    return None if moved or len(data) != after.st_size else (data, mark_of(after))


def _within(real: str, root: Path) -> bool:
    """Whether the resolved path ``real`` is ``root`` or under it (both absolute and resolved:
    compared as text, which a save's read does at a tenth of `Path.is_relative_to`'s cost)."""
    top = str(root)
    return real == top or real.startswith(top if top.endswith(os.sep) else top + os.sep)


def _opened_path(fd: int) -> str | None:
    """Where the file open as ``fd`` is, as the kernel resolved it (Linux: one `readlink` of
    /proc/self/fd, where `realpath` takes a system call per directory and must then check that
    it found the file that was opened); None where /proc cannot tell."""
    try:
        found = os.readlink(f"/proc/self/fd/{fd}")
    except OSError:
        return None
    return found if found.startswith("/") else None


def _read_up_to(fd: int, limit: int) -> bytes:
    """Up to ``limit`` bytes from ``fd``, as few reads as the kernel allows. Sized from the
    file's stat, never from the largest module allowed: a buffer of 8 MiB allocated (and
    shrunk) at every save cost ten times the read of a 500-line module."""
    chunks: list[bytes] = []
    while limit > 0:
        chunk = os.read(fd, limit)
        if not chunk:
            break
        chunks.append(chunk)
        limit -= len(chunk)
    return b"".join(chunks)


def decode_source(source: bytes, path: Path) -> str | Failure:
    """Decode as Python does (PEP 263 cookie, else UTF-8, BOM allowed), or say why not."""
    try:
        encoding, _ = tokenize.detect_encoding(io.BytesIO(source).readline)
        return source.decode(encoding).removeprefix("\ufeff")
    except (SyntaxError, UnicodeDecodeError, LookupError) as e:
        return Failure(
            "decode_error",
            f"{path} is not valid UTF-8 (or its declared encoding): {e}; save it as UTF-8",
        )


def parse_source(text: str, path: Path) -> ast.Module | Failure:
    """The module's syntax tree, or the syntax error with its line and column."""
    try:
        return parse(text, filename=str(path))
    except SyntaxError as e:
        where = f"{path.name}:{e.lineno}:{e.offset}" if e.lineno else path.name
        return Failure("syntax_error", f"{where}: {e.msg}", line=e.lineno, column=e.offset)
    except (ValueError, RecursionError, MemoryError) as e:
        return Failure("syntax_error", f"{path.name}: {too_deep(e)}")


def too_deep(error: BaseException) -> str:
    """The message for a parser or analysis that ran out of stack (CPython 3.11 says nothing)."""
    if isinstance(error, RecursionError | MemoryError):
        return "expressions nested too deeply to parse; split them into smaller ones"
    return str(error)


def digest(source: bytes) -> str:
    """Short SHA-256 of a version's bytes: lets a log reader tell which save an event decided."""
    return sha256(source).hexdigest()[:16]


FileMark = tuple[int, int, int, int] | None

# File timestamps come from a clock that may lag the wall clock by a tick (up to 4 ms at
# HZ=250; 1.5 ms measured here): a file looks that much older than it is.
TIMESTAMP_SLACK_NS = 4_000_000


def file_mark(path: Path) -> FileMark:
    """What tells a file moved: inode, size, mtime and ctime (None while it cannot be stat'ed)."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    return mark_of(st)


def mark_of(st: os.stat_result) -> FileMark:
    """The `file_mark` of a stat already made (the import system's own, at an import)."""
    return (st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)


def may_have_moved(mark: FileMark, seen: FileMark, seen_ns: int) -> bool:
    """Whether a file may differ from what was read when its mark was ``seen`` (at wall time
    ``seen_ns``): its mark moved, or it had changed so recently then that a later write in the
    same timestamp tick would leave the mark as it was."""
    if mark != seen or mark is None:
        return True
    return max(mark[2], mark[3]) >= seen_ns - TIMESTAMP_SLACK_NS


def settle_left_ns(mark: FileMark, now_ns: int, quiet_ns: int) -> int:
    """How much longer a file must stay unchanged before its content counts as whole."""
    if mark is None:
        return 0  # cannot be stat'ed: decided as missing, the next change event brings it back
    last_change = max(mark[2], mark[3])  # ctime too: `cp -p` and `touch -d` set an old mtime
    needed = quiet_ns + TIMESTAMP_SLACK_NS
    return min(needed, needed - (now_ns - last_change))  # a future mtime waits one period


def read_settled(
    paths: list[Path],
    *,
    quiet_ns: int,
    limit_s: float,
    root: Path | None,
    wait: Callable[[float], bool],
    inodes: dict[Path, int] | None = None,
    marks: dict[Path, FileMark] | None = None,
    whole: frozenset[Path] = frozenset(),
) -> dict[Path, bytes | Failure]:
    """Each file's bytes, once it has stayed as read for one quiet period.

    watchfiles ends a batch when no *new* (change, path) pair arrives for a step, and more
    writes to a file already in the batch are not new: a file written in pieces (an in-place
    save of a big file, a tool writing line by line, or just the instant between an in-place
    save's truncation and its write) can be read half-written. Its size or mtime moving after
    the read says so, and it is read again. A writer that pauses mid-file for longer than the
    quiet period cannot be told from one that finished. ``wait(seconds)`` sleeps, and returns
    True to give up (the server is stopping); past ``limit_s`` a file still changing is decided
    as read: the change event of the write that moved it brings it back.

    A file that is another inode than the one last read (``inodes``, updated here) was
    replaced whole: an editor's atomic save renames a finished file over the module, and a
    checkout creates the file and writes it at once. It is read without waiting.

    ``marks``, if given, gets each file's mark as it was read. A file in ``whole`` was closed
    after writing (the kernel said so): it is read without waiting too, unless it is empty (an
    editor that truncates, closes, then writes shows an empty file first).
    """
    deadline = time.monotonic() + limit_s
    sources: dict[Path, bytes | Failure] = {}
    read_marks: dict[Path, FileMark] = {}
    pending = paths
    # A replaced file is taken at once only at the first read: one that moves after it is being
    # written after all, and waits like any other.
    known = dict(inodes) if inodes is not None else {}
    closed = set(whole)  # likewise: a file closed after writing, at the first read only
    while pending:
        for path in pending:
            read_marks[path] = file_mark(path)
            sources[path] = read_source(path, root=root)
        if quiet_ns <= 0 or time.monotonic() > deadline:
            break
        # A file whose last change is already a quiet period old needs no wait: its own
        # timestamps say so (the usual case, as the watcher waited a quiet period too).
        now = time.time_ns()
        wait_ns = max(
            0
            if _replaced(read_marks[path], known.pop(path, None))
            or _closed(read_marks[path], _first(closed, path))
            else settle_left_ns(read_marks[path], now, quiet_ns)
            for path in pending
        )
        if wait_ns > 0 and wait(wait_ns / 1e9):
            break
        pending = [path for path in pending if file_mark(path) != read_marks[path]]
    if inodes is not None:
        for path, mark in read_marks.items():
            if mark is not None:
                inodes[path] = mark[0]
    if marks is not None:
        marks.update(read_marks)
    return sources


def _first(paths: set[Path], path: Path) -> bool:
    """Whether ``path`` is in ``paths``, taking it out: true at most once."""
    if path in paths:
        paths.discard(path)
        return True
    return False


def _closed(mark: FileMark, whole: bool) -> bool:
    """Whether the file was closed after writing, and is not empty (see `read_settled`)."""
    return whole and mark is not None and mark[1] > 0


def _replaced(mark: FileMark, inode: int | None) -> bool:
    """Whether the file is a new inode since it was last read: saved atomically, whole."""
    return mark is not None and inode is not None and mark[0] != inode
