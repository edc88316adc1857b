"""What the warnings for changes that will not run again cost a body edit (issue 16, item 6).

`python -m benchmarks.stale` saves a body edit of a host module 40 times, in a project of 200
imported helper modules, with and without a thread running the host's `while` loop (the stack
walk then finds calls to judge), on a 20-line and a 540-line host module; it prints the reload's
`duration_ms` (p50, p90) and the check's own time (the stack walk and the call-site rule).
Run it on a checkout without the check (`PYTHONPATH=that checkout`) for the figures before: the
check's own time is then absent.
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import textwrap
import threading
import time
from pathlib import Path
from typing import Any

import hotreload

SAVES = 40
HELPERS = 200
HOST = textwrap.dedent(
    """
    import time
    import helper0

    STOP = False


    def setup():
        return 1


    def tick(n):
        return n + 1


    def main():
        setup()
        n = 0
        while not STOP:
            n = tick(n)
            time.sleep(0.01)
    """
)
EXTRA = "\n\n".join(
    f"def extra{j}(x):\n    y = x * 2\n    for i in range(3):\n        y += i\n    return y + {j}\n"
    for j in range(100)
)


SPENT: list[float] = []  # milliseconds of each run of the check, where this checkout has it


def _time_the_check() -> None:
    try:
        from hotreload.engine.batch import Batches
    except ImportError:
        return
    find = getattr(Batches, "_find_stale", None)
    if find is None:
        return

    def timed(self: Any, accepted: Any) -> None:
        began = time.perf_counter()
        try:
            find(self, accepted)
        finally:
            SPENT.append((time.perf_counter() - began) * 1000)

    Batches._find_stale = timed  # type: ignore[method-assign]


def scenario(name: str, *, big: bool, loop: bool) -> str:
    root = Path(tempfile.mkdtemp(prefix="stale-bench-"))
    sys.path.insert(0, str(root))
    manifest = '[project]\nname = "b"\n[env.development]\nreload = true\ndebounce_ms = 1\n'
    (root / "hotreload.toml").write_text(manifest)
    body = "\n\n".join(f"def f{j}(x):\n    return x + {j}\n" for j in range(20))
    for i in range(HELPERS):
        (root / f"helper{i}.py").write_text(f"import os\n\n{body}\n")
    host = HOST + ("\n\n" + EXTRA if big else "")
    (root / "host.py").write_text(host)
    for i in range(HELPERS):
        __import__(f"helper{i}")
    module = __import__("host")
    SPENT.clear()
    done = threading.Event()
    durations: list[float] = []

    def on_event(event: dict[str, Any]) -> None:
        if event["event"] == "reload.accepted" and event["module"] == "host":
            durations.append(float(event["duration_ms"]))
            done.set()

    with hotreload.up(root / "hotreload.toml", on_event=on_event, stderr=False):
        thread = threading.Thread(target=lambda: module.main(), name="loop") if loop else None
        if thread is not None:
            thread.start()
        try:
            for k in range(SAVES + 1):
                done.clear()
                temp = root / ".host.tmp"
                temp.write_text(host.replace("return n + 1", f"return n + {k + 2}"))
                os.replace(temp, root / "host.py")
                if not done.wait(10):
                    raise SystemExit("no reload.accepted within 10 s")
        finally:
            module.STOP = True
            if thread is not None:
                thread.join(10)
    sys.path.remove(str(root))
    for name_ in [n for n in sys.modules if n == "host" or n.startswith("helper")]:
        del sys.modules[name_]
    kept = sorted(durations[1:])  # the first save analyses the imported module
    check = sorted(SPENT[1:])
    line = f"| {name} | {statistics.median(kept):.2f} | {kept[int(len(kept) * 0.9)]:.2f} | " + (
        f"{statistics.median(check):.3f} | {check[-1]:.3f} |" if check else "— | — |"
    )
    return line


def main() -> None:
    _time_the_check()
    print("| host module, loop | reload p50 ms | p90 ms | check p50 ms | check max ms |")
    print("| --- | ---: | ---: | ---: | ---: |")
    for name, big, loop in [
        ("20 lines, no loop running", False, False),
        ("20 lines, `main` looping in a thread", False, True),
        ("540 lines, no loop running", True, False),
        ("540 lines, `main` looping in a thread", True, True),
    ]:
        print(scenario(name, big=big, loop=loop), flush=True)


if __name__ == "__main__":
    main()
