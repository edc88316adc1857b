"""The host: calls the calculator in a loop and never restarts, so every round shows the
calculator's running version."""

from __future__ import annotations

import os
import time
import traceback

from hotreload import Binding, Server


def show_round(calc: Binding) -> None:
    print(f"5 + 3 = {calc.add(5, 3)}")
    print(f"5 * 3 = {calc.multiply(5, 3)}")
    print(calc.describe_operation("addition"))


def main(server: Server) -> None:
    """Call the exports every few seconds; edit calculator.py and watch the next round change."""
    calc = server.module("calculator")
    interval = float(os.environ.get("CALCULATOR_INTERVAL", "2"))
    rounds = int(os.environ.get("CALCULATOR_ROUNDS", "0"))  # 0: until Ctrl+C
    done = 0
    while rounds == 0 or done < rounds:
        try:
            show_round(calc)
        except Exception:
            # A reloaded body that raises is a slip in the edit, not a reason to stop the host:
            # show it and call again next round. Save a fix and the next round runs it.
            traceback.print_exc()
        print(f"(calculator v{server.version('calculator')}; Ctrl+C to exit)", flush=True)
        done += 1
        time.sleep(interval)
