def add(a: int, b: int) -> int:
    return a + b + 1


raise RuntimeError("database unavailable")
