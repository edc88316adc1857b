"""The replay's counts at the end of a run that replayed (``pytest -m replay``)."""

from __future__ import annotations

from typing import Any

from replay import REPORTS


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if REPORTS:
        terminalreporter.section("replay of real history (issue 21)")
        for report in REPORTS:
            terminalreporter.write_line(report.summary())
