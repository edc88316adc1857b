"""The two sides of the replay, each a process in the replay's project folder (``src/`` the
package, the watched root; ``tests/`` its tests; ``hotreload.toml``):

``python replay_child.py live PROJECT``: the LIVE host. It starts hotreload in-process with the
public API (``hotreload.up``) as a user's host does, imports the package, and then answers on
stdin, one JSON object a line on stdout (every event as ``on_event`` gives it, too):

- ``snapshot`` -> ``{"driver": "snapshot", ...}``: every module of the package imported (new
  files of the version on disk included) and fingerprinted;
- ``suite`` -> ``{"driver": "suite", ...}``: the package's tests run in this process by
  ``pytest.main``, against the live modules;
- ``quit`` (or the end of stdin) stops the server.

``python replay_child.py fresh PROJECT``: the FRESH interpreter: the same snapshot and suite on
the files as they are, printed as one JSON line, then it exits. ``forks PROJECT`` serves the same
from forks of one process that imported pytest (see ``forks``).
"""

from __future__ import annotations

import json
import os
import sys
import traceback

import freshprobe  # from this script's folder, sys.path[0]
import replay_suite

del sys.path[0]  # the package's and its tests' names must never meet the harness's


def live(project: str) -> int:
    send = freshprobe.protocol_stdout()
    src = os.path.join(project, "src")
    import hotreload

    try:
        server = hotreload.up(os.path.join(project, "hotreload.toml"), on_event=send, stderr=False)
    except Exception as error:
        send({"driver": "failed", "error": f"{type(error).__name__}: {error}"})
        return 1
    try:
        first = replay_suite.snapshot(src)
        send({"driver": "ready", **first})
        for line in sys.stdin:
            command = line.strip()
            if command == "snapshot":
                send({"driver": "snapshot", **replay_suite.snapshot(src)})
            elif command == "suite":
                send({"driver": "suite", **replay_suite.run(project)})
            elif command == "quit":
                break
    except BaseException:
        send({"driver": "failed", "error": traceback.format_exc()})
        raise
    finally:
        server.stop()
    return 0


def fresh(project: str) -> int:
    """A fresh start on the files as they are: snapshot, suite, one JSON line."""
    send = freshprobe.protocol_stdout()
    src = os.path.join(project, "src")
    sys.path.insert(0, src)
    snapshot = replay_suite.snapshot(src)
    send({"driver": "fresh", **snapshot, "suite": replay_suite.run(project)})
    return 0


def forks(project: str) -> int:
    """Fresh starts at a fork's cost: this process imports pytest (never the package nor its
    tests) and, for each ``fresh`` line on stdin, forks a child that is ``fresh(project)``; the
    child's line goes out on stdout, then ``{"driver": "forked"}`` once it exited. No thread is
    started here, so forking is safe."""
    import pytest  # noqa: F401  (what every fresh start imports first; the package is not)

    sys.stdout.flush()
    for line in sys.stdin:
        if line.strip() != "fresh":
            break
        pid = os.fork()
        if pid == 0:
            status = 1
            try:
                status = fresh(project)
            except BaseException:
                traceback.print_exc()
            finally:
                sys.stdout.flush()
                sys.stderr.flush()
                os._exit(status)
        _, status = os.waitpid(pid, 0)
        print(json.dumps({"driver": "forked", "status": status}), flush=True)
    return 0


if __name__ == "__main__":
    mode, folder = sys.argv[1], os.path.realpath(sys.argv[2])
    os.chdir(folder)
    raise SystemExit({"live": live, "fresh": fresh, "forks": forks}[mode](folder))
