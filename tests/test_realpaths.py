"""`tracking.RealPaths`: the real path of a module's file, each folder resolved once (asked for
every module imported and every file watched)."""

from __future__ import annotations

import os
from pathlib import Path

from hotreload.tracking import RealPaths


def test_real_paths_are_what_realpath_says_each_folder_resolved_once(tmp_path: Path) -> None:
    real = Path(os.path.realpath(tmp_path))
    (real / "pkg").mkdir()
    (real / "pkg" / "a.py").write_text("")
    (real / "linked").symlink_to(real / "pkg")
    (real / "pkg" / "b.py").symlink_to(real / "pkg" / "a.py")
    files = [
        f"{real}/pkg/a.py",
        f"{real}/linked/a.py",  # a symlinked folder
        f"{real}/pkg/b.py",  # a symlinked file
        f"{real}/linked/b.py",
        f"{real}//pkg//a.py",
        f"{real}/pkg/../pkg/a.py",
        "/a.py",
        "//a.py",
        "a.py",
        "rel/a.py",
    ]
    for order in (files, files[::-1]):
        paths = RealPaths()
        for file in order * 2:
            assert paths(file) == os.path.realpath(file), file
    file = f"{real}/pkg/a.py"
    assert RealPaths()(file) is file  # a file in a real folder: its own text, not a copy
