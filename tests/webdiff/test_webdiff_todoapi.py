"""todoapi (examples/todoapi) under `hotreload up`: every save against a fresh start (issue 16).

The harness is webdiff.py; the edits and the request script are in todoapi_edits.py.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import webdiff
from todoapi_edits import EDITS, SCRIPT, TODAY, UNSETTLED

pytestmark = pytest.mark.timeout(180)

APP = webdiff.App("todoapi", "TODOAPI_DATABASE", SCRIPT)


@pytest.fixture(scope="module")
def harness(tmp_path_factory: pytest.TempPathFactory) -> Iterator[webdiff.Harness]:
    running = webdiff.Harness(APP, tmp_path_factory.mktemp("todoapi"), EDITS)
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


def test_before_any_edit_the_live_server_answers_as_a_fresh_one(harness: webdiff.Harness) -> None:
    webdiff.check(harness.judge(None))


@pytest.mark.parametrize("item", webdiff.params(EDITS, unsettled=UNSETTLED))
def test_after_each_save_the_live_server_answers_as_a_fresh_one(
    harness: webdiff.Harness, item: webdiff.Edit
) -> None:
    webdiff.check(harness.judge(item))
