"""The module being edited: change a body and the change applies; change a signature and the
log pipeline hears about the rejection."""

from __future__ import annotations

GREETING = "Hello"


def greet(name: str) -> str:
    return f"{GREETING}, {name}!"


def shout(name: str, *, times: int = 1) -> str:
    return " ".join([greet(name).upper()] * times)
