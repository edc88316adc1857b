"""Issue 21: after a save the live process is what a fresh start on the new files computes, or the
save says it needs a restart. Each edit of the corpus (freshcases.py) runs in its own live process
and is compared with a fresh interpreter; an edit today's engine gets wrong is a strict xfail whose
reason says what differs, so a fix that makes it pass turns the suite red until the mark goes."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator

import pytest
from freshcases import CASES
from freshharness import Case, Edit, SessionPool

WORKERS = int(os.environ.get("FRESHSTART_WORKERS", "2"))  # the box is 2 shared cores


def _key(case: Case, edit: Edit) -> str:
    return f"{case.group}/{case.name}/{edit.name}".replace(" ", "_")


def _params() -> Iterator[object]:
    seen: set[str] = set()
    for case in CASES:
        for edit in case.edits:
            key = _key(case, edit)
            assert key not in seen, f"two edits named {key}"
            seen.add(key)
            marks = []
            if edit.fails_today:
                marks.append(pytest.mark.xfail(strict=True, reason=f"issue 21: {edit.fails_today}"))
            yield pytest.param(case, edit, id=key, marks=marks)


@pytest.fixture(scope="session")
def sessions(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[SessionPool]:
    """Every selected edit is started in order on a few workers as soon as the first test asks."""
    pool = SessionPool(tmp_path_factory.mktemp("freshstart"), WORKERS)
    try:
        for item in request.session.items:
            params = getattr(item, "callspec", None)
            if params is not None and isinstance(params.params.get("case"), Case):
                pool.submit(params.params["case"])
        yield pool
    finally:
        pool.close()


@pytest.mark.parametrize(("case", "edit"), list(_params()))
def test_fresh_start(case: Case, edit: Edit, sessions: SessionPool) -> None:
    """The live process after the save equals a fresh start, or the save changed nothing and said
    it needs a restart (or was rightly rejected)."""
    report = sessions.result(case, edit)
    tally = os.environ.get("FRESHSTART_TALLY")
    if tally:  # one JSON line an edit: its verdict and outcomes, for the counts in the docs
        kinds = sorted({o["event"] for s in report.saves for o in s.outcomes.values()})
        with open(tally, "a", encoding="utf-8") as out:
            said = [o.get("message") for s in report.saves for o in s.outcomes.values()]
            line = {"case": case.name, "edit": edit.name, "ok": report.ok, "outcomes": kinds}
            line["messages"] = [m for m in said if m]
            out.write(json.dumps(line) + "\n")
    if not report.ok:
        pytest.fail(report.text, pytrace=False)
