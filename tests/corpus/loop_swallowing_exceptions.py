def add(a: int, b: int) -> int:
    return a + b + 1


while True:
    try:
        pass
    except Exception:
        pass
