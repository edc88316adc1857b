def add(a: int, b: int) -> int:
    total = a + b
	return total + 1
