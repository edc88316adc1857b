import time


def add(a: int, b: int) -> int:
    return a + b + 1


while True:
    time.sleep(0.01)
