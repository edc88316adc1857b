"""Tests for hotreload.freeze: rewriting exports in place and writing new manifests."""

from __future__ import annotations

from pathlib import Path

import pytest

from hotreload.errors import ManifestError
from hotreload.freeze import SCHEMA_LINE, FreezeChange, freeze, init_manifest
from hotreload.manifest import load_manifest

MANIFEST = """\
#:schema ./schemas/hotreload.schema.json
# The demo's contract.
[project]
name = "calculator-demo"
root = "."                    # where module names resolve

[modules.calculator]          # dotted import name
keep = ["history"]
[modules.calculator.exports]
# what the host calls
add = "(a: int, b: int) -> int"   # the classic
multiply = "(a: int, b: int) -> int"
describe_operation = "(operation: str) -> str"

[env.development]
reload = true
debounce_ms = 50

[app]                         # run in-process
entry = "app:main"
"""

CALCULATOR = """\
history = []

def add(a: int, b: int, c: int = 0) -> int:
    return a + b + c

def describe_operation(operation: str) -> str:
    return operation

def subtract(a: int, b: int) -> int:
    return a - b

def _helper() -> None:
    pass

async def fetch(url: str) -> bytes:
    return b""
"""


def write_project(tmp_path: Path, manifest: str = MANIFEST, **sources: str) -> Path:
    """A project directory with a manifest and one file per module (default: calculator)."""
    for name, text in (sources or {"calculator": CALCULATOR}).items():
        (tmp_path / f"{name}.py").write_text(text)
    path = tmp_path / "hotreload.toml"
    path.write_text(manifest)
    return path


def test_freeze_rewrites_only_exports_and_keeps_comments_blank_lines_and_order(
    tmp_path: Path,
) -> None:
    path = write_project(tmp_path)
    freeze(path)
    expected = MANIFEST.replace(
        'add = "(a: int, b: int) -> int"   # the classic\n'
        'multiply = "(a: int, b: int) -> int"\n'
        'describe_operation = "(operation: str) -> str"\n',
        'add = "(a: int, b: int, c: int = 0) -> int"   # the classic\n'
        'describe_operation = "(operation: str) -> str"\n'
        'subtract = "(a: int, b: int) -> int"\n'
        'fetch = "async (url: str) -> bytes"\n',
    )
    assert path.read_text() == expected


def test_freeze_reports_added_removed_and_changed_exports(tmp_path: Path) -> None:
    path = write_project(tmp_path)
    assert freeze(path) == [
        FreezeChange(
            "calculator",
            "add",
            "changed",
            "(a: int, b: int) -> int",
            "(a: int, b: int, c: int = 0) -> int",
        ),
        FreezeChange("calculator", "multiply", "removed", "(a: int, b: int) -> int", None),
        FreezeChange("calculator", "subtract", "added", None, "(a: int, b: int) -> int"),
        FreezeChange("calculator", "fetch", "added", None, "async (url: str) -> bytes"),
    ]


def test_second_freeze_reports_nothing_and_does_not_rewrite_the_file(tmp_path: Path) -> None:
    path = write_project(tmp_path)
    freeze(path)
    before, inode = path.read_bytes(), path.stat().st_ino
    assert freeze(path) == []
    assert path.read_bytes() == before
    assert path.stat().st_ino == inode  # an atomic write would have made a new file


def test_freeze_keeps_a_signature_spelled_with_different_spacing(tmp_path: Path) -> None:
    manifest = MANIFEST.replace('"(operation: str) -> str"', '"(operation:str)->str"')
    path = write_project(tmp_path, manifest)
    changes = freeze(path)
    assert "describe_operation" not in {change.function for change in changes}
    assert 'describe_operation = "(operation:str)->str"' in path.read_text()


def test_freeze_of_named_modules_leaves_the_others_alone(tmp_path: Path) -> None:
    manifest = (
        '[project]\nname = "two"\n\n'
        '[modules.first.exports]\nold = "() -> None"\n\n'
        '[modules.second.exports]\nold = "() -> None"\n'
    )
    new = "def new() -> int:\n    return 1\n"
    path = write_project(tmp_path, manifest, first=new, second=new)
    changes = freeze(path, ["second"])
    assert {(c.module, c.function, c.action) for c in changes} == {
        ("second", "old", "removed"),
        ("second", "new", "added"),
    }
    assert load_manifest(path).manifest.modules["first"].exports == {"old": "() -> None"}
    assert load_manifest(path).manifest.modules["second"].exports == {"new": "() -> int"}


def test_unknown_module_is_an_error_that_lists_the_known_ones(tmp_path: Path) -> None:
    path = write_project(tmp_path)
    with pytest.raises(ManifestError, match=r"'calcluator'.*known modules: calculator"):
        freeze(path, ["calcluator"])
    assert path.read_text() == MANIFEST


def test_freeze_reads_the_source_without_executing_it(tmp_path: Path) -> None:
    marker = tmp_path / "executed"
    source = f"open({str(marker)!r}, 'w').close()\n\ndef add(a: int, b: int) -> int:\n    pass\n"
    path = write_project(tmp_path, calculator=source)
    freeze(path)
    assert not marker.exists()


def test_syntax_error_names_file_line_and_column_and_leaves_the_manifest(tmp_path: Path) -> None:
    path = write_project(tmp_path, calculator="def add(a: int, b: int) -> int:\n    return (\n")
    with pytest.raises(ManifestError) as caught:
        freeze(path)
    assert f"{(tmp_path / 'calculator.py').resolve()}:2:12:" in str(caught.value)
    assert path.read_text() == MANIFEST


def test_module_without_exports_gets_a_table_below_its_keys(tmp_path: Path) -> None:
    manifest = (
        '[project]\nname = "x"\n\n[modules.calculator]\nkeep = []\n\n[env.development]\n'
        "reload = true\n"
    )
    path = write_project(tmp_path, manifest, calculator="def add(a: int) -> int:\n    pass\n")
    freeze(path)
    assert path.read_text() == (
        '[project]\nname = "x"\n\n[modules.calculator]\nkeep = []\n\n'
        '[modules.calculator.exports]\nadd = "(a: int) -> int"\n\n'
        "[env.development]\nreload = true\n"
    )
    assert freeze(path) == []


def test_inline_exports_table_stays_inline(tmp_path: Path) -> None:
    manifest = (
        '[project]\nname = "x"\n\n[modules.calculator]\n'
        'exports = { gone = "() -> None", add = "(a) -> int" }  # inline\n'
    )
    path = write_project(tmp_path, manifest, calculator="def add(a: int) -> int:\n    pass\n")
    freeze(path)
    assert path.read_text() == (
        '[project]\nname = "x"\n\n[modules.calculator]\n'
        'exports = { add = "(a: int) -> int" }  # inline\n'
    )
    assert freeze(path) == []


def test_dotted_key_exports_are_edited_as_dotted_keys(tmp_path: Path) -> None:
    manifest = '[project]\nname = "x"\n\n[modules.calculator]\nexports.add = "(a) -> int"\n'
    source = "def add(a: int) -> int:\n    pass\n\ndef sub(a: int) -> int:\n    pass\n"
    path = write_project(tmp_path, manifest, calculator=source)
    freeze(path)
    assert path.read_text() == (
        '[project]\nname = "x"\n\n[modules.calculator]\n'
        'exports.add = "(a: int) -> int"\nexports.sub = "(a: int) -> int"\n'
    )


def test_freeze_keeps_crlf_line_endings(tmp_path: Path) -> None:
    path = write_project(tmp_path)
    path.write_bytes(MANIFEST.replace("\n", "\r\n").encode())
    freeze(path)
    data = path.read_bytes()
    assert b"subtract" in data
    assert data.count(b"\n") == data.count(b"\r\n")


def test_init_writes_a_manifest_that_loads_and_needs_no_freeze(tmp_path: Path) -> None:
    project = tmp_path / "calc-demo"
    project.mkdir()
    write_project(project)
    path = project / "hotreload.toml"
    path.unlink()
    text = init_manifest(path, ["calculator"])
    assert path.read_text() == text
    assert text.startswith(SCHEMA_LINE + "\n")
    loaded = load_manifest(path)
    assert loaded.manifest.project.name == "calc-demo"
    assert loaded.manifest.project.root == "."
    assert loaded.manifest.modules["calculator"].keep == []
    assert list(loaded.manifest.modules["calculator"].exports) == [
        "add",
        "describe_operation",
        "subtract",
        "fetch",
    ]
    development = loaded.manifest.env["development"]
    assert (development.reload, development.debounce_ms, development.log_format) == (
        True,
        5,
        "console",
    )
    production = loaded.manifest.env["production"]
    assert (production.reload, production.log_format) == (False, "json")
    assert freeze(path) == []
    assert path.read_text() == text


def test_init_writes_root_relative_to_the_manifest(tmp_path: Path) -> None:
    (tmp_path / "src" / "pkg").mkdir(parents=True)
    (tmp_path / "src" / "pkg" / "__init__.py").write_text("def run() -> None:\n    pass\n")
    path = tmp_path / "hotreload.toml"
    init_manifest(path, ["pkg"], root=tmp_path / "src")
    loaded = load_manifest(path)
    assert loaded.manifest.project.root == "src"
    assert loaded.manifest.modules["pkg"].exports == {"run": "() -> None"}


def test_init_refuses_to_overwrite_an_existing_manifest(tmp_path: Path) -> None:
    path = write_project(tmp_path)
    with pytest.raises(ManifestError, match=r"hotreload\.toml already exists.*--force"):
        init_manifest(path, ["calculator"])
    assert path.read_text() == MANIFEST


def test_init_with_force_overwrites(tmp_path: Path) -> None:
    path = write_project(tmp_path)
    text = init_manifest(path, ["calculator"], force=True)
    assert path.read_text() == text
    assert "multiply" not in text


def test_init_of_a_missing_module_names_the_paths_tried(tmp_path: Path) -> None:
    path = tmp_path / "hotreload.toml"
    with pytest.raises(ManifestError) as caught:
        init_manifest(path, ["nowhere"])
    assert str(tmp_path / "nowhere.py") in str(caught.value)
    assert str(tmp_path / "nowhere" / "__init__.py") in str(caught.value)
    assert not path.exists()
