"""Code run the moment a module is imported (`engine.whenimported`): what `process` and
`stdlibrecord` wait for (`multiprocessing.process`, `logging`) without importing it."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path
from types import ModuleType

from hotreload.engine import whenimported
from hotreload.engine.whenimported import when_imported


def _module(tmp_path: Path, name: str) -> None:
    (tmp_path / f"{name}.py").write_text("VALUE = 1\n", encoding="utf-8")


def test_each_wait_runs_once_the_module_s_code_ran_and_the_finder_leaves(tmp_path: Path) -> None:
    _module(tmp_path, "fs_waited_a")
    _module(tmp_path, "fs_waited_b")
    sys.path.insert(0, str(tmp_path))
    seen: list[tuple[str, object]] = []

    def then(module: ModuleType) -> None:
        seen.append((module.__name__, getattr(module, "VALUE", None)))

    try:
        cancel_a = when_imported("fs_waited_a", then)
        when_imported("fs_waited_a", lambda module: seen.append(("second", None)))
        when_imported("fs_waited_b", then)
        assert sys.meta_path.count(whenimported._FINDER) == 1  # one finder for every wait
        import fs_waited_a  # type: ignore[import-not-found]

        assert seen == [("fs_waited_a", 1), ("second", None)]  # its code ran first
        # It keeps its own loader, and a wait that ran is over (cancelling it changes nothing).
        assert type(fs_waited_a.__loader__).__name__ == "SourceFileLoader"
        assert fs_waited_a.__spec__.loader is fs_waited_a.__loader__
        cancel_a()
        importlib.import_module("fs_waited_b")
        assert seen[-1] == ("fs_waited_b", 1)
        if not whenimported._waiting:  # (nothing else in this process waits)
            assert whenimported._FINDER not in sys.meta_path
    finally:
        sys.path.remove(str(tmp_path))
        sys.modules.pop("fs_waited_a", None)
        sys.modules.pop("fs_waited_b", None)


def test_a_cancelled_wait_never_runs(tmp_path: Path) -> None:
    _module(tmp_path, "fs_waited_c")
    sys.path.insert(0, str(tmp_path))
    seen: list[str] = []
    try:
        cancel = when_imported("fs_waited_c", lambda module: seen.append(module.__name__))
        cancel()
        assert "fs_waited_c" not in whenimported._waiting
        import fs_waited_c  # type: ignore[import-not-found]  # noqa: F401

        assert seen == []
    finally:
        sys.path.remove(str(tmp_path))
        sys.modules.pop("fs_waited_c", None)
