"""Which modules reload: the manifest's, and every module the process imports from the project.

A module is reloaded by comparing its new source with the source it runs, so that source must
be known from the moment the module is imported: directories under the project root get a
finder (through `sys.path_hooks`) whose loader records the bytes of each module it imports.
Modules imported before the server started are rehomed with their file as it is then.

Installed code is never tracked, even under the root: virtual environments, `site-packages`,
hidden folders, build outputs, and hotreload itself.
"""

from __future__ import annotations

import importlib.machinery
import os
import stat
import sys
import sysconfig
import threading
import time
import types
from collections.abc import Callable, Iterable, Mapping
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

# name, file (its text: a Path is made where it is kept), the source it ran, the module,
# milliseconds the import took, the file's stat when it was read, and whether the file itself
# is a symlink (None for both where unknown)
ImportHandler = Callable[
    [str, str, bytes, types.ModuleType, float, os.stat_result | None, bool | None], None
]

# Folders whose modules are never the project's own code.
EXCLUDED_FOLDERS = frozenset(
    {"site-packages", "dist-packages", "__pycache__", "node_modules", "build", "dist"}
)


def installed_locations() -> list[Path]:
    """Where installed code lives: the interpreter's prefixes and package folders, hotreload."""
    places = {sys.prefix, sys.base_prefix, sys.exec_prefix}
    paths = sysconfig.get_paths()  # each call expands the whole scheme again
    places.update(
        paths[key] for key in ("purelib", "platlib", "stdlib", "platstdlib") if key in paths
    )
    places.add(os.path.dirname(__file__))  # hotreload itself
    return [Path(os.path.realpath(p)) for p in places if p]


class RealPaths:
    """``os.path.realpath`` of files, each folder resolved once: realpath stats every part of a
    path, and the modules of a package share their folder."""

    def __init__(self) -> None:
        self._folders: dict[str, str] = {}

    def __call__(self, file: str, *, link: bool | None = None) -> str:
        """``link``: whether the file itself is a symlink, where a stat made already says so
        (the import system's, at an import); None to look (one `lstat`)."""
        if link or (link is None and os.path.islink(file)):
            return os.path.realpath(file)
        folder, sep, name = file.rpartition(os.sep)
        if not sep or not name or folder.endswith(sep) or (os.altsep and os.altsep in file):
            # No folder, separators doubled or trailing, Windows: as `os.path.split` says.
            folder, name = os.path.split(file)
            real = self._folders.get(folder)
            if real is None:
                real = self._folders[folder] = os.path.realpath(folder)
            return os.path.join(real, name)
        folder = folder or sep  # a file in the root folder
        real = self._folders.get(folder)
        if real is None:
            real = self._folders[folder] = os.path.realpath(folder)
        # Asked for every module imported: the same text when the folder is real (one string
        # kept, not two equal ones).
        if real == folder:
            return file
        return real + name if real.endswith(sep) else real + sep + name


class ProjectFiles:
    """Decides which source files are the project's own: under the root, not installed code."""

    def __init__(self, root: Path, installed: Iterable[Path] | None = None) -> None:
        self.root = Path(os.path.realpath(root))
        # An installed location that contains the root (a project inside the interpreter's
        # prefix, as in a container's /usr) must not exclude the whole project.
        self._installed = [
            p
            for p in (installed if installed is not None else installed_locations())
            if not self.root.is_relative_to(p)
        ]
        self._folders: dict[Path, bool] = {}
        # Asked for every module in sys.modules (hundreds, in a few dozen folders).
        self._realpath = RealPaths()
        self._root_text = str(self.root)
        self._root_prefix = self._root_text.rstrip(os.sep) + os.sep

    def contains(self, path: Path) -> bool:
        """Whether ``path`` (a module's file) is project code that may reload."""
        real = self._realpath(os.fspath(path))
        if os.path.splitext(real)[1] != ".py":
            return False
        folder = os.path.dirname(real)
        # Text, not Path: asked for every module in sys.modules, most of them elsewhere.
        if folder != self._root_text and not folder.startswith(self._root_prefix):
            return False
        return self.folder_is_project(Path(folder))

    def folder_is_project(self, folder: Path) -> bool:
        """Whether modules in ``folder`` are project code (cached: asked at every import)."""
        cached = self._folders.get(folder)
        if cached is None:
            cached = self._folders[folder] = self._decide(folder)
        return cached

    def _decide(self, folder: Path) -> bool:
        if not folder.is_relative_to(self.root):
            return False
        if any(folder.is_relative_to(place) for place in self._installed):
            return False
        relative = folder.relative_to(self.root).parts
        if any(part.startswith(".") or part in EXCLUDED_FOLDERS for part in relative):
            return False
        # A virtual environment under the root, whatever its name: it holds pyvenv.cfg.
        current = folder
        while current != self.root and current.is_relative_to(self.root):
            if (current / "pyvenv.cfg").exists():
                return False
            current = current.parent
        return True


class ImportRecorder:
    """Records the source of every project module the process imports while it is installed."""

    def __init__(
        self,
        files: ProjectFiles,
        on_import: ImportHandler,
        began: dict[str, int] | None = None,
        around: Callable[[types.ModuleType], AbstractContextManager[object]] | None = None,
        on_burst_end: Callable[[], object] | None = None,
    ) -> None:
        self.files = files
        self.on_import = on_import
        # Called when a thread's outermost project import ends (the modules it imported are
        # told to ``on_import`` as each ends, and may be taken in one go then).
        self.on_burst_end = on_burst_end
        self._importing = threading.local()  # `.depth`: this thread's project imports running
        # The order imports began in (name -> 0, 1, 2, ...): a module imported while another
        # ran its import began after it. `sys.modules` cannot tell: an import moves its module
        # to the end once it finished.
        self.began: dict[str, int] = {} if began is None else began
        self.around = around  # what the module's run is wrapped in (recording what it does)
        self._installed = False
        self._lock = threading.Lock()
        self._made: set[str] = set()  # the path entries the hook made a finder for
        recorder = self

        class RecordingLoader(importlib.machinery.SourceFileLoader):
            """The standard source loader, which also tells what bytes the module ran.

            The bytes and the stat are kept from the loader's own stat and read of the file
            (one of each per import, as without hotreload); only a module loaded from a
            valid .pyc, whose source the loader never reads, is read here. The stat is an
            `lstat` first: it tells the watcher whether the file is a symlink (followed then,
            with a second stat), which it would otherwise ask the system at every import.
            """

            _source: bytes | None = None
            _stat: os.stat_result | None = None
            _link: bool | None = None

            def path_stats(self, path: str) -> Mapping[str, Any]:
                st = os.lstat(path)
                link = stat.S_ISLNK(st.st_mode)
                if link:
                    st = os.stat(path)
                self._stat, self._link = st, link
                return {"mtime": st.st_mtime, "size": st.st_size}

            def source_to_code(  # type: ignore[override]  # a staticmethod in typeshed
                self, data: Any, path: Any, *, _optimize: int = -1
            ) -> types.CodeType:
                if isinstance(data, bytes):
                    self._source = data
                return super().source_to_code(data, path, _optimize=_optimize)

            def exec_module(self, module: types.ModuleType) -> None:
                importing = recorder._importing
                depth = getattr(importing, "depth", 0)
                importing.depth = depth + 1
                try:
                    self._run(module)
                finally:
                    importing.depth = depth
                    if not depth and recorder.on_burst_end is not None:
                        recorder.on_burst_end()

            def _run(self, module: types.ModuleType) -> None:
                if recorder._installed:
                    order = recorder.began
                    order.setdefault(module.__name__, len(order))
                began = time.perf_counter()
                if recorder._installed and recorder.around is not None:
                    with recorder.around(module):
                        super().exec_module(module)
                else:
                    super().exec_module(module)
                if recorder._installed:
                    took_ms = (time.perf_counter() - began) * 1000
                    source = self._source
                    if source is None:  # compiled code came from a .pyc: read what it ran
                        source = self.get_data(self.path)
                    # The loader lives on in the module's spec: it keeps neither the bytes nor
                    # the stat (a stat result is some 600 bytes of int objects per module).
                    seen, link = self._stat, self._link
                    self._source = self._stat = self._link = None
                    name, path = module.__name__, self.path
                    recorder.on_import(name, path, source, module, took_ms, seen, link)

        self._loader = RecordingLoader

    def _hook(self, entry: str) -> Any:
        """A `sys.path_hooks` entry: a finder for project folders; ImportError for the rest."""
        folder = Path(os.path.realpath(entry or "."))
        if not self._installed or not folder.is_dir() or not self.files.folder_is_project(folder):
            raise ImportError("not a project folder")  # the next hook (the standard one) answers
        machinery = importlib.machinery
        self._made.add(entry)  # `sys.path_importer_cache` keeps it under this entry
        return machinery.FileFinder(
            entry,
            (self._loader, machinery.SOURCE_SUFFIXES),
            (machinery.ExtensionFileLoader, machinery.EXTENSION_SUFFIXES),
            (machinery.SourcelessFileLoader, machinery.BYTECODE_SUFFIXES),
        )

    def install(self) -> None:
        """Put the hook first and forget the finders already made for project folders."""
        with self._lock:
            self._installed = True
            sys.path_hooks.insert(0, self._hook)
            self._forget_finders()

    def uninstall(self) -> None:
        """Remove the hook and its finders; modules it loaded keep running."""
        with self._lock:
            if not self._installed:
                return
            self._installed = False
            if self._hook in sys.path_hooks:
                sys.path_hooks.remove(self._hook)
            # The finders it made, by their entries (a real path of each cached entry was
            # asked here before: some 60 us each, with a package's folder cached for each).
            for entry in self._made:
                sys.path_importer_cache.pop(entry, None)
            self._made.clear()

    def _forget_finders(self) -> None:
        """Forget the finders made before the hook for project folders (the standard ones)."""
        for entry in list(sys.path_importer_cache):
            try:
                folder = Path(os.path.realpath(entry or "."))
            except (TypeError, ValueError):
                continue
            if folder.is_relative_to(self.files.root):
                sys.path_importer_cache.pop(entry, None)


def imported_project_modules(
    files: ProjectFiles, skip: Iterable[str]
) -> list[tuple[str, Path, types.ModuleType]]:
    """Project modules the process imported already (before the server started)."""
    skipped = set(skip) | {"__main__"}
    main = sys.modules.get("__main__")
    found = []
    for name, module in list(sys.modules.items()):
        namespace = _namespace(module)  # never getattr: a lazy module would load itself
        filename = namespace.get("__file__")
        if name in skipped or type(filename) is not str:
            continue
        if module is main or namespace.get("__name__", name) != name:
            continue  # another name for a module (`__mp_main__` is the script run as __main__)
        path = Path(filename)
        if files.contains(path):
            found.append((name, Path(os.path.realpath(path)), module))
    return found


_MODULE_DICT: Any = vars(types.ModuleType)["__dict__"]


def _namespace(module: object) -> dict[str, object]:
    """A module's namespace as `ModuleType` keeps it; empty for anything else in sys.modules."""
    if not issubclass(type(module), types.ModuleType):
        return {}
    namespace = _MODULE_DICT.__get__(module, type(module))
    return namespace if type(namespace) is dict else {}
