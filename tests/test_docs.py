"""The docs stay usable: README's first commands are the ones CI and reviewers run, every local
link in README.md and docs/ leads to a file (and heading) that exists, and the reference tables
list exactly the reason codes and events the code has."""

from __future__ import annotations

import re
import tomllib
import typing
from pathlib import Path

import pytest

from hotreload.events import EVENT_MODELS, event_name
from hotreload.verdicts import RejectReason

REPO = Path(__file__).resolve().parent.parent
README = REPO / "README.md"
DOCS = sorted((REPO / "docs").glob("*.md"))
PAGES = [README, *DOCS]

FRESH_MACHINE = [
    "python3 -m venv .venv && .venv/bin/pip install -e . && .venv/bin/hotreload up",
    'python3 -m venv .venv && .venv/bin/pip install -e ".[test]" && .venv/bin/python -m pytest',
]

_FENCE = re.compile(r"^```(\w*)\n(.*?)^```\s*$", re.MULTILINE | re.DOTALL)
_CODE_SPAN = re.compile(r"`[^`\n]*`")
_LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")
_HEADING = re.compile(r"^#{1,6} +(.+?) *$", re.MULTILINE)


def fenced_blocks(text: str) -> list[tuple[str, str]]:
    """Each fenced code block as (info string, body), in order."""
    return [(m.group(1), m.group(2)) for m in _FENCE.finditer(text)]


def prose(text: str) -> str:
    """The text outside fenced blocks, with code spans blanked (a `[x](y)` there is no link)."""
    return _CODE_SPAN.sub("code", _FENCE.sub("", text))


def local_links(text: str) -> list[str]:
    """Link targets that point into the repository (not web addresses)."""
    targets = [m.group(1) for m in _LINK.finditer(prose(text))]
    return [t for t in targets if not re.match(r"^[a-z][a-z0-9+.-]*:", t)]


def slug(heading: str) -> str:
    """The anchor GitHub gives a heading: lower case, punctuation dropped, spaces to hyphens."""
    text = heading.lower().replace("`", "")
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def anchors(path: Path) -> set[str]:
    text = _FENCE.sub("", path.read_text(encoding="utf-8"))
    return {slug(m.group(1)) for m in _HEADING.finditer(text)}


def table_under(text: str, heading: str) -> tuple[list[str], list[str]]:
    """The first table under ``heading`` (a line of the page): its header cells and body rows."""
    lines = text.splitlines()
    start = lines.index(heading)
    rows = []
    for line in lines[start + 1 :]:
        if line.startswith("|"):
            rows.append(line)
        elif rows:
            break
    header = [cell.strip() for cell in rows[0].strip("|").split("|")]
    return header, rows[2:]


def test_readme_starts_with_the_two_fresh_machine_commands_verbatim() -> None:
    blocks = fenced_blocks(README.read_text(encoding="utf-8"))
    assert [info for info, _ in blocks[:2]] == ["bash", "bash"]
    assert [body.strip() for _, body in blocks[:2]] == FRESH_MACHINE


def test_the_test_command_is_the_one_ci_runs() -> None:
    ci = (REPO / ".ci" / "run").read_text(encoding="utf-8")
    assert FRESH_MACHINE[1] in ci.splitlines()


def test_the_install_test_runs_once_in_ci_and_not_in_the_default_run() -> None:
    """tests/test_install.py runs README's commands in a fresh venv: slow, so CI runs it once,
    on its own, and a plain `pytest` leaves it out."""
    options = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["tool"]
    options = options["pytest"]["ini_options"]
    assert "not install" in options["addopts"]
    assert any(marker.startswith("install:") for marker in options["markers"])
    ci = (REPO / ".ci" / "run").read_text(encoding="utf-8").splitlines()
    assert ci.count(".venv/bin/python -m pytest -m install") == 1


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(REPO)))
def test_every_local_link_resolves(page: Path) -> None:
    broken = []
    for target in local_links(page.read_text(encoding="utf-8")):
        path_part, _, anchor = target.partition("#")
        resolved = (page.parent / path_part).resolve() if path_part else page
        if not resolved.exists():
            broken.append(f"{target}: no {resolved}")
        elif anchor and resolved.suffix == ".md" and anchor not in anchors(resolved):
            broken.append(f"{target}: no heading #{anchor} in {resolved.relative_to(REPO)}")
    assert broken == []


def test_link_checking_sees_links_and_skips_code() -> None:
    """The checker itself: a link is found in prose, never in code, and web links are skipped."""
    text = (
        "See [the manifest](docs/manifest.md#project), [site](https://example.org) and [a\n"
        "link over two lines](docs/web.md).\n"
        "`[not](a-link.md)`\n```python\nx = d[k](arg)\n```\n"
    )
    assert local_links(text) == ["docs/manifest.md#project", "docs/web.md"]
    assert slug("Stopping `hotreload up`") == "stopping-hotreload-up"
    assert slug("`[env.NAME]`: profiles") == "envname-profiles"


def test_the_docs_have_a_page_for_each_reference_topic() -> None:
    names = {page.name for page in DOCS}
    expected = {"manifest.md", "reloading.md", "guarantees.md", "events.md", "commands.md"}
    assert expected | {"web.md", "benchmarks.md"} <= names
    readme = README.read_text(encoding="utf-8")
    assert all(f"(docs/{name})" in readme for name in names), "README links every docs page"


def _literal_values(alias: object) -> set[str]:
    values: set[str] = set()
    for arg in typing.get_args(alias):
        if isinstance(arg, str):
            values.add(arg)
        else:
            values |= _literal_values(arg)
    return values


def _codes_in_column(page: Path, heading: str, column: str) -> set[str]:
    header, rows = table_under(page.read_text(encoding="utf-8"), heading)
    index = header.index(column)
    cells = [row.strip().strip("|").split("|")[index] for row in rows]
    return {code for cell in cells for code in re.findall(r"`([a-z_.]+)`", cell)}


def test_the_reason_code_table_lists_every_rejection_reason() -> None:
    listed = _codes_in_column(REPO / "docs" / "reloading.md", "## Rejected", "`reason`")
    assert listed == _literal_values(RejectReason)


def test_the_event_table_lists_every_event() -> None:
    listed = _codes_in_column(REPO / "docs" / "events.md", "## Fields", "event")
    names = {event_name(model) for model in EVENT_MODELS}
    assert listed == names


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(REPO)))
def test_no_page_speaks_of_the_seed(page: Path) -> None:
    """Issue 9: no word a newcomer cannot place; "the seed" was the project's own jargon."""
    assert not re.search(r"\bseed'?s?\b", page.read_text(encoding="utf-8"), re.IGNORECASE)
