"""flaskr (examples/flaskr) under `hotreload up`: every save against a fresh start (issue 16).

The harness is webdiff.py. `WEBDIFF_FLASK_APP=shim` serves the app through a shim module,
`wsgi.py: app = create_app()` with `wsgi = "wsgi:app"`, which today's manifest accepts; the default
serves the factory as the example's manifest names it (`factory = true`), which is refused today.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
import webdiff
from child import REPO
from flaskr_edits import EDITS, SCRIPT, TODAY

from hotreload.errors import HotreloadError
from hotreload.manifest import load_manifest
from hotreload.web.serving import web_app

pytestmark = pytest.mark.timeout(180)

MODE = os.environ.get("WEBDIFF_FLASK_APP", "factory")
SHIM = '"""Serves the factory\'s app (until [app] factory = true exists)."""\n\n' + (
    "from flaskr import create_app\n\napp = create_app()\n"
)


def factory_refused() -> str | None:
    """Why `factory = true` fails today, asked of the code that decides (cheap: the manifest
    is validated and the app to serve named, nothing runs): the key may be unknown, or known
    and not served yet."""
    manifest = REPO / "examples" / "flaskr" / "hotreload.toml"
    try:
        loaded = load_manifest(manifest)
        web_app(loaded, loaded.profile("development")[1], host=None, port=None)
    except HotreloadError as e:
        return f"[app] factory = true is refused at start (exit 2): {e}"
    return None


def use_shim(directory: Path) -> None:
    (directory / "wsgi.py").write_text(SHIM, encoding="utf-8")
    manifest = directory / "hotreload.toml"
    text = manifest.read_text(encoding="utf-8")
    text = re.sub(r"(?m)^wsgi = .*$", 'wsgi = "wsgi:app"', text)
    text = re.sub(r"(?m)^factory = true.*\n", "", text)
    manifest.write_text(text, encoding="utf-8")


GATE = factory_refused() if MODE == "factory" else None
APP = webdiff.App(
    "flaskr", "FLASKR_DATABASE", SCRIPT, prepare=use_shim if MODE == "shim" else lambda _: None
)


@pytest.fixture(scope="module")
def harness(tmp_path_factory: pytest.TempPathFactory) -> Iterator[webdiff.Harness]:
    running = webdiff.Harness(APP, tmp_path_factory.mktemp("flaskr"), EDITS)
    try:
        yield running
    finally:
        running.close()


def test_the_edits_are_many_distinct_and_apply_in_order(tmp_path: Path) -> None:
    """The data: at least 40 edits, unique ids, today's failures about edits that exist, each
    edit's text found where it edits."""
    assert len(EDITS) >= 40
    assert len({item.id for item in EDITS}) == len(EDITS)
    assert set(TODAY) <= {item.id for item in EDITS}, "TODAY names an edit that is not there"
    webdiff.dry_run(APP, EDITS, tmp_path)


@pytest.mark.parametrize(
    "baseline",
    webdiff.params([webdiff.edit("baseline", "no edit: the live server as started")], gate=GATE),
)
def test_before_any_edit_the_live_server_answers_as_a_fresh_one(
    harness: webdiff.Harness, baseline: webdiff.Edit
) -> None:
    webdiff.check(harness.judge(None))


@pytest.mark.parametrize("item", webdiff.params(EDITS, gate=GATE))
def test_after_each_save_the_live_server_answers_as_a_fresh_one(
    harness: webdiff.Harness, item: webdiff.Edit
) -> None:
    webdiff.check(harness.judge(item))
