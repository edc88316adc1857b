"""A host in another language: examples/nodehost (Node, a client generated from /openapi.json by
openapi-typescript, calls by openapi-fetch) calls the calculator served by the real `hotreload up`
while its source is edited."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from child import REPO, WAIT, Child
from test_cli import edit

from hotreload.manifest import load_manifest

NODEHOST = REPO / "examples" / "nodehost"
CALCULATOR = REPO / "examples" / "calculator"
NODE = shutil.which("node")

pytestmark = [
    pytest.mark.skipif(NODE is None, reason="node is not installed"),
    pytest.mark.timeout(180),
]


@pytest.fixture(scope="module")
def node_modules() -> Path:
    """`npm ci` in examples/nodehost, unless what it installs is already there (CI runs it
    first: see .ci/run)."""
    installed = NODEHOST / "node_modules" / ".package-lock.json"
    lock = NODEHOST / "package-lock.json"
    if not installed.exists() or installed.stat().st_mtime < lock.stat().st_mtime:
        npm = shutil.which("npm")
        assert npm is not None, "node is installed without npm: cannot install the example"
        subprocess.run(
            [npm, "ci", "--no-audit", "--no-fund"], cwd=NODEHOST, check=True, timeout=300
        )
    return NODEHOST / "node_modules"


def node_tool(node_modules: Path, *args: str, cwd: Path = NODEHOST) -> str:
    """Run a tool of the example (``openapi-typescript``, ``tsc``) with node; its stdout."""
    assert NODE is not None
    done = subprocess.run(
        [NODE, *args], cwd=cwd, capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, f"{args}: {done.returncode}\n{done.stdout}\n{done.stderr}"
    return done.stdout


class NodeHost:
    """``node host.mjs`` calling the server in a loop; its stdout lines, read as they come."""

    def __init__(self, url: str, interval_ms: int = 20) -> None:
        assert NODE is not None
        env = {**os.environ, "HOTRELOAD_URL": url, "INTERVAL_MS": str(interval_ms)}
        self.proc = subprocess.Popen(
            [NODE, "host.mjs"],
            cwd=NODEHOST,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self.lines: list[str] = []
        self._cond = threading.Condition()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            with self._cond:
                self.lines.append(line.rstrip("\n"))
                self._cond.notify_all()

    def mark(self) -> int:
        with self._cond:
            return len(self.lines)

    def wait_line(self, text: str, *, after: int = 0, timeout: float = WAIT) -> int:
        """Index of the first line equal to ``text`` past ``after``."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                for index in range(after, len(self.lines)):
                    if self.lines[index] == text:
                        return index
                remaining = deadline - time.monotonic()
                if remaining <= 0 or self.proc.poll() is not None:
                    raise AssertionError(f"no line {text!r} from the Node host:\n" + self.output())
                self._cond.wait(min(remaining, 0.5))

    def output(self) -> str:
        with self._cond:
            return "\n".join(self.lines[-40:])

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(WAIT)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(WAIT)
        self._reader.join(WAIT)
        if self.proc.stdout is not None:
            self.proc.stdout.close()


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[Child, str, Path]]:
    """`hotreload up` in a copy of examples/calculator (its manifest serves the calculator's
    exports), on a free port."""
    root = tmp_path / "calculator"
    shutil.copytree(CALCULATOR, root, ignore=shutil.ignore_patterns("__pycache__"))
    child = Child("up", "--port", "0", "--log-format", "json", cwd=root)
    try:
        url = child.wait_for("exports.serving")["url"]
        yield child, url, root / "calculator.py"
    finally:
        child.kill()


def test_the_http_manifest_freezes_the_calculator_as_the_root_manifest_does() -> None:
    """examples/calculator/hotreload.toml serves over HTTP the module that the root manifest
    runs under its Python host: one contract, written twice, kept equal here."""
    http = load_manifest(CALCULATOR / "hotreload.toml").manifest
    root = load_manifest(REPO / "hotreload.toml").manifest
    assert http.modules == root.modules
    assert http.serve is not None and http.serve.exports
    assert root.serve is None  # the root's quick start needs no web extra


def test_the_node_host_calls_through_the_generated_client_across_an_edit_and_a_rejection(
    node_modules: Path, served: tuple[Child, str, Path], tmp_path: Path
) -> None:
    child, url, source = served
    contract = httpx.get(f"{url}/openapi.json", timeout=WAIT).content

    # The committed types are what a standard generator makes of the live document, and the
    # host type-checks against them: a client generated once stays valid.
    generated = tmp_path / "api.d.ts"
    tool = str(node_modules / "openapi-typescript" / "bin" / "cli.js")
    node_tool(node_modules, tool, f"{url}/openapi.json", "-o", str(generated))
    assert generated.read_text() == (NODEHOST / "api.d.ts").read_text(), (
        "examples/nodehost/api.d.ts is stale: run `npm run generate` there with "
        "`hotreload up` running in examples/calculator"
    )
    node_tool(node_modules, str(node_modules / "typescript" / "bin" / "tsc"), "--noEmit", "-p", ".")

    host = NodeHost(url)
    try:
        host.wait_line("5 + 3 = 8")
        host.wait_line("Performing addition operation")

        mark = child.mark()
        edit(source, ("return a + b", "return a + b + 100"))
        child.wait_for("reload.accepted", after=mark, module="calculator", changed=["add"])
        after_edit = host.mark()
        first = host.wait_line("5 + 3 = 108", after=after_edit)
        # Every round since the acceptance: one version or the other, then only the new one.
        seen = [line for line in host.lines[after_edit:first] if line.startswith("5 + 3 = ")]
        assert set(seen) <= {"5 + 3 = 8"}

        mark = child.mark()
        edit(source, ("def add(a: int, b: int) -> int:", "def add(a: int, b: str) -> int:"))
        rejected = child.wait_for("reload.rejected", after=mark, module="calculator")
        assert rejected["violations"][0]["code"] == "parameter_type_changed"
        after_rejection = host.mark()
        last = _rounds(host.lines[:after_rejection])
        end = host.wait_line(f"(round {last + 3}; Ctrl+C to exit)", after=after_rejection)
        later = host.lines[after_rejection:end]
        # Three whole rounds since: every call answered, by the version that runs.
        assert [line for line in later if line.startswith("5 + 3")] != []
        assert all(
            line == "5 + 3 = 108" for line in later if line.startswith(("5 + 3", "error", "unr"))
        ), host.output()
        assert httpx.get(f"{url}/openapi.json", timeout=WAIT).content == contract
    finally:
        host.stop()
    assert child.stop(signal.SIGINT) == 0
    child.wait_for("server.stopped", reason="interrupted")


def _rounds(lines: list[str]) -> int:
    """How many rounds the host finished in these lines."""
    return sum(line.startswith("(round ") for line in lines)
