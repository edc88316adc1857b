"""A small Debug Adapter Protocol client, as an editor speaks it to debugpy: requests, their
responses and events over one socket, each message framed with a Content-Length header."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Callable
from typing import Any

Message = dict[str, Any]


class DapError(AssertionError):
    """The adapter refused a request, or what was awaited did not come in time."""


class DapClient:
    """Connects to a debug adapter; one reader thread files every message it sends."""

    def __init__(self, host: str, port: int, *, timeout: float) -> None:
        self.timeout = timeout
        deadline = time.monotonic() + timeout
        while True:  # the adapter listens a moment after the debuggee started
            try:
                self.sock = socket.create_connection((host, port), timeout=1.0)
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                threading.Event().wait(0.05)
        self.sock.settimeout(None)
        self.messages: list[Message] = []
        self._seq = 0
        self._cond = threading.Condition()
        self._closed = False
        self._reader = threading.Thread(target=self._read, name="dap-reader", daemon=True)
        self._reader.start()

    # -- the wire --------------------------------------------------------------------------

    def _read(self) -> None:
        stream = self.sock.makefile("rb")
        try:
            while True:
                length = None
                while True:
                    line = stream.readline()
                    if not line:
                        return
                    line = line.strip()
                    if not line:
                        break
                    name, _, value = line.decode("ascii").partition(":")
                    if name.lower() == "content-length":
                        length = int(value)
                if length is None:
                    continue
                message = json.loads(stream.read(length))
                with self._cond:
                    self.messages.append(message)
                    self._cond.notify_all()
        except OSError:
            return
        finally:
            with self._cond:
                self._closed = True
                self._cond.notify_all()

    def send(self, command: str, **arguments: Any) -> int:
        """Send one request; its seq, to wait for its response."""
        with self._cond:
            self._seq += 1
            seq = self._seq
        body = json.dumps(
            {"seq": seq, "type": "request", "command": command, "arguments": arguments}
        ).encode()
        self.sock.sendall(b"Content-Length: %d\r\n\r\n" % len(body) + body)
        return seq

    # -- waiting ---------------------------------------------------------------------------

    def _wait(self, found: Callable[[Message], bool], what: str, after: int = 0) -> Message:
        deadline = time.monotonic() + self.timeout
        with self._cond:
            while True:
                for message in self.messages[after:]:
                    if found(message):
                        return message
                remaining = deadline - time.monotonic()
                if remaining <= 0 or self._closed:
                    seen = [m.get("event") or m.get("command") for m in self.messages]
                    raise DapError(f"no {what} within {self.timeout:g} s; got {seen}")
                self._cond.wait(remaining)

    def mark(self) -> int:
        with self._cond:
            return len(self.messages)

    def response(self, seq: int) -> Any:
        """The body of the response to request ``seq``; a refusal raises DapError."""
        message = self._wait(
            lambda m: m.get("type") == "response" and m.get("request_seq") == seq,
            f"response to request {seq}",
        )
        if not message.get("success"):
            raise DapError(f"{message.get('command')} refused: {message.get('message')}")
        return message.get("body", {})

    def request(self, command: str, **arguments: Any) -> Any:
        return self.response(self.send(command, **arguments))

    def event(self, name: str, *, after: int = 0, **fields: Any) -> Message:
        """The first event ``name`` past ``after`` whose body has these values."""

        def found(m: Message) -> bool:
            body = m.get("body", {})
            return (
                m.get("type") == "event"
                and m.get("event") == name
                and all(body.get(k) == v for k, v in fields.items())
            )

        body: Message = self._wait(found, f"event {name} {fields}", after).get("body", {})
        return body

    def close(self) -> None:
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.sock.close()
        self._reader.join(self.timeout)

    # -- what an editor does ---------------------------------------------------------------

    def attach(self, breakpoints: dict[str, list[int]]) -> None:
        """initialize, attach, the breakpoints, configurationDone: the debuggee runs on."""
        self.request(
            "initialize",
            clientID="hotreload-tests",
            adapterID="debugpy",
            pathFormat="path",
            linesStartAt1=True,
            columnsStartAt1=True,
        )
        attach = self.send("attach", justMyCode=True)
        self.event("initialized")
        for path, lines in breakpoints.items():
            self.set_breakpoints(path, lines)
        self.request("configurationDone")
        self.response(attach)

    def set_breakpoints(self, path: str, lines: list[int]) -> list[Message]:
        body = self.request(
            "setBreakpoints",
            source={"path": path},
            breakpoints=[{"line": line} for line in lines],
        )
        return body["breakpoints"]  # type: ignore[no-any-return]

    def stopped_at(self, *, after: int) -> tuple[int, Message, dict[str, Any]]:
        """Wait for a breakpoint stop: its thread, its top frame, and that frame's locals."""
        stopped = self.event("stopped", after=after, reason="breakpoint")
        thread = stopped["threadId"]
        frame = self.request("stackTrace", threadId=thread, levels=1)["stackFrames"][0]
        scopes = self.request("scopes", frameId=frame["id"])["scopes"]
        local = next(s for s in scopes if s["name"].lower().startswith("locals"))
        variables = self.request("variables", variablesReference=local["variablesReference"])
        values = {v["name"]: v["value"] for v in variables["variables"]}
        return thread, frame, values

    def resume(self, thread: int) -> None:
        self.request("continue", threadId=thread)
