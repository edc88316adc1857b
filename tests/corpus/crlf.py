"""Saved with Windows line ends."""


def add(a: int, b: int) -> int:
    return a + b + 200
