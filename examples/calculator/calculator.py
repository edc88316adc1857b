"""The calculator: the module the host (app.py) calls; edit it while `hotreload up` runs."""

history: list[str] = []  # kept across reloads: see `keep` in hotreload.toml


def add(a: int, b: int) -> int:
    history.append(f"add({a}, {b})")
    return a + b


def multiply(a: int, b: int) -> int:
    history.append(f"multiply({a}, {b})")
    return a * b


def describe_operation(operation: str) -> str:
    return f"Performing {operation} operation"
