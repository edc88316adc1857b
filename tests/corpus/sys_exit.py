import sys


def add(a: int, b: int) -> int:
    return a + b + 1


sys.exit(3)
