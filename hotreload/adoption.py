"""Project modules the process imports reload too, without a contract: recorded as they are
imported, then tracked like the manifest's."""

from __future__ import annotations

import types
from collections.abc import Callable, Collection
from pathlib import Path

from hotreload.events import EventLog
from hotreload.reload import ModuleSpec, adopt
from hotreload.reloader import Reloader
from hotreload.report import report_loaded
from hotreload.source import digest, read_source
from hotreload.tracking import ImportRecorder, ProjectFiles, imported_project_modules


class ImportedModules:
    """Every module the process imports from under the project root (but the manifest's)
    becomes a live module of the server, reported with `module.loaded` (``contract`` false),
    and its file is watched from then on (``on_tracked``)."""

    def __init__(
        self,
        root: Path,
        *,
        reloader: Reloader,
        events: EventLog,
        manifest_modules: Collection[str],
    ) -> None:
        self.root = root
        self.reloader = reloader
        self.events = events
        self.manifest_modules = manifest_modules
        self.on_tracked: Callable[[Path], None] = lambda _path: None
        self.recorder = ImportRecorder(ProjectFiles(root), self._imported)

    def install(self) -> None:
        """Record imports from now on (before the manifest's modules import their helpers)."""
        self.recorder.install()

    def uninstall(self) -> None:
        """Stop recording; the modules keep running as they are."""
        self.recorder.uninstall()

    def adopt_already_imported(self) -> None:
        """Project modules the host imported before the server started reload too; their file
        as it is now is taken as the source they run."""
        skip = [*self.manifest_modules, *self.reloader.modules.names()]
        for name, path, module in imported_project_modules(self.recorder.files, skip):
            source = read_source(path, root=self.root)
            if isinstance(source, bytes):
                self._imported(name, path, source, module, 0.0)

    def _imported(
        self, name: str, path: Path, source: bytes, module: types.ModuleType, took_ms: float
    ) -> None:
        if name in self.reloader.modules or name in self.manifest_modules:
            return
        spec = ModuleSpec(name=name, path=path, exports={}, contract=False)
        live = adopt(spec, module, source)
        if not self.reloader.track(live):
            return
        report_loaded(self.events, live, digest(source), took_ms)
        self.on_tracked(path)
