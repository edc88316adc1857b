"""The FRESH side: what a new interpreter computes from the project in its working directory, with
plain Python imports (no hotreload).

Run as ``python fresh_runner.py SPEC_JSON`` with the project directory as working directory (SPEC as
for ``live_driver.py``). It imports nothing of the project itself: for each ``probe`` line on stdin
it forks a child that imports the project as it is on disk now, probes it, and exits, and it
answers one JSON line on stdout: ``{"result": {...}}``, or ``{"import": "raises ..."}`` when the
project does not import. A forked child of this process is a fresh start for the project (none of
its modules was ever imported here; PYTHONHASHSEED is fixed) and costs a fork instead of an
interpreter's start-up, once per save.
"""

from __future__ import annotations

import importlib
import json
import os
import select
import signal
import sys

import freshprobe  # from this script's folder, sys.path[0]

del sys.path[0]  # the project's module names must never meet the harness's

CHILD_TIMEOUT = 10.0  # an import that runs longer is reported as such


def _probe_in_child(spec: dict[str, object], root: str, write_fd: int) -> None:
    """In the forked child: import the project, probe it, write one JSON line, never return."""
    status = 0
    try:
        sys.path.insert(0, root)
        freshprobe.reset_atexit_base()
        try:
            for name in spec["imports"]:  # type: ignore[attr-defined]
                importlib.import_module(name)
        except BaseException as error:
            import traceback

            last = traceback.extract_tb(error.__traceback__)[-1]
            where = f"{os.path.basename(last.filename)}:{last.lineno}"
            message = {"import": f"raises {type(error).__name__}: {error} ({where})"}
        else:
            probe = spec["probe"]
            message = {"result": freshprobe.snapshot(probe, root, spec.get("main"))}  # type: ignore[arg-type]
        data = (json.dumps(message) + "\n").encode()
        while data:
            data = data[os.write(write_fd, data) :]
    except BaseException:
        status = 1
    finally:
        os._exit(status)  # no atexit, no flushing of what the project opened: a child ends here


def probe_once(spec: dict[str, object], root: str) -> dict[str, object]:
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(read_fd)
        _probe_in_child(spec, root, write_fd)
    os.close(write_fd)
    chunks = []
    try:
        with os.fdopen(read_fd, "rb") as reader:
            while True:
                ready, _, _ = select.select([reader], [], [], CHILD_TIMEOUT)
                if not ready:
                    os.kill(pid, signal.SIGKILL)
                    return {"import": f"did not finish within {CHILD_TIMEOUT} s"}
                chunk = reader.read1(65536)
                if not chunk:
                    break
                chunks.append(chunk)
    finally:
        os.waitpid(pid, 0)
    text = b"".join(chunks).decode()
    if not text:
        return {"import": "the fresh interpreter died without an answer"}
    answer: dict[str, object] = json.loads(text)
    return answer


def main() -> int:
    spec = json.loads(sys.argv[1])
    send = freshprobe.protocol_stdout()
    root = os.path.realpath(os.getcwd())
    send({"driver": "ready"})
    for line in sys.stdin:
        if line.strip() == "probe":
            send({"driver": "probe", **probe_once(spec, root)})
        elif line.strip() == "quit":
            break
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
