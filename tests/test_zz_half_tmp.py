from __future__ import annotations
import hashlib, threading
from conftest import EventRecorder, Project
from support import run

def digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()[:16]

HEADER = "def add(a: int, b: int) -> int:\n    return a + b + VALUE\n\n\ndef tag() -> int:\n    return VALUE\n\n\n"
EXPORTS = {"calc": {"add": "(a: int, b: int) -> int", "tag": "() -> int"}}

def test_half(project: Project, start) -> None:
    r = run(project, start, {"calc": HEADER + "VALUE = -1\n"}, EXPORTS, debounce_ms=50)
    path = project.path("calc")
    pause = threading.Event()
    for round_ in range(3):
        mark = r.events.mark()
        lines = [f"VALUE = {i}\n" for i in range(60)] + [f"ROUND = {round_}\n"]
        full = (HEADER + "".join(lines)).encode()
        with open(path, "w", encoding="utf-8") as f:
            f.write(HEADER); f.flush()
            for line in lines:
                pause.wait(0.005); f.write(line); f.flush()
        r.events.wait_for("reload.accepted", after=mark, digest=digest(full))
        r.server.reload([path])
        seen = [(e["event"], e.get("digest") == digest(full), e.get("reason")) for e in r.events.events[mark:]]
        print(round_, seen)
        assert all(ok for _, ok, _ in seen), seen
