"""Run the benchmark suite: ``python -m benchmarks [--quick] [--only SECTION ...]``."""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
import traceback
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from benchmarks.fieldreport import issue11_verdicts
from benchmarks.proc import ChildError, exit_on_sigterm
from benchmarks.report import derived, machine, render, revision, verdict_dicts
from benchmarks.scalereport import issue19_verdicts
from benchmarks.suite import FULL, QUICK, SECTIONS, Workspace

RESULTS_DIR = Path(__file__).resolve().parent / "results"


def _log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def _write(path: Path, text: str) -> None:
    """Write via a temp file and a rename, so a reader never sees half a result file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temp = path.with_name(path.name + ".tmp")
    temp.write_text(text, encoding="utf-8")
    os.replace(temp, path)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks",
        description="hotreload's benchmarks (issue 5): latency against a restart reloader and "
        "a bare watcher, call overhead, scale, memory and idle cost, all in one run.",
    )
    parser.add_argument(
        "--quick", action="store_true", help="fewer samples: under a minute, for a smoke check"
    )
    parser.add_argument(
        "--only",
        nargs="+",
        choices=sorted(SECTIONS),
        metavar="SECTION",
        help=f"run only these sections ({', '.join(SECTIONS)})",
    )
    parser.add_argument(
        "--render",
        type=Path,
        metavar="JSON",
        help="run nothing: regenerate the tables (latest.md, printed) from a results file "
        "such as benchmarks/results/latest.json",
    )
    parser.add_argument(
        "--baseline",
        type=Path,
        metavar="DIR",
        help="another checkout of hotreload (git worktree add DIR REV): the start-up and web "
        "sections also run its `hotreload up`, side by side with this one's, in turns",
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=RESULTS_DIR,
        help="where latest.json and latest.md go (default: benchmarks/results)",
    )
    return parser


def render_only(source: Path, out: Path) -> int:
    """Regenerate the derived figures, the targets and every table from a results file."""
    try:
        results = json.loads(source.read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        print(f"benchmarks: cannot read results from {source}: {e}", file=sys.stderr)
        return 2
    results["derived"] = derived(results)
    results["targets"] = verdict_dicts(results)
    results["targets_issue11"] = issue11_verdicts(results)
    results["targets_issue19"] = issue19_verdicts(results)
    table = render(results)
    _write(out / "latest.md", table)
    print(table)
    _log(f"wrote {out / 'latest.md'} from {source}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Run the selected sections, write latest.json and latest.md, print the table."""
    args = build_parser().parse_args(argv)
    if args.render:
        return render_only(args.render, args.out)
    exit_on_sigterm()
    plan = QUICK if args.quick else FULL
    sections = args.only or list(SECTIONS)
    began = time.monotonic()
    results: dict[str, Any] = {"plan": plan.name, "machine": machine(), "errors": {}}
    baseline = args.baseline.resolve() if args.baseline else None
    if baseline is not None:
        if not (baseline / "hotreload" / "__init__.py").is_file():
            print(f"benchmarks: --baseline {baseline} holds no hotreload package", file=sys.stderr)
            return 2
        results["machine"]["baseline"] = {"revision": revision(baseline)}
    _log(f"{plan.name} run: {', '.join(sections)}")
    with tempfile.TemporaryDirectory(prefix="hotreload-bench-") as scratch:
        work = Workspace(Path(scratch), baseline=baseline)
        for name in sections:
            try:
                results[name] = SECTIONS[name](plan, work, _log)
                failed = results[name].get("errors")
                if failed:  # a section that went on past a broken part (the field's contenders)
                    results["errors"][name] = "; ".join(f"{k}: {v}" for k, v in failed.items())
            except (ChildError, RuntimeError, OSError) as e:
                # One broken section must not cost the others' figures: record it, go on.
                traceback.print_exc()
                results["errors"][name] = f"{type(e).__name__}: {e}"[-2000:]
    results["duration_s"] = time.monotonic() - began
    results["load_average_end"] = list(os.getloadavg())
    results["derived"] = derived(results)
    results["targets"] = verdict_dicts(results)
    results["targets_issue11"] = issue11_verdicts(results)
    results["targets_issue19"] = issue19_verdicts(results)
    table = render(results)
    _write(args.out / "latest.json", json.dumps(results, indent=2, allow_nan=False) + "\n")
    _write(args.out / "latest.md", table)
    print(table)
    _log(f"wrote {args.out / 'latest.json'} and {args.out / 'latest.md'}")
    return 1 if results["errors"] else 0
