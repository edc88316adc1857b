"""Imports itself, as `from calc import ...` in its own code would."""

import calc


def add(a: int, b: int) -> int:
    return a + b + 300


assert calc.__name__ == __name__
