import hotreload_corpus_no_such_module


def add(a: int, b: int) -> int:
    return a + b + 1
