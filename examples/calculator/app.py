"""The host: calls the calculator in a loop, as the seed's C# host does, and never restarts."""

from __future__ import annotations

import os
import time

from hotreload import Server


def main(server: Server) -> None:
    """Call the exports every few seconds; edit calculator.py and watch the next round change."""
    calc = server.module("calculator")
    interval = float(os.environ.get("CALCULATOR_INTERVAL", "2"))
    rounds = int(os.environ.get("CALCULATOR_ROUNDS", "0"))  # 0: until Ctrl+C
    done = 0
    while rounds == 0 or done < rounds:
        print(f"5 + 3 = {calc.add(5, 3)}")
        print(f"5 * 3 = {calc.multiply(5, 3)}")
        print(calc.describe_operation("addition"))
        print(f"(calculator v{server.version('calculator')}; Ctrl+C to exit)", flush=True)
        done += 1
        time.sleep(interval)
