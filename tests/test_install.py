"""README's install commands, exactly as written, in a fresh virtual environment of a fresh
copy of this checkout: they install this project (not the unrelated `hotreload` on the package
index), the example host runs, the test extra runs pytest, and the web extra serves the example
app.

Slow (pip installs into a new environment, from pip's cache where it can), so it is
deselected by default and CI runs it once: `python -m pytest -m install`.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import threading
import time
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import IO

import httpx
import pytest
from child import REPO
from test_docs import FRESH_MACHINE, README, fenced_blocks
from test_web import free_port

pytestmark = [pytest.mark.install, pytest.mark.timeout(900)]

DISTRIBUTION = "hotreload-contract"
INSTALL_WAIT = 600.0  # a pip install on a loaded 2-core machine, cache cold; warm: ~30 s
# Copied into the fresh checkout: nothing a previous run or an editor left behind.
_LEFT_BEHIND = shutil.ignore_patterns(
    ".git", ".venv*", "__pycache__", "*.egg-info", ".*_cache", "logs", "build", "dist", ".venvs"
)


def fresh_environment() -> dict[str, str]:
    """The test's environment as a newcomer's shell has it: no virtual environment active, no
    PYTHONPATH pointing at this checkout, no profile chosen. pip's own settings stay, so its
    cache (and any index it is told to use) is the one this machine uses."""
    dropped = {"PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME", "HOTRELOAD_ENV", "PIP_NO_CACHE_DIR"}
    return {k: v for k, v in os.environ.items() if k not in dropped and not k.startswith("PYTEST")}


class Shell:
    """One README command line in bash, in its own process group (Ctrl+C reaches all of it),
    its output read line by line as it comes."""

    def __init__(self, line: str, *, cwd: Path, env: dict[str, str]) -> None:
        self.line = line
        self.lines: list[str] = []
        self._cond = threading.Condition()
        self.proc = subprocess.Popen(
            ["bash", "-c", line],
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
        assert self.proc.stdout is not None
        self._reader = threading.Thread(target=self._read, args=(self.proc.stdout,), daemon=True)
        self._reader.start()

    def _read(self, stream: IO[str]) -> None:
        for line in stream:
            with self._cond:
                self.lines.append(line.rstrip("\n"))
                self._cond.notify_all()
        with self._cond:
            self._cond.notify_all()

    def wait_for(self, text: str, timeout: float = INSTALL_WAIT) -> None:
        """Until a line holds ``text`` (bounded); fails with the output if the shell ends."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while not any(text in line for line in self.lines):
                remaining = deadline - time.monotonic()
                if remaining <= 0 or (self.proc.poll() is not None and not self._reader.is_alive()):
                    raise AssertionError(f"no line with {text!r}\n{self.output()}")
                self._cond.wait(min(remaining, 1.0))

    def interrupt(self, timeout: float = 60.0) -> int:
        """Ctrl+C, as a person at the terminal presses it: SIGINT to the whole group."""
        os.killpg(self.proc.pid, signal.SIGINT)
        return self.wait(timeout)

    def wait(self, timeout: float = INSTALL_WAIT) -> int:
        try:
            code = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            raise AssertionError(f"still running after {timeout:g} s\n{self.output()}") from None
        self._reader.join(timeout)
        return code

    def kill(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(60)
        self._reader.join(60)
        if self.proc.stdout is not None:
            self.proc.stdout.close()

    def output(self) -> str:
        with self._cond:
            return f"$ {self.line}  (exit {self.proc.poll()})\n" + "\n".join(self.lines[-60:])


@pytest.fixture
def checkout(tmp_path: Path) -> Path:
    """A copy of this checkout, as a newcomer clones it: no environment, no caches."""
    target = tmp_path / "hotreload"
    shutil.copytree(REPO, target, ignore=_LEFT_BEHIND)
    return target


@pytest.fixture
def shells() -> Iterator[list[Shell]]:
    started: list[Shell] = []
    try:
        yield started
    finally:
        for shell in started:
            shell.kill()


def readme_line(prefix: str) -> str:
    """The one line of README's code blocks that starts with ``prefix``."""
    lines = [
        line.strip()
        for _, body in fenced_blocks(README.read_text(encoding="utf-8"))
        for line in body.splitlines()
        if line.strip().startswith(prefix)
    ]
    assert len(lines) == 1, f"README has {len(lines)} lines starting with {prefix!r}: {lines}"
    return lines[0]


def installed(checkout: Path, elsewhere: Path, env: dict[str, str]) -> dict[str, object]:
    """What the fresh environment says it has installed, asked from inside it, in a directory
    of its own: in the checkout, the current directory would come first on the path (the build
    left its egg-info there), and the answer would not be the environment's."""
    probe = (
        "import hotreload, importlib.metadata as m, json\n"
        "def version(name):\n"
        "    try:\n"
        "        return m.version(name)\n"
        "    except m.PackageNotFoundError:\n"
        "        return None\n"
        f"dist = m.distribution({DISTRIBUTION!r})\n"
        "print(json.dumps({'version': version("
        f"{DISTRIBUTION!r}), 'other': version('hotreload'), "
        "'file': hotreload.__file__, 'reported': hotreload.__version__, "
        "'direct_url': json.loads(dist.read_text('direct_url.json') or 'null'), "
        "'uvicorn': version('uvicorn'), 'fastapi': version('fastapi')}))\n"
    )
    result = subprocess.run(
        [str(checkout / ".venv" / "bin" / "python"), "-c", probe],
        cwd=elsewhere,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    found: dict[str, object] = json.loads(result.stdout)
    return found


def test_the_readme_commands_install_this_project_in_a_fresh_venv(
    checkout: Path, shells: list[Shell]
) -> None:
    env = fresh_environment()
    elsewhere = checkout.parent / "elsewhere"
    elsewhere.mkdir()
    blocks = fenced_blocks(README.read_text(encoding="utf-8"))
    first, second = (body.strip() for _, body in blocks[:2])
    assert [first, second] == FRESH_MACHINE  # test_docs pins them; run them as they are

    # 1. Install and run the example host; Ctrl+C once it has called the calculator.
    shell = Shell(first, cwd=checkout, env=env)
    shells.append(shell)
    shell.wait_for("5 + 3 = 8")
    assert shell.interrupt() == 0, shell.output()

    project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert project["name"] == DISTRIBUTION
    found = installed(checkout, elsewhere, env)
    assert found["version"] == found["reported"] == project["version"]
    assert found["other"] is None, "the unrelated `hotreload` distribution got installed"
    assert Path(str(found["file"])).resolve().is_relative_to(checkout.resolve())
    direct_url = found["direct_url"]
    assert isinstance(direct_url, dict)
    assert direct_url["dir_info"] == {"editable": True}
    assert direct_url["url"] == checkout.resolve().as_uri()

    # 2. The test command: the test extra installs and pytest runs (on one quick file here: the
    #    whole suite is what CI runs, this is about the command).
    quick = env | {"PYTEST_ADDOPTS": "tests/test_docs.py -p no:cacheprovider"}
    shell = Shell(second, cwd=checkout, env=quick)
    shells.append(shell)
    assert shell.wait() == 0, shell.output()
    assert any(" passed" in line for line in shell.lines), shell.output()

    # 3. The web extra's line, as README's Web apps section has it (on a free port, not 8000).
    web = readme_line('.venv/bin/pip install -e ".[web]"')
    port = free_port()
    shell = Shell(f"{web} --port {port}", cwd=checkout, env=env)
    shells.append(shell)
    shell.wait_for('"event": "app.serving"')  # its stderr is no terminal: JSON events
    with httpx.Client(timeout=30) as http:
        answer = http.get(f"http://127.0.0.1:{port}/greet/you")
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"message": "Hello, you!"}
    assert shell.interrupt() == 0, shell.output()
    found = installed(checkout, elsewhere, env)
    assert found["uvicorn"] is not None and found["fastapi"] is not None
    assert found["other"] is None
