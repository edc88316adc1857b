"""Issue 21's replay of real history: consecutive releases of two pure-Python packages, each
written over the previous into one live process, the package's own suite run in it and in a
fresh interpreter (replay.py). Every version must be equal, or `reload.restart_needed` (the
host restarted then, as `restart = "auto"` does), or a rejection a fresh start shares.

Deselected by default (it downloads the sdists once, then reads them from a cache outside the
repository, and takes a minute or two): ``python -m pytest -m replay``. A disagreement found
here is minimized into cases_replay.py (the fresh-start corpus) and fixed, or listed in KNOWN with
the case that keeps it, so a fix that makes it pass turns this red until the entry goes.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from replay import REPORTS, Replay, replay
from replay_sources import PACKAGES

pytestmark = [pytest.mark.replay, pytest.mark.timeout(900)]

MIN_VERSIONS = 20  # consecutive releases written over the first, per package (issue 21)
# The packages CI replays. tomlkit (67 s; this step took 102 s with it, two workers on two
# cores) and pyparsing (3.5 minutes, disagreements left: docs/guarantees.md) are run by name:
# `python tests/freshstart/replay.py NAME`.
NAMES = ["more-itertools", "cachetools"]

# package -> {version: the case of cases_replay.py that keeps the disagreement}: none today.
KNOWN: dict[str, dict[str, str]] = {name: {} for name in NAMES}


@pytest.fixture(scope="module")
def replays(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Replay]]:
    """Both packages at once (each a live host and a fresh interpreter per version): the box has
    two cores, and each side waits on the other half of the time."""
    workdir = Path(tmp_path_factory.mktemp("replay"))
    workers = int(os.environ.get("REPLAY_WORKERS", "2"))
    with ThreadPoolExecutor(workers) as pool:
        futures = {name: pool.submit(replay, PACKAGES[name], workdir) for name in NAMES}
        done = {name: future.result() for name, future in futures.items()}
    REPORTS.extend(done.values())
    yield done


@pytest.mark.parametrize("name", NAMES)
def test_replay(name: str, replays: dict[str, Replay]) -> None:
    """Every version equal to a fresh start, or restart_needed, or rightly rejected."""
    report = replays[name]
    assert len(report.results) >= MIN_VERSIONS, report.summary()
    found = set(report.disagreements())
    unexpected = found - set(KNOWN[name])
    fixed = set(KNOWN[name]) - found
    problems = []
    if unexpected:
        problems.append(f"disagreements: {', '.join(sorted(unexpected))} (see below)")
    if fixed:
        problems.append(f"no longer disagree (remove them from KNOWN): {', '.join(sorted(fixed))}")
    if problems:
        pytest.fail("\n".join([*problems, report.text()]), pytrace=False)
