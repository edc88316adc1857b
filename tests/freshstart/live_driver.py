"""The LIVE side: a host that starts hotreload in-process on the project in its working directory,
imports the project through the normal import system, and answers the harness.

``python live_driver.py SPEC_JSON``, in the project directory, is one host. SPEC:
``{"imports": [module, ...], "main": module or null, "probe": [expression, ...]}``. Public API
only (``hotreload.up``, ``on_event``). Protocol, one JSON object a line on stdout:

- every event, as ``on_event`` gives it (it has an ``event`` key);
- ``{"driver": "ready"}`` once the project is imported, or ``{"driver": "failed", ...}``;
- ``probe`` on stdin -> ``{"driver": "probe", "result": {...}}``;
- ``exec CODE`` on stdin (CODE a JSON string) -> ``{"driver": "done", "error": ...}``;
- ``quit`` (or end of stdin) stops the server and exits.

``python live_driver.py --zygote FD`` is what the harness runs instead, once per worker: it imports
hotreload (about a third of a second of CPU a host) and then, for each request on the Unix socket
FD (a JSON ``{"root", "spec"}`` with three file descriptors: the host's stdin, stdout and
stderr), forks a host as above in ``root`` and answers ``{"pid": ...}``. Each edit thus gets a host
of its own, which shares no state with another edit's, for the cost of a fork. The zygote starts no
thread, so forking it is safe; it reaps its hosts.
"""

from __future__ import annotations

import importlib
import json
import os
import signal
import socket
import sys
import threading
import traceback

import freshprobe  # from this script's folder, sys.path[0]

del sys.path[0]  # the project's module names must never meet the harness's


def host(spec: dict[str, object]) -> int:
    """One live host in the current directory, until ``quit`` or the end of stdin."""
    send = freshprobe.protocol_stdout()
    root = os.path.realpath(os.getcwd())
    main_module = spec.get("main")
    import hotreload

    freshprobe.reset_atexit_base()
    try:
        server = hotreload.up("hotreload.toml", on_event=send, stderr=False)
    except Exception as error:
        send({"driver": "failed", "error": f"{type(error).__name__}: {error}"})
        return 1
    try:
        for name in spec["imports"]:  # type: ignore[attr-defined]
            importlib.import_module(name)
    except BaseException as error:
        send({"driver": "failed", "error": "".join(traceback.format_exception(error))})
        server.stop()
        return 1
    send({"driver": "ready"})
    try:
        for line in sys.stdin:
            command, _, argument = line.strip().partition(" ")
            if command == "probe":
                result = freshprobe.snapshot(spec["probe"], root, main_module)  # type: ignore[arg-type]
                send({"driver": "probe", "result": result})
            elif command == "exec":
                error = None
                try:
                    names = freshprobe.namespace(root, main_module, uses=argument)  # type: ignore[arg-type]
                    exec(json.loads(argument), names)
                except Exception as exc:
                    error = f"{type(exc).__name__}: {exc}"
                send({"driver": "done", "error": error})
            elif command == "quit":
                break
    finally:
        server.stop()
    return 0


def zygote(fd: int) -> int:
    """Fork a host for each request on the socket ``fd`` until it closes."""
    import hotreload  # noqa: F401  (what every host needs, imported once here)

    control = socket.socket(fileno=fd)
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # the kernel reaps the hosts
    while True:
        message, fds, _, _ = socket.recv_fds(control, 65536, 3)
        if not message:
            return 0
        request = json.loads(message)
        if threading.active_count() != 1:  # a fork copies only this thread: never fork with more
            control.sendall(b'{"error": "the zygote has threads"}\n')
            return 1
        pid = os.fork()
        if pid == 0:
            status = 1
            try:
                control.close()
                signal.signal(signal.SIGCHLD, signal.SIG_DFL)
                for target, source in enumerate(fds):
                    os.dup2(source, target)
                    os.close(source)
                os.chdir(request["root"])
                status = host(request["spec"])
            except BaseException:
                traceback.print_exc()
            finally:
                sys.stderr.flush()
                os._exit(status)
        for source in fds:
            os.close(source)
        control.sendall(json.dumps({"pid": pid}).encode() + b"\n")


if __name__ == "__main__":
    if sys.argv[1] == "--zygote":
        raise SystemExit(zygote(int(sys.argv[2])))
    raise SystemExit(host(json.loads(sys.argv[1])))
