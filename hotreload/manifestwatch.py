"""The manifest under a running server: each change is validated and reported, and applies at
the next start (the host was written against the contract it started with)."""

from __future__ import annotations

from pathlib import Path

from hotreload.errors import HotreloadError
from hotreload.events import EventLog, ManifestChanged
from hotreload.manifest import load_manifest


class ManifestWatch:
    """Tells a change of the manifest's bytes from a save that changed nothing, and says what a
    change means: one `manifest.changed` event, valid or not, with what to do."""

    def __init__(self, path: Path, events: EventLog) -> None:
        self.path = path
        self.events = events
        self._bytes = self._read()

    def _read(self) -> bytes:
        try:
            return self.path.read_bytes()
        except OSError:
            return b""

    def touched(self) -> None:
        """The watcher saw the manifest change: validate it and report, once per content."""
        content = self._read()
        if content == self._bytes:
            return
        self._bytes = content
        name = self.path.name
        if not content:
            valid, message = False, f"{name} was deleted or emptied; the server keeps the "
            message += "contract it started with; restore the file before the next restart"
        else:
            try:
                load_manifest(self.path)
                valid = True
                message = (
                    f"{name} changed; the running server keeps the contract it started with "
                    "(the host was written against it): restart `hotreload up` to apply the change"
                )
            except HotreloadError as e:
                valid, message = False, f"{e}; the server keeps the contract it started with"
        self.events.emit(ManifestChanged, manifest=str(self.path), valid=valid, message=message)
