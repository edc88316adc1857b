"""A version read statement by statement: a save parses only the statements around the edit,
and what that gives is exactly what parsing the whole text gives."""

from __future__ import annotations

import random
import types
from pathlib import Path

import pytest

import hotreload
from hotreload.engine.statements import Analysis, Reading, analyse, split_lines
from hotreload.verdicts import Failure

READING = Reading("m", Path("m.py"), exports=("analyse", "plan", "apply"), keep_nodes=False)
CORPUS = sorted(Path(hotreload.__file__).parent.rglob("*.py"))


def positions(code: types.CodeType) -> list[tuple[str, int, list[tuple[int, int, int | None]]]]:
    """Every code object in ``code`` with its first line and line table, depth first."""
    found = [(code.co_qualname, code.co_firstlineno, list(code.co_lines()))]
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            found += positions(const)
    return found


def summary(analysis: Analysis) -> list[object]:
    """What a version is, as a reload sees it: each statement's text, lines, scope, exports and
    its compiled code (bytecode and every position), as it would run."""
    return [
        (
            s.text,
            s.line,
            s.end_line,
            s.scope,
            s.definition,
            s.export,
            s.imports,
            [p[:2] for p in positions(s.code)[1:]],  # functions and classes: exact after a move
            positions(s.runnable(READING.path, analysis.future_flags)),
            s.runnable(READING.path, analysis.future_flags).co_code,
        )
        for s in analysis.statements
    ]


def edit(lines: list[str], rng: random.Random) -> list[str]:
    """One random edit of the kinds people make: change, insert or delete a few lines."""
    lines = list(lines)
    at = rng.randrange(len(lines))
    kind = rng.choice(
        [
            *("change", "insert", "delete", "indent", "dedent", "duplicate", "swap", "open"),
            *("far", "between"),
        ]
    )
    if kind == "change":
        lines[at] = (
            lines[at].replace("return", "return  0 or")
            if "return" in lines[at]
            else lines[at] + "  # edited"
        )
    elif kind == "insert":
        indent = lines[at][: len(lines[at]) - len(lines[at].lstrip())]
        lines.insert(
            at, rng.choice([f"{indent}x_new = 1", "", "# a comment", "Y = 2", f"{indent}pass"])
        )
    elif kind == "delete":
        del lines[at : at + rng.randint(1, 3)]
    elif kind == "indent":
        lines[at] = "    " + lines[at]
    elif kind == "dedent":
        lines[at] = lines[at].removeprefix("    ")
    elif kind == "swap" and at + 1 < len(lines):
        lines[at], lines[at + 1] = lines[at + 1], lines[at]
    elif kind == "open":  # a bracket or a string left open swallows what follows
        lines.insert(at, rng.choice(['X = """', "Y = (", "Z = [1,", "def broken(:"]))
    elif kind == "far":  # two edits far apart, as a search-and-replace makes
        other = rng.randrange(len(lines))
        lines[at] = lines[at] + "  # one"
        lines[other] = lines[other] + "  # two"
    elif kind == "between":  # a new statement between two, and an edit far from it
        other = rng.randrange(len(lines))
        lines[other] = lines[other] + "  # edited"
        lines[at:at] = ["", "def added_here():", "    return 1", ""]
    else:
        lines[at:at] = lines[at : at + rng.randint(1, 4)]
    return lines


@pytest.mark.parametrize("path", CORPUS, ids=[p.name for p in CORPUS])
def test_a_spliced_version_is_the_version_parsed_whole(path: Path) -> None:
    """Random edits of hotreload's own modules: wherever the splice is taken, it equals a whole
    parse; where it is not, the whole parse decides (a syntax error included)."""
    rng = random.Random(path.name)
    text = path.read_text(encoding="utf-8")
    previous = analyse(text, READING)
    assert isinstance(previous, Analysis)
    spliced = 0
    for _ in range(40):
        new_text = "\n".join(edit(list(split_lines(text)), rng))
        whole = analyse(new_text, READING)
        incremental = analyse(new_text, READING, previous)
        if isinstance(whole, Failure):
            assert isinstance(incremental, Failure)
            assert (incremental.reason, incremental.line) == (whole.reason, whole.line)
            continue
        assert isinstance(incremental, Analysis)
        assert summary(incremental) == summary(whole)
        spliced += incremental.statements != whole.statements
        # Edits build on edits, as a session of saves does.
        text, previous = new_text, incremental
    assert spliced > 0


def test_a_statement_that_moved_up_runs_with_its_lines_right() -> None:
    old = '"""Doc."""\nimport os\n\n\n\nA = 1\nB = 2\nC = 3\nX = os.getpid()\n'
    new = '"""Doc."""\nimport os\n\n\nA = 1\nB = 2\nC = 3\nX = os.getpid()\n'
    previous = analyse(old, READING)
    assert isinstance(previous, Analysis)
    moved = analyse(new, READING, previous)
    assert isinstance(moved, Analysis)
    last = moved.statements[-1]
    assert (last.line, last.stale) == (8, -1)
    runnable = last.runnable(READING.path, moved.future_flags)
    assert {line for _, _, line in runnable.co_lines() if line} == {8}


def test_a_future_import_after_other_statements_is_a_syntax_error_as_python_says() -> None:
    text = '"""Doc."""\nimport os\nfrom __future__ import annotations\n'
    failure = analyse(text, READING)
    assert isinstance(failure, Failure)
    assert (failure.reason, failure.line) == ("syntax_error", 3)
    assert "must occur at the beginning of the file" in failure.message
    with pytest.raises(SyntaxError, match="beginning of the file"):
        compile(text, "m.py", "exec")


def test_an_edit_inside_a_body_parses_that_statement_alone() -> None:
    """A body edit parses and compiles only the statement it is in; its neighbours are the
    previous version's own. Where the edited stretch does not parse alone (a line it adds
    belongs to the statement above), the neighbours are parsed with it, as a whole parse
    would read them."""
    old = "def f():\n    return 1\n\ndef g():\n    return 2\n\ndef h():\n    return 3\n"
    previous = analyse(old, READING)
    assert isinstance(previous, Analysis)
    body = analyse(old.replace("return 2", "return 20"), READING, previous)
    assert isinstance(body, Analysis)
    assert body.statements[0] is previous.statements[0]
    assert body.statements[2] is previous.statements[2]
    assert body.statements[1] is not previous.statements[1]

    joined = old.replace("\ndef g():\n    return 2", "    x = 1\ndef g():\n    return 22")
    whole = analyse(joined, READING)
    incremental = analyse(joined, READING, previous)
    assert isinstance(whole, Analysis) and isinstance(incremental, Analysis)
    assert summary(incremental) == summary(whole)
    assert "x = 1" in incremental.statements[0].text
