"""The field's side environment: a cached venv on the newest Python >= 3.12 with the contenders.

jurigged, hmr and uvicorn-hmr need Python >= 3.12 (hmr uses the ``type`` statement), so the
field runs every contender, hotreload included, under one interpreter of that version: the
comparison is then about the tools, not the interpreters. The venv lives in
``benchmarks/.venvs/`` (ignored by git) and is rebuilt only when the interpreter or the pinned
requirements change; a contender whose package does not install is skipped with pip's reason.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tomllib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from benchmarks.proc import REPO_ROOT

VENVS_DIR = Path(__file__).resolve().parent / ".venvs"
MIN_PYTHON = (3, 12)
# Pinned, so two runs compare the same versions; bump them deliberately (and say so in the
# table's machine line, which lists what was installed).
CONTENDER_PACKAGES: dict[str, str] = {
    "jurigged": "jurigged==0.6.1",
    "hmr": "hmr==0.7.6.3",
    "uvicorn-hmr": "uvicorn-hmr==0.1.1.8",
    "uvicorn": "uvicorn==0.54.0",
    "fastapi": "fastapi==0.165.0",  # the web section's app, served by uvicorn-hmr
    "jinja2": "jinja2==3.1.6",  # ... which renders its page with Jinja2Templates
}
# Where the interpreter comes from, explicit first: an environment variable, then pyenv.
PYTHON_ENV_VAR = "HOTRELOAD_BENCH_PYTHON"
PIP_TIMEOUT_S = 900
STAMP = ".bench-stamp.json"

Log = Callable[[str], None]


def parse_version(text: str) -> tuple[int, ...] | None:
    """``"3.13.0"`` -> ``(3, 13, 0)``; None for names that are not plain CPython versions
    (``3.13-dev``, ``pypy3.10-7.3``, ``miniconda3``)."""
    if not re.fullmatch(r"\d+\.\d+(\.\d+)?", text):
        return None
    return tuple(int(part) for part in text.split("."))


def _interpreter_version(python: str) -> tuple[int, ...] | None:
    try:
        done = subprocess.run(
            [python, "-c", "import sys; print('.'.join(map(str, sys.version_info[:3])))"],
            capture_output=True,
            text=True,
            timeout=30,
            check=True,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return parse_version(done.stdout.strip())


def _pyenv_pythons() -> Iterable[tuple[tuple[int, ...], str]]:
    root = Path(os.environ.get("PYENV_ROOT") or Path.home() / ".pyenv") / "versions"
    try:
        entries = list(root.iterdir())
    except OSError:
        return
    for entry in entries:
        version = parse_version(entry.name)
        python = entry / "bin" / "python3"
        if version is not None and python.is_file():
            yield version, str(python)


def _path_pythons() -> Iterable[tuple[tuple[int, ...], str]]:
    for minor in range(MIN_PYTHON[1], MIN_PYTHON[1] + 10):
        found = shutil.which(f"python3.{minor}")
        if found:
            yield (3, minor), found


def find_python() -> tuple[str, tuple[int, ...]]:
    """The interpreter for the field: ``$HOTRELOAD_BENCH_PYTHON`` if set, else the newest
    Python >= 3.12 from pyenv or PATH, else this interpreter (contenders that need 3.12 are
    then skipped by pip's own version check)."""
    explicit = os.environ.get(PYTHON_ENV_VAR)
    if explicit:
        version = _interpreter_version(explicit)
        if version is None:
            raise RuntimeError(f"{PYTHON_ENV_VAR}={explicit!r} is not a runnable Python")
        return explicit, version
    candidates = sorted([*_pyenv_pythons(), *_path_pythons()], reverse=True)
    for listed, python in candidates:
        if listed < MIN_PYTHON:
            break
        version = _interpreter_version(python)  # the name may lie; the interpreter does not
        if version is not None and version >= MIN_PYTHON:
            return python, version
    return sys.executable, tuple(sys.version_info[:3])


def hotreload_requirements() -> list[str]:
    """hotreload's own dependencies, from pyproject.toml: the field imports hotreload from the
    repository (PYTHONPATH), so the side venv needs only these."""
    with open(REPO_ROOT / "pyproject.toml", "rb") as f:
        return list(tomllib.load(f)["project"]["dependencies"])


@dataclass(frozen=True)
class SideVenv:
    """The field's interpreter and which contender packages it has."""

    python: str
    version: str
    packages: dict[str, str] = field(default_factory=dict)  # distribution -> installed version
    failed: dict[str, str] = field(default_factory=dict)  # distribution -> why it is missing

    def has(self, distribution: str) -> bool:
        return distribution in self.packages

    @property
    def bin(self) -> Path:
        return Path(self.python).parent


def _pip(python: str, requirements: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [python, "-m", "pip", "install", "-q", "--disable-pip-version-check", *requirements],
        capture_output=True,
        text=True,
        timeout=PIP_TIMEOUT_S,
        check=False,
    )


def _installed(python: str, distributions: Iterable[str]) -> dict[str, str]:
    script = (
        "import json, sys\n"
        "from importlib.metadata import PackageNotFoundError, version\n"
        "found = {}\n"
        "for name in sys.argv[1:]:\n"
        "    try:\n"
        "        found[name] = version(name)\n"
        "    except PackageNotFoundError:\n"
        "        pass\n"
        "print(json.dumps(found))\n"
    )
    done = subprocess.run(
        [python, "-c", script, *distributions],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    found: dict[str, str] = json.loads(done.stdout)
    return found


def _tail(text: str, lines: int = 6) -> str:
    return " ".join(text.strip().splitlines()[-lines:])[-600:]


def ensure(log: Log) -> SideVenv:
    """The side venv, built or refreshed if needed (the first build takes a minute or so).

    Raises RuntimeError (the field section's failure, with the reason) if it cannot be made.
    """
    try:
        return _ensure(log)
    except (subprocess.SubprocessError, OSError, ValueError) as e:
        raise RuntimeError(f"the field's side venv could not be set up: {e}") from e


def _ensure(log: Log) -> SideVenv:
    base, version = find_python()
    version_text = ".".join(map(str, version))
    directory = VENVS_DIR / f"field-py{version[0]}.{version[1]}"
    python = str(directory / "bin" / "python")
    wanted = {
        "interpreter": base,
        "version": version_text,
        "hotreload": hotreload_requirements(),
        "contenders": CONTENDER_PACKAGES,
    }
    stamp = directory / STAMP
    try:
        recorded = json.loads(stamp.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        recorded = None
    if recorded and recorded.get("wanted") == wanted and Path(python).is_file():
        return SideVenv(python, version_text, recorded["packages"], recorded["failed"])
    log(f"field: building the side venv {directory} on Python {version_text} (cached afterwards)")
    subprocess.run(
        [base, "-m", "venv", "--clear", str(directory)],
        check=True,
        capture_output=True,
        timeout=300,
    )
    done = _pip(python, list(wanted["hotreload"]))
    if done.returncode != 0:
        raise RuntimeError(
            f"pip could not install hotreload's dependencies into {directory}: {_tail(done.stderr)}"
        )
    failed: dict[str, str] = {}
    if _pip(python, list(CONTENDER_PACKAGES.values())).returncode != 0:
        # One contender that does not install must not cost the others: try them one by one.
        for name, requirement in CONTENDER_PACKAGES.items():
            one = _pip(python, [requirement])
            if one.returncode != 0:
                failed[name] = f"pip install {requirement} failed: {_tail(one.stderr, 3)}"
    packages = _installed(python, [*CONTENDER_PACKAGES, "watchfiles"])
    stamp.write_text(
        json.dumps({"wanted": wanted, "packages": packages, "failed": failed}, indent=2),
        encoding="utf-8",
    )
    return SideVenv(python, version_text, packages, failed)
