"""The served app's static and template folders: found from the app itself, watched for saves
that open pages must follow (a stylesheet swapped in place, a template or other file: reload).

Only folders the app names are watched (a StaticFiles mount, Flask's static and template
folders, a Jinja2 loader's search path), and only those under the project root: the watch stays
bounded to what the pages are built from, never the whole tree (virtual environments, data).
"""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hotreload.lookup import instance_dict, is_a, own_attr
from hotreload.tracking import ProjectFiles
from hotreload.words import AssetKind

if TYPE_CHECKING:
    import watchfiles

STEP_MS = 20  # a person saving a stylesheet does not notice 20 ms; a core does not notice a poll
DEBOUNCE_MS = 50  # an editor's burst of writes (temp file, rename, chmod) is one change


@dataclass(frozen=True)
class AssetFolder:
    """One folder a served app builds its pages from."""

    path: Path
    templates: bool  # a template folder (its files are rendered, not served as they are)
    url: str | None = None  # where a static folder is served ("/static"), when the app says


@dataclass(frozen=True)
class AssetChange:
    """One saved file, as the browser needs it."""

    path: Path
    kind: AssetKind
    url: str | None


def asset_folders(app: Any, root: Path) -> list[AssetFolder]:
    """The static and template folders the app names, under ``root``, each once."""
    found = [*_starlette_folders(app), *_flask_folders(app), *_jinja_folders(root)]
    files = ProjectFiles(root)
    kept: dict[Path, AssetFolder] = {}
    for folder in found:
        path = folder.path.resolve()
        if path.is_dir() and files.folder_is_project(path):
            kept.setdefault(path, AssetFolder(path, folder.templates, folder.url))
    return list(kept.values())


def classify(path: Path, folders: Iterable[AssetFolder]) -> AssetChange | None:
    """What a change of ``path`` is: a stylesheet, a template or another static file; None for
    a file in none of the folders."""
    for folder in folders:
        if not path.is_relative_to(folder.path):
            continue
        url = None
        if folder.url is not None:
            url = folder.url.rstrip("/") + "/" + path.relative_to(folder.path).as_posix()
        if path.suffix.lower() == ".css":
            return AssetChange(path, "stylesheet", url)
        return AssetChange(path, "template" if folder.templates else "static", url)
    return None


class AssetWatcher:
    """A thread that watches the asset folders (recursively) and reports each saved file."""

    def __init__(
        self,
        folders: list[AssetFolder],
        on_change: Callable[[AssetChange], None],
        on_error: Callable[[BaseException], None],
    ) -> None:
        self.folders = folders
        self.on_change = on_change
        self.on_error = on_error
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if not self.folders:
            return
        self._thread = threading.Thread(target=self._run, name="hotreload-assets", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 2.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def _run(self) -> None:
        # Imported here, on the watcher's thread: serving starts without waiting for it.
        import watchfiles

        while not self._stop.is_set():
            try:
                for changes in watchfiles.watch(
                    *(str(f.path) for f in self.folders),
                    debounce=DEBOUNCE_MS,
                    step=STEP_MS,
                    stop_event=self._stop,
                    raise_interrupt=False,
                ):
                    self._report(changes)
            except Exception as error:  # a folder removed, a watch limit: report, then retry
                self.on_error(error)
                self._stop.wait(0.5)

    def _report(self, changes: set[tuple[watchfiles.Change, str]]) -> None:
        import watchfiles

        saved = sorted({p for change, p in changes if change != watchfiles.Change.deleted})
        for name in saved:
            change = classify(Path(name), self.folders)
            if change is not None and os.path.isfile(name):
                try:
                    self.on_change(change)
                except Exception as error:  # one bad report must not end the watch
                    self.on_error(error)


# -- finding the folders -------------------------------------------------------------------


def _starlette_folders(app: Any, prefix: str = "") -> Iterator[AssetFolder]:
    """StaticFiles mounts of a Starlette or FastAPI app (and of mounted sub-apps)."""
    staticfiles = sys.modules.get("starlette.staticfiles")
    routing = sys.modules.get("starlette.routing")
    if staticfiles is None or routing is None:
        return
    for route in getattr(app, "routes", None) or []:
        if not isinstance(route, routing.Mount):
            continue
        path = prefix + route.path
        inner = route.app
        if isinstance(inner, staticfiles.StaticFiles):
            for directory in inner.all_directories:
                yield AssetFolder(Path(directory), templates=False, url=path or "/")
        else:
            yield from _starlette_folders(inner, path)


def _flask_folders(app: Any) -> Iterator[AssetFolder]:
    """A Flask app's static and template folders, and those of its blueprints."""
    if "flask" not in sys.modules or not hasattr(app, "blueprints"):
        return
    for owner in [app, *app.blueprints.values()]:
        root = Path(getattr(owner, "root_path", "") or ".")
        static = getattr(owner, "static_folder", None)
        if static:
            url = getattr(owner, "static_url_path", None)
            if owner is not app and url and getattr(owner, "url_prefix", None):
                url = owner.url_prefix.rstrip("/") + url
            yield AssetFolder(root / static, templates=False, url=url)
        templates = getattr(owner, "template_folder", None)
        if templates:
            yield AssetFolder(root / templates, templates=True)


def _jinja_folders(root: Path) -> Iterator[AssetFolder]:
    """The search paths of Jinja2 file loaders that project modules hold (a module-level
    ``templates = Jinja2Templates(directory="templates")``, or a ``jinja2.Environment``)."""
    jinja2 = sys.modules.get("jinja2")
    if jinja2 is None:
        return
    files = ProjectFiles(root)
    for module in list(sys.modules.values()):
        # Static lookups only (hotreload.lookup): module globals hold werkzeug's proxies
        # (`from flask import current_app`), lazy objects, sessions, that must not run here.
        namespace = instance_dict(module) or {}
        filename = namespace.get("__file__")
        if type(filename) is not str or not files.contains(Path(filename)):
            continue
        for value in list(namespace.values()):
            environment = own_attr(value, "env", value)  # Jinja2Templates keeps it as .env
            if is_a(environment, jinja2.Environment):
                for path in _loader_paths(environment.loader, jinja2):
                    yield AssetFolder(Path(path), templates=True)


def _loader_paths(loader: Any, jinja2: Any) -> Iterator[str]:
    if isinstance(loader, jinja2.FileSystemLoader):
        yield from (str(p) for p in loader.searchpath)
    elif isinstance(loader, jinja2.ChoiceLoader):
        for inner in loader.loaders:
            yield from _loader_paths(inner, jinja2)
    elif isinstance(loader, jinja2.PrefixLoader):
        for inner in loader.mapping.values():
            yield from _loader_paths(inner, jinja2)
