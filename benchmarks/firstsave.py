"""The first save after a start-up, against a later one, in a real `hotreload up` (issue 19).

A start-up imports only what checks and loads modules; the code that applies a save (plan,
execute, patching, restarts, ...) is imported by the first save. `python -m benchmarks.firstsave
[--baseline DIR] [--runs N]` measures what that moves to the first save: it writes the
1,000-module start-up app (`projects.write_startup_project`) with an entry that waits, starts
`python -m hotreload up --log-format json` in a child (a second start: the manifest's cache
filled by a first), waits for the entry to run and 1 s more, then saves
`pkg_00/mod_000.py` atomically with a body edit twice, 0.3 s apart. For each save: the
`reload.accepted` event's `duration_ms` and the time from the save (the rename) to the event's
line on stderr; and the child's resident memory (VmRSS) idle before the first save and after
the second. With `--baseline DIR` that checkout's package (first on `PYTHONPATH`) runs in the
same turns. About a minute for 7 runs.
"""

from __future__ import annotations

import argparse
import json
import os
import queue
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from benchmarks.projects import write_startup_project

REPO = Path(__file__).resolve().parent.parent
WAIT_S = 60.0  # bound on any one awaited line
ENTRY = """

def main() -> None:
    import sys
    import time

    print("ENTRY-RUNNING", file=sys.stderr, flush=True)
    while True:
        time.sleep(0.05)
"""


class Up:
    """`hotreload up` of ``app`` with ``package`` first on PYTHONPATH; stderr read as it comes."""

    def __init__(self, app: Path, package: Path) -> None:
        env = dict(os.environ, PYTHONPATH=str(package))
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "hotreload", "up", "--log-format", "json"],
            cwd=app,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.lines: queue.Queue[tuple[str | None, float]] = queue.Queue()
        threading.Thread(target=self._pump, daemon=True).start()

    def _pump(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self.lines.put((line, time.monotonic()))
        self.lines.put((None, time.monotonic()))

    def until(self, wanted: str) -> tuple[str, float]:
        """The first line holding ``wanted``, and when it was read."""
        deadline = time.monotonic() + WAIT_S
        while True:
            try:
                line, at = self.lines.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                raise TimeoutError(f"no {wanted!r} within {WAIT_S:g} s") from None
            if line is None:
                raise RuntimeError(f"hotreload up ended before {wanted!r}")
            if wanted in line:
                return line, at

    def rss_mb(self) -> float:
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        return float("nan")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(10)


def _save(module: Path, number: int) -> float:
    """A body edit, saved atomically; the moment of the rename."""
    text = module.read_text(encoding="utf-8")
    edited = re.sub(r"return y - \d+", f"return y - {1000 + number}", text, count=1)
    assert edited != text, f"nothing to edit in {module}"
    temporary = module.with_suffix(".tmp")
    temporary.write_text(edited, encoding="utf-8")
    at = time.monotonic()
    os.replace(temporary, module)
    return at


def _prepared(root: Path) -> Path:
    app = root / "app"
    write_startup_project(app, 1000)
    entry = app / "app.py"
    entry.write_text(entry.read_text().split("\n\ndef main")[0] + ENTRY, encoding="utf-8")
    return app


def measure(packages: dict[str, Path], runs: int) -> dict[str, dict[str, list[float]]]:
    keys = ("first_ms", "first_wall_ms", "second_ms", "second_wall_ms", "idle_mb", "after_mb")
    results = {name: {key: [] for key in keys} for name in packages}
    with tempfile.TemporaryDirectory(prefix="hotreload-firstsave-") as scratch:
        apps = {name: _prepared(Path(scratch) / name) for name in packages}
        for name, package in packages.items():  # a first start fills the manifest's cache
            up = Up(apps[name], package)
            try:
                up.until("ENTRY-RUNNING")
            finally:
                up.stop()
        for run in range(runs):
            for name, package in packages.items():
                up = Up(apps[name], package)
                try:
                    up.until("ENTRY-RUNNING")
                    time.sleep(1.0)  # start-up's last resyncs are over
                    results[name]["idle_mb"].append(up.rss_mb())
                    module = apps[name] / "pkg_00" / "mod_000.py"
                    for number, key in ((1, "first"), (2, "second")):
                        saved = _save(module, run * 10 + number)
                        line, read = up.until('"reload.')
                        event: dict[str, Any] = json.loads(line)
                        if event["event"] != "reload.accepted":
                            raise RuntimeError(f"the save was not accepted: {line}")
                        results[name][f"{key}_ms"].append(event["duration_ms"])
                        results[name][f"{key}_wall_ms"].append((read - saved) * 1000)
                        time.sleep(0.3)
                    results[name]["after_mb"].append(up.rss_mb())
                finally:
                    up.stop()
    return results


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.firstsave", description=__doc__)
    parser.add_argument("--baseline", type=Path, help="another checkout, run in the same turns")
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    packages = {"this checkout": REPO}
    if args.baseline is not None:
        packages["baseline"] = args.baseline.resolve()
    began = os.getloadavg()[0]
    results = measure(packages, args.runs)
    print(f"load average {began:.2f} at start, {os.getloadavg()[0]:.2f} at end; {args.runs} runs")
    print(
        "| checkout | first save ms (event; save -> event) | second save ms | RSS idle MB |"
        " RSS after MB |"
    )
    print("| --- | ---: | ---: | ---: | ---: |")
    for name, figures in results.items():
        p50 = {key: statistics.median(values) for key, values in figures.items()}
        print(
            f"| {name} | {p50['first_ms']:.1f}; {p50['first_wall_ms']:.1f} | "
            f"{p50['second_ms']:.1f}; {p50['second_wall_ms']:.1f} | {p50['idle_mb']:.1f} | "
            f"{p50['after_mb']:.1f} |"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
