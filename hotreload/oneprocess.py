"""One process: while `hotreload up` reloads, code that starts worker processes is refused.

A reload patches the modules of this process. A worker process (uvicorn's ``workers=2``, a
``multiprocessing`` or ``os.fork`` pre-fork server, a process pool) runs a copy of the code as
it was when it started, or imports the files afresh: no reload reaches it, so it would serve
old code for ever while every reload is logged as accepted. Refusing it at once, with the
reason, beats a log that lies.
"""

from __future__ import annotations

import multiprocessing.process
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from hotreload.errors import WorkersRefused

_refusal: str | None = None  # the message while a reloading `hotreload up` runs
_hook_installed = False


def _message(how: str, env: str) -> str:
    return (
        f"hotreload up refused to start a worker process ({how}): profile {env!r} reloads "
        "the modules of this one process, and a worker process would keep serving the code it "
        "started with for ever while every reload is logged as accepted. Serve from this "
        "process (drop workers=N: `[app] asgi`/`wsgi` serve the app in-process), or run "
        "workers under a profile with reload = false."
    )


def _audit(event: str, _args: tuple[Any, ...]) -> None:
    if _refusal is not None and event in ("os.fork", "os.forkpty"):
        raise WorkersRefused(_message(f"{event}()", _refusal))


@contextmanager
def refuse_workers(env: str) -> Iterator[None]:
    """While active: ``os.fork()`` and every ``multiprocessing`` process start raise
    WorkersRefused in the code that tried. Running other programs (``subprocess``) stays free.

    ``os.fork`` is refused by an audit hook (the interpreter's own interception point; it stays
    installed, inert, once the block ends, as audit hooks cannot be removed); a process started
    by the ``spawn`` method raises no audit event, so ``multiprocessing``'s ``start()`` is
    wrapped for the duration of the block.
    """
    global _refusal, _hook_installed
    if not _hook_installed:
        sys.addaudithook(_audit)
        _hook_installed = True
    base = multiprocessing.process.BaseProcess
    original: Callable[[Any], None] = base.start

    def start(process: Any) -> None:
        raise WorkersRefused(_message(f"multiprocessing {type(process).__name__}.start()", env))

    _refusal = env
    setattr(base, "start", start)  # noqa: B010 (a method of a stdlib class, put back below)
    try:
        yield
    finally:
        setattr(base, "start", original)  # noqa: B010
        _refusal = None
