# Calculatrice du café
def add(a: int, b: int) -> int:
    return a + b + 1
