"""A package's own test suite run inside the current process, as per-test outcomes; and the
package's modules imported and fingerprinted. The same code runs in the live host (where the
package's modules are the ones hotreload keeps patching) and in a fresh interpreter.

The test modules (and those of the folders beside them, such as pyparsing's ``examples``) are
imported afresh at every run (dropped from ``sys.modules`` before and after), so each run reads
the tests of the version on disk, while the package under test is whatever the
process has: the live modules in the host, a plain import in the fresh interpreter.
"""

from __future__ import annotations

import importlib
import os
import sys
import traceback
from typing import Any

import freshprobe

# Both sides alike: no cache written between runs, no output to parse, our own (empty) ini so
# that no config of the machine or the replay's folder changes what runs.
PYTEST_ARGS = ("-p", "no:cacheprovider", "-qq", "--tb=line", "-o", "console_output_style=classic")


class Outcomes:
    """A pytest plugin that records one outcome per test id (and per collection error)."""

    def __init__(self) -> None:
        self.outcomes: dict[str, str] = {}
        self.messages: dict[str, str] = {}

    def _record(self, nodeid: str, outcome: str, report: Any) -> None:
        self.outcomes[nodeid] = outcome
        if outcome in ("failed", "error"):
            text = str(getattr(report, "longreprtext", "") or "").strip().splitlines()
            self.messages[nodeid] = (text[-1] if text else "")[:300]

    def pytest_runtest_logreport(self, report: Any) -> None:
        if hasattr(report, "wasxfail"):
            outcome = "xfailed" if report.skipped else "xpassed"
        elif report.when == "call" or report.outcome == "skipped":
            outcome = report.outcome
        elif report.failed:
            outcome = "error"  # in set-up or tear-down
        else:
            return  # a set-up or tear-down that passed says nothing of its own
        if report.when == "teardown" and report.nodeid in self.outcomes and not report.failed:
            return
        self._record(report.nodeid, outcome, report)

    def pytest_collectreport(self, report: Any) -> None:
        if report.failed:
            self._record(f"{report.nodeid} (collecting)", "error", report)


def _drop_tests(project: str) -> None:
    """Drop the tests' modules, and those of the folders beside them (pyparsing's
    ``examples``): every module of the project outside ``src`` (the package under test)."""
    src = os.path.join(project, "src") + os.sep
    for name, module in list(sys.modules.items()):
        file = getattr(module, "__file__", None) or ""
        outside = file.startswith(project + os.sep) and not file.startswith(src)
        if outside or name == "tests" or name.startswith("tests."):
            del sys.modules[name]


def run(project: str) -> dict[str, Any]:
    """The suite under ``project/tests``: outcome and failure message by test id, exit code."""
    import pytest

    plugin = Outcomes()
    ini = os.path.join(project, "pytest.ini")
    args = [*PYTEST_ARGS, "-c", ini, "--rootdir", project, os.path.join(project, "tests")]
    _drop_tests(project)
    try:
        code = pytest.main(args, plugins=[plugin])
    finally:
        _drop_tests(project)
    return {"outcomes": plugin.outcomes, "messages": plugin.messages, "exit": int(code)}


def module_names(src: str) -> list[str]:
    """Every module of the package(s) under ``src``, as a fresh import of each would find them."""
    names = []
    for folder, dirs, files in os.walk(src):
        dirs[:] = sorted(d for d in dirs if not d.startswith((".", "__")))
        relative = os.path.relpath(folder, src)
        parts = [] if relative == "." else relative.split(os.sep)
        if parts and "__init__.py" not in files:
            dirs[:] = []
            continue
        for file in sorted(files):
            if file.endswith(".py"):
                stem = file[:-3]
                names.append(".".join(parts if stem == "__init__" else [*parts, stem]))
    return sorted(n for n in names if n)


def snapshot(src: str) -> dict[str, Any]:
    """Import every module of the package (those already imported stay as they are) and
    fingerprint them all: ``{"fingerprint": {...}, "import_errors": {module: error}}``."""
    errors = {}
    for name in module_names(src):
        try:
            importlib.import_module(name)
        except Exception as error:
            errors[name] = "".join(traceback.format_exception_only(error)).strip()[-500:]
    present = set(module_names(src))
    fingerprint = freshprobe.fingerprint(src)
    # A module whose file a version removed stays in a live process's sys.modules (and in a
    # fresh one nothing imports it): only the modules the version ships are compared. So
    # does its package's attribute of that name (`tomlkit.toml_char`), which the import set.
    gone = set(freshprobe.project_modules(src)) - present

    def of_gone(key: str, value: object) -> bool:
        module, _, name = key.partition(":")
        submodule = f"{module}.{name}"
        return module in gone or (submodule in gone and str(value) == f"<module {submodule}>")

    fingerprint = {k: v for k, v in fingerprint.items() if not of_gone(k, v)}
    fingerprint["modules"] = ", ".join(
        n for n in fingerprint["modules"].split(", ") if n not in gone
    )
    return {"fingerprint": fingerprint, "import_errors": errors}
