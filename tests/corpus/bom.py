"""Saved by an editor that writes a BOM."""


def add(a: int, b: int) -> int:
    return a + b + 100
