"""Report the changes hotreload rejected, from its JSON-lines event log.

    python rejections.py logs/events.jsonl                 # a log, read to its end
    tail -n +1 -F logs/events.jsonl | python rejections.py  # live, until Ctrl+C

Prints one line per rejected change (`reload.rejected`) and per contract violation found at
start-up (`contract.violation`), as it reads them, then a summary. A gap in `seq` means events
were lost on the way; the summary counts them. Exit status: 0 no rejection, 1 at least one,
2 the input is not a hotreload event log. Standard library only: it runs wherever logs go.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from collections.abc import Iterable, Iterator
from typing import Any, TextIO


class NotAnEventLog(Exception):
    """A line that is not one hotreload event."""


def _no_constants(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def read_events(lines: Iterable[str], source: str) -> Iterator[dict[str, Any]]:
    """Each line parsed as one strict JSON event; blank lines are skipped."""
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            event = json.loads(line, parse_constant=_no_constants)
        except ValueError as e:
            raise NotAnEventLog(f"{source}:{number}: not a JSON line ({e})") from e
        if not (isinstance(event, dict) and "event" in event and isinstance(event.get("seq"), int)):
            raise NotAnEventLog(f"{source}:{number}: not a hotreload event (no event or seq)")
        yield event


def describe(event: dict[str, Any]) -> str:
    """One line for a person: when, which module and version, why."""
    when = str(event.get("timestamp", ""))[:19].replace("T", " ")
    module, version = event.get("module"), event.get("version")
    where = f"{module} v{version}" if version is not None else f"{module}"
    if event["event"] == "contract.violation":
        return (
            f"{when} {where} breaks the contract at start-up ({event['code']}): {event['message']}"
        )
    return f"{when} {where} rejected ({event['reason']}): {event['message']}"


def report(lines: Iterable[str], source: str, out: TextIO) -> int:
    """Print the rejections in ``lines`` and a summary; return the exit status."""
    counts: Counter[str] = Counter()
    runs = lost = last_seq = 0
    try:
        for event in read_events(lines, source):
            if event["seq"] == 1:  # a new server run numbers from 1 again
                runs += 1
            elif event["seq"] > last_seq + 1:
                lost += event["seq"] - last_seq - 1
            last_seq = event["seq"]
            counts[event["event"]] += 1
            if event["event"] in ("reload.rejected", "contract.violation"):
                print(describe(event), file=out, flush=True)
    except KeyboardInterrupt:  # following a live log: Ctrl+C ends it, the summary still counts
        pass
    rejected = counts["reload.rejected"] + counts["contract.violation"]
    summary = (
        f"{counts['reload.rejected']} rejected, {counts['reload.accepted']} accepted, "
        f"{counts['contract.violation']} start-up violation(s) in {runs} run(s)"
    )
    if lost:
        summary += f"; {lost} event(s) lost (gaps in seq)"
    print(summary, file=out, flush=True)
    return 1 if rejected else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Report the changes hotreload rejected.")
    parser.add_argument("log", nargs="?", help="JSON-lines event log (default: standard input)")
    args = parser.parse_args(argv)
    try:
        if args.log is None:
            return report(sys.stdin, "<stdin>", sys.stdout)
        with open(args.log, encoding="utf-8") as lines:
            return report(lines, args.log, sys.stdout)
    except (NotAnEventLog, OSError) as e:
        print(f"rejections: error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
