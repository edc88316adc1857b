"""Starts a thread at import: allowed; each version that runs starts one."""

import threading

RAN = threading.Event()


def _work() -> None:
    RAN.set()


WORKER = threading.Thread(target=_work, name="corpus-worker", daemon=True)
WORKER.start()


def add(a: int, b: int) -> int:
    return a + b + 400
