"""A version a fresh start could not import: what `engine.unbound` finds from the source, and
what it leaves alone (issue 21)."""

from __future__ import annotations

from pathlib import Path

import pytest

from hotreload.engine.statements import Analysis, Reading, analyse
from hotreload.engine.unbound import first_unbound

READING = Reading("m", Path("m.py"), exports=(), keep_nodes=False)


def unbound(source: str) -> tuple[int, str] | None:
    analysis = analyse(source, READING)
    assert isinstance(analysis, Analysis)
    found = first_unbound(analysis)
    return None if found is None else (found[0].line, found[1])


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("def _build():\n    return 1\n\n\nMODEL = _load()\n", (5, "_load")),
        ("DOUBLE = LIMIT * 2\nLIMIT = 10\n", (1, "LIMIT")),
        ("class Child(Base):\n    pass\n\n\nclass Base:\n    pass\n", (1, "Base")),
        ("@deco\ndef f():\n    pass\n\n\ndef deco(f):\n    return f\n", (1, "deco")),
        ("def f(x=LATER):\n    return x\n", (1, "LATER")),
        ("TABLE = {}\nTABLE[KEY] = 1\n", (2, "KEY")),
    ],
)
def test_a_name_read_for_certain_before_anything_binds_it(
    source: str, expected: tuple[int, str]
) -> None:
    assert unbound(source) == expected


@pytest.mark.parametrize(
    "source",
    [
        "import os\nSEP = os.sep\n",
        "X = 1 if True else MISSING\n",
        "X = 0 or MISSING\n",
        "F = lambda: MISSING\n",
        "Y = [MISSING for _ in ()]\n",
        "def f():\n    return MISSING\n",
        "class A:\n    x = 1\n    y = x + 1\n",
        "try:\n    unicode\nexcept NameError:\n    unicode = str\n",
        "if False:\n    X = 1\nY = X\n",  # bound under a condition: a fresh start may find it
        "from os import *\nY = sep\n",
        "import sys\nsetattr(sys.modules[__name__], 'X', 1)\nY = X\n",
        "globals()['X'] = 1\nY = X\n",
        "print(__name__, __file__, __doc__, len([]))\n",
        "from . import sub\nimport pkg.other\nA = sub.x\n",
    ],
)
def test_what_a_fresh_start_may_well_find_is_not_judged(source: str) -> None:
    assert unbound(source) is None
