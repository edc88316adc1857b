"""The manifest cache: a start on content validated before is rebuilt without pydantic, and
anything else (new content, a changed file, a corrupted or unwritable cache) is validated by
pydantic with today's messages. Real files, and fresh interpreters where sys.modules is the
question."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest

from hotreload.errors import ManifestError
from hotreload.events import VALIDATE_ENV
from hotreload.manifest import Manifest, load_manifest, validate_manifest
from hotreload.manifestcache import CACHE_VARIABLE, build, cache_directory

REPO = Path(__file__).resolve().parent.parent

MANIFEST = """\
[project]
name = "cached"

[modules.calc]
keep = ["history"]
[modules.calc.exports]
add = "(a: int, b: int) -> int"
[modules.calc.types.Point]
fields = { x = "int", y = "int = 0" }

[env.development]
reload = true
log_format = "json"

[env.production]
port = 0

[app]
entry = "app:main"
"""

CALC = """\
from dataclasses import dataclass


@dataclass
class Point:
    x: int
    y: int = 0


def add(a: int, b: int) -> int:
    return a + b
"""

# Loads the manifest in a fresh interpreter: whether pydantic came in, and the manifest's repr.
PROBE = """\
import sys
from hotreload.manifest import load_manifest
loaded = load_manifest(sys.argv[1])
print(sorted(m for m in sys.modules if m.split(".")[0] in ("pydantic", "pydantic_core")))
print(repr(loaded.manifest))
print(loaded.written_log_format("development"), loaded.written_log_format("production"))
"""

TIMEOUT = 60


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A cache of this test alone, for this process and the ones it starts."""
    directory = tmp_path / "cache"
    monkeypatch.setenv(CACHE_VARIABLE, str(directory))
    return directory


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "project"
    root.mkdir()
    (root / "calc.py").write_text(CALC, encoding="utf-8")
    (root / "hotreload.toml").write_text(MANIFEST, encoding="utf-8")
    return root / "hotreload.toml"


def probe(manifest: Path, *, pythonpath: Path | None = None) -> tuple[list[str], str, str]:
    """(pydantic modules loaded, the manifest's repr, the written log formats) of a fresh
    interpreter that loads ``manifest`` (with the hotreload package under ``pythonpath``)."""
    env = dict(os.environ) if pythonpath is None else {**os.environ, "PYTHONPATH": str(pythonpath)}
    done = subprocess.run(
        [sys.executable, "-c", PROBE, str(manifest)],
        cwd=manifest.parent,  # not the repository: its package would come before PYTHONPATH
        env=env,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    modules, manifest_repr, formats = done.stdout.splitlines()
    return json.loads(modules.replace("'", '"')), manifest_repr, formats


def entries(cache: Path) -> list[Path]:
    return sorted((cache / "manifests").glob("*.json"))


# -- a hit --------------------------------------------------------------------------------------


def test_a_second_start_of_the_same_content_loads_no_pydantic_and_an_equal_manifest(
    cache: Path, project: Path
) -> None:
    first_modules, first, formats = probe(project)
    assert "pydantic" in first_modules  # validated: nothing was cached yet
    assert len(entries(cache)) == 1
    second_modules, second, again = probe(project)
    assert second_modules == []  # neither pydantic nor pydantic_core
    assert second == first
    assert formats == again == "json None"  # what the file writes, not the defaults


def test_the_rebuilt_manifest_equals_what_pydantic_returns(cache: Path, project: Path) -> None:
    validated = load_manifest(project).manifest
    assert entries(cache)
    cached = load_manifest(project)
    assert cached.manifest == validated
    assert cached.manifest == validate_manifest(tomllib.loads(MANIFEST))
    assert cached.written_log_format("development") == "json"
    assert cached.written_log_format("production") is None


@pytest.mark.parametrize(
    "manifest",
    sorted(p.relative_to(REPO) for p in [REPO / "hotreload.toml", *REPO.glob("examples/*/*.toml")]),
    ids=str,
)
def test_the_builder_rebuilds_every_example_as_pydantic_validates_it(manifest: Path) -> None:
    data = tomllib.loads((REPO / manifest).read_text(encoding="utf-8"))
    assert build(Manifest, data) == validate_manifest(data)


def test_up_of_unchanged_content_does_not_validate_it_again(cache: Path, project: Path) -> None:
    """`hotreload up` of an [app] entry: the second start takes the manifest from the cache.
    The entry reports whether the manifest's validator was built, and which pydantic modules
    are loaded: none on the second start (the events are built without pydantic too; the
    suite's own event validation, which imports it, is off in these children)."""
    app = project.parent / "app.py"
    app.write_text(
        "import sys\n"
        "def main():\n"
        "    from hotreload.manifest import _validator\n"
        "    loaded = sorted(m for m in sys.modules if m.split('.')[0] == 'pydantic')\n"
        "    print('VALIDATED', _validator.cache_info().currsize, 'PYDANTIC', len(loaded))\n",
        encoding="utf-8",
    )
    runs = []
    env = {k: v for k, v in os.environ.items() if k != VALIDATE_ENV}
    for _ in range(2):
        done = subprocess.run(
            [sys.executable, "-m", "hotreload", "up", "--env", "production"],
            cwd=project.parent,
            env=env,
            capture_output=True,
            text=True,
            timeout=TIMEOUT,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        runs.append(done.stdout.split())
    assert runs[0][:2] == ["VALIDATED", "1"]
    assert runs[1][:2] == ["VALIDATED", "0"]
    assert runs[1][2:] == ["PYDANTIC", "0"]


# -- misses -------------------------------------------------------------------------------------


def test_an_edit_is_validated_again_with_todays_message_and_the_old_content_still_hits(
    cache: Path, project: Path
) -> None:
    load_manifest(project)
    project.write_text(MANIFEST.replace("port = 0", "port = 70000"), encoding="utf-8")
    with pytest.raises(ManifestError) as caught:
        load_manifest(project)
    assert str(caught.value) == (
        f"{project}: env.production.port: expected an integer between 0 and 65535, found 70000"
    )
    project.write_text(MANIFEST.replace("port = 0", "port = 1"), encoding="utf-8")
    assert load_manifest(project).manifest.env["production"].port == 1
    project.write_text(MANIFEST, encoding="utf-8")
    modules, _, _ = probe(project)
    assert "pydantic" in modules  # one entry per manifest: the last valid content replaced it
    modules, _, _ = probe(project)
    assert modules == []


def signed(body: bytes) -> bytes:
    """An entry whose digest matches its body: what a damage the digest cannot see looks like."""
    return b"hotreload manifest cache 1 " + hashlib.sha256(body).hexdigest().encode() + b"\n" + body


def with_manifest(text: bytes, manifest: object) -> bytes:
    entry = json.loads(text.split(b"\n", 1)[1])
    return signed(json.dumps({**entry, "manifest": manifest}).encode())


@pytest.mark.parametrize(
    "damage",
    [
        lambda text: b"",
        lambda text: text[: len(text) // 2],
        lambda text: b"not json at all\n{",
        lambda text: text.replace(b'"cached"', b'"altered"'),  # the digest no longer matches
        lambda text: signed(b"[]"),
        lambda text: with_manifest(text, {"project": 5}),
        lambda text: with_manifest(text, {"project": {"name": "x"}, "bogus": 1}),
        lambda text: with_manifest(text, [1]),
    ],
    ids=["empty", "truncated", "garbage", "altered", "a-list", "a-bad-table", "a-bad-key", "list"],
)
def test_a_corrupted_entry_is_a_miss_and_is_written_again(
    cache: Path, project: Path, damage: Any
) -> None:
    load_manifest(project)
    (entry,) = entries(cache)
    entry.write_bytes(damage(entry.read_bytes()))
    modules, manifest_repr, _ = probe(project)
    assert "pydantic" in modules
    assert "name='cached'" in manifest_repr
    modules, _, _ = probe(project)
    assert modules == []  # the miss wrote a good entry again


def test_an_unwritable_cache_is_a_miss_every_time_and_never_an_error(
    tmp_path: Path, project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory", encoding="utf-8")
    monkeypatch.setenv(CACHE_VARIABLE, str(blocker / "cache"))  # cannot be created, even by root
    assert load_manifest(project).manifest.project.name == "cached"
    for _ in range(2):
        modules, manifest_repr, _ = probe(project)
        assert "pydantic" in modules
        assert "name='cached'" in manifest_repr


def test_an_entry_under_another_key_is_a_miss(cache: Path, project: Path) -> None:
    """The key covers the bytes: a comment added is new content, validated again."""
    load_manifest(project)
    project.write_text("# a comment\n" + MANIFEST, encoding="utf-8")
    modules, _, _ = probe(project)
    assert "pydantic" in modules


@pytest.mark.parametrize("rules", ["manifesttypes.py", "contract/typeshapes.py"])
def test_changed_validation_rules_are_a_miss(
    cache: Path, project: Path, tmp_path: Path, rules: str
) -> None:
    """The key covers the rules' sources: a hotreload whose manifest types (or the parser of
    frozen types, which a hit never imports) differ, here by a comment, validates content that
    today's accepted, rather than trusting the entry."""
    copy = tmp_path / "other-version"
    shutil.copytree(REPO / "hotreload", copy / "hotreload")
    with (copy / "hotreload" / rules).open("a", encoding="utf-8") as types:
        types.write("# a later version\n")
    probe(project)
    assert probe(project)[0] == []
    assert "pydantic" in probe(project, pythonpath=copy)[0]
    assert probe(project, pythonpath=copy)[0] == []


def test_check_validates_even_cached_content_and_keeps_it(cache: Path, project: Path) -> None:
    """`hotreload check` always validates (its error messages are today's), and what it
    accepted is kept for the next start."""
    done = subprocess.run(
        [sys.executable, "-m", "hotreload", "check", "--log-format", "json"],
        cwd=project.parent,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    modules, _, _ = probe(project)
    assert modules == []
    project.write_text(MANIFEST.replace('keep = ["history"]', 'kep = ["history"]'))
    done = subprocess.run(
        [sys.executable, "-m", "hotreload", "check"],
        cwd=project.parent,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=False,
    )
    assert done.returncode == 2
    assert (
        "hotreload.toml: modules.calc.kep: unknown key; known keys: exports, keep, types; "
        "did you mean 'keep'?"
    ) in done.stderr


def test_a_root_that_disappeared_is_still_an_error_on_a_hit(cache: Path, tmp_path: Path) -> None:
    """The cache holds the validated content only: the checks against the disk run each load."""
    project = tmp_path / "p"
    (project / "src").mkdir(parents=True)
    manifest = project / "hotreload.toml"
    manifest.write_text('[project]\nname = "p"\nroot = "src"\n', encoding="utf-8")
    load_manifest(manifest)
    (project / "src").rmdir()
    with pytest.raises(ManifestError, match=r"project\.root: 'src' is not a directory"):
        load_manifest(manifest)


# -- where it lives -----------------------------------------------------------------------------


def test_the_cache_directory_is_the_variable_else_xdg_else_home(tmp_path: Path) -> None:
    home = str(Path.home())
    assert cache_directory({CACHE_VARIABLE: "/x/c", "XDG_CACHE_HOME": "/y"}) == Path("/x/c")
    assert cache_directory({"XDG_CACHE_HOME": "/y"}) == Path("/y/hotreload")
    assert cache_directory({"XDG_CACHE_HOME": "relative"}) == Path(home, ".cache", "hotreload")
    assert cache_directory({CACHE_VARIABLE: ""}) == Path(home, ".cache", "hotreload")


def test_the_test_session_never_writes_to_the_real_home() -> None:
    assert os.environ[CACHE_VARIABLE] != str(Path.home() / ".cache" / "hotreload")
