"""The harness's verdict on one save, on made-up outcomes: including `reload.restart_needed`, which
today's engine never says, so that the corpus judges it right once it does."""

from __future__ import annotations

from typing import Any

import pytest
from freshharness import Case, Edit, SaveResult, judge_save

CASE = Case("works", "verdict", {"app.py": ""}, ("m.X",), (), ("app",), kept=("app:history",))
BEFORE = {"probe: m.X": "1", "app:X": "1", "app:history": "[1]"}
FRESH = {"probe: m.X": "2", "app:X": "2", "app:history": "[]"}


def _save(event: dict[str, Any], live: dict[str, str]) -> SaveResult:
    event = {"module": "app", **event}
    return SaveResult(0, ["app.py"], {"app": event}, [event], BEFORE, live, FRESH)


def _judge(event: dict[str, Any], live: dict[str, str], reject: tuple[str, ...] = ()) -> bool:
    edit = Edit("e", ({"app.py": "X = 2\n"},), reject)
    ok, _ = judge_save(CASE, edit, _save(event, live))
    return ok


AFTER = {"probe: m.X": "2", "app:X": "2", "app:history": "[1]"}  # fresh values, history kept


@pytest.mark.parametrize(
    ("event", "live", "reject", "ok"),
    [
        ({"event": "reload.accepted"}, AFTER, (), True),
        ({"event": "reload.accepted"}, BEFORE, (), False),  # applied, yet stale
        ({"event": "reload.accepted"}, {**AFTER, "app:history": "[]"}, (), False),  # keep lost
        ({"event": "reload.restart_needed"}, BEFORE, (), True),
        ({"event": "reload.restart_needed"}, AFTER, (), False),  # said so, yet changed
        ({"event": "reload.rejected", "reason": "exec_error"}, BEFORE, (), False),
        (
            {"event": "reload.rejected", "reason": "import_would_fail"},
            BEFORE,
            ("import_would_fail",),
            True,
        ),
        (
            {"event": "reload.rejected", "reason": "import_would_fail"},
            AFTER,
            ("import_would_fail",),
            False,
        ),
        ({"event": "reload.accepted"}, AFTER, ("import_would_fail",), False),  # must not apply
        ({"event": "reload.restart_needed"}, BEFORE, ("import_would_fail",), True),
        ({"event": "watcher.error"}, AFTER, (), False),
    ],
)
def test_verdict(
    event: dict[str, Any], live: dict[str, str], reject: tuple[str, ...], ok: bool
) -> None:
    """Equal to a fresh start after an acceptance (kept names equal to before), or unchanged after
    restart_needed or an expected rejection; anything else fails."""
    assert _judge(event, live, reject) is ok
