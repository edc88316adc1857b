"""The replay's verdicts on a made-up history (no download): a body edit is equal, an edited
`os.environ[...] = ...` is restart_needed (the host restarted on it equals a fresh start), a syntax
error is rightly rejected (a fresh start cannot import it either), and the fix after it is equal
again. Runs in the default suite: it guards replay.py's judgement, which the real history (all
equal today) does not exercise."""

from __future__ import annotations

from pathlib import Path

import pytest
from replay import replay
from replay_sources import Package

pytestmark = pytest.mark.timeout(180)

INIT = b"from .core import *\n"
TESTS = b"""\
from tiny import double


def test_double():
    assert double(2) == 4


def test_negative():
    assert double(-1) == -2
"""


def version(core: str) -> dict[str, bytes]:
    return {
        "src/tiny/__init__.py": INIT,
        "src/tiny/core.py": core.encode(),
        "tests/__init__.py": b"",
        "tests/test_core.py": TESTS,
    }


CORE = (
    "import os\n\nos.environ['TINY_MODE'] = {arg!r}\n\n\ndef double(x{close}\n    return {body}\n"
)
HISTORY = [
    ("1.0", version(CORE.format(arg="a", close="):", body="x + x"))),
    ("1.1", version(CORE.format(arg="a", close="):", body="2 * x"))),  # a body edit
    ("1.2", version(CORE.format(arg="b", close="):", body="2 * x"))),  # a side effect edited
    ("1.3", version(CORE.format(arg="b", close=":", body="2 * x"))),  # a syntax error
    ("1.4", version(CORE.format(arg="b", close="):", body="x * 2"))),  # the fix
]


def test_verdicts(tmp_path: Path) -> None:
    package = Package("tiny", "tiny", ("tiny",), "tests", ())
    report = replay(package, tmp_path, history=HISTORY)
    verdicts = {r.version: r.verdict for r in report.results}
    assert verdicts == {
        "1.1": "equal",
        "1.2": "restart_needed",
        "1.3": "rejected",
        "1.4": "equal",
    }, report.text()
    assert report.restarts == 2, report.text()  # after the restart_needed and the rejection
    assert all(r.tests == 2 for r in report.results if r.verdict == "equal"), report.text()
