"""The server `hotreload up` runs in this process, for the app it runs or serves to reach."""

from __future__ import annotations

from typing import TYPE_CHECKING

from hotreload.errors import HotreloadError

if TYPE_CHECKING:
    from hotreload.server import Server

_current: Server | None = None


def current() -> Server:
    """The server of `hotreload up` in this process: ``current().module("handlers")``.

    An app served with ``[app] asgi``/``wsgi`` is imported by `hotreload up`, which cannot
    hand it the server as an argument; this is how its routes reach the bindings.
    """
    if _current is None:
        raise HotreloadError(
            "no hotreload server runs in this process: start the app with `hotreload up`, or, "
            "in-process, use the server that `hotreload.up(...)` returns"
        )
    return _current


def set_current(server: Server | None) -> None:
    """Name the server `current` returns (None when it stops); `hotreload up` calls this."""
    global _current
    _current = server
