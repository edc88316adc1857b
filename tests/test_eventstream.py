"""The event hub: the server's events as Server-Sent Events, by uvicorn to real HTTP clients."""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import uvicorn

from hotreload.events import EventLog, ReloadUnchanged, WatcherError
from hotreload.web.eventstream import EventHub, Message, Receive, Scope, Send

pytestmark = pytest.mark.timeout(60)

WAIT = 10.0


class Served:
    """An EventHub behind a real uvicorn on a free port, in a thread; stopped in `stop`."""

    def __init__(self, hub: EventHub) -> None:
        self.hub = hub
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        sock.bind(("127.0.0.1", 0))
        self.port = sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(
            self.app,
            log_config=None,
            access_log=False,
            lifespan="off",
            interface="asgi3",
            # A client that stops reading keeps its connection open until its unsent bytes
            # go (asyncio closes a transport only once its buffer is flushed): uvicorn waits for
            # it at shutdown unless bounded (the exports server bounds it the same way).
            timeout_graceful_shutdown=1,
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [sock]})
        self.thread.start()
        deadline = time.monotonic() + WAIT
        while not self.server.started:
            assert time.monotonic() < deadline, "uvicorn did not start"
            time.sleep(0.01)

    async def app(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        if scope["path"] == "/reloads":
            await self.hub.respond(
                scope, receive, send, select=lambda e: e["event"].startswith("reload.")
            )
        else:
            await self.hub(scope, receive, send)

    def stop(self) -> float:
        """Stop uvicorn the way a signal does; how long it took."""
        began = time.monotonic()
        self.server.should_exit = True
        self.thread.join(WAIT)
        assert not self.thread.is_alive(), "uvicorn did not stop"
        return time.monotonic() - began


@pytest.fixture
def log() -> EventLog:
    return EventLog("development")


@pytest.fixture
def served(log: EventLog) -> Iterator[Served]:
    served = Served(EventHub(log, heartbeat=30.0))
    try:
        yield served
    finally:
        served.hub.close()
        served.stop()


class Reader:
    """One SSE client (httpx, streaming): messages parsed as an EventSource would."""

    def __init__(self, url: str) -> None:
        self.client = httpx.Client(timeout=WAIT)
        self.response = self.client.send(self.client.build_request("GET", url), stream=True)
        assert self.response.status_code == 200
        assert self.response.headers["content-type"] == "text/event-stream; charset=utf-8"
        self.lines = self.response.iter_lines()
        assert self.message() == {"retry": "1000"}  # subscribed from here on

    def message(self) -> dict[str, str]:
        """The next message's fields (a comment as ``{":": text}``)."""
        fields: dict[str, str] = {}
        for line in self.lines:
            if not line:
                if fields:
                    return fields
                continue
            name, _, value = line.partition(":")
            fields[name or ":"] = value.removeprefix(" ")
        raise EOFError("the stream ended")

    def events(self, count: int) -> list[dict[str, Any]]:
        messages = [self.message() for _ in range(count)]
        assert all(int(m["id"]) == json.loads(m["data"])["seq"] for m in messages)
        return [json.loads(m["data"]) for m in messages]

    def ended(self) -> bool:
        try:
            self.message()
        except EOFError:
            return True
        return False

    def close(self) -> None:
        self.response.close()
        self.client.close()


def emit(log: EventLog, message: str) -> dict[str, Any]:
    record = log.emit(WatcherError, message=message)
    assert record is not None
    return record


def test_every_stream_gets_every_event_in_order_as_the_json_log_has_it(
    served: Served, log: EventLog
) -> None:
    readers = [Reader(served.url + "/events"), Reader(served.url + "/events")]
    try:
        sent = [emit(log, f"event {i}") for i in range(5)]
        for reader in readers:
            assert reader.events(5) == sent
    finally:
        for reader in readers:
            reader.close()


def test_a_stream_gets_only_the_events_it_selects(served: Served, log: EventLog) -> None:
    reader = Reader(served.url + "/reloads")
    try:
        emit(log, "not a reload")
        unchanged = log.emit(
            ReloadUnchanged, module="calc", path="/p/calc.py", version=1, contract=True, digest=None
        )
        assert reader.events(1) == [unchanged]
    finally:
        reader.close()


def test_heartbeats_keep_an_idle_stream_alive(log: EventLog) -> None:
    served = Served(EventHub(log, heartbeat=0.05))
    reader = Reader(served.url + "/events")
    try:
        assert reader.message() == {":": "heartbeat"}
        assert reader.message() == {":": "heartbeat"}
        sent = emit(log, "after the heartbeats")
        while (message := reader.message()) == {":": "heartbeat"}:
            pass
        assert json.loads(message["data"]) == sent
    finally:
        reader.close()
        served.hub.close()
        served.stop()


def test_a_client_that_leaves_is_forgotten(served: Served) -> None:
    reader = Reader(served.url + "/events")
    assert served.hub.streams == 1
    reader.close()
    deadline = time.monotonic() + WAIT
    while served.hub.streams:
        assert time.monotonic() < deadline, "the stream of a client that left is still open"
        time.sleep(0.01)


def test_a_client_that_stops_reading_never_holds_up_the_server_or_the_others(
    log: EventLog,
) -> None:
    """Events of 64 KiB, 400 of them (25 MiB, beyond any socket buffer), to a client that never
    reads: emitting stays fast, and a client that reads gets them all."""
    served = Served(EventHub(log, queue_size=8, heartbeat=30.0))
    stalled = socket.create_connection(("127.0.0.1", served.port))
    reader = Reader(served.url + "/events")
    try:
        stalled.sendall(b"GET /events HTTP/1.1\r\nhost: x\r\n\r\n")
        deadline = time.monotonic() + WAIT
        while served.hub.streams < 2:
            assert time.monotonic() < deadline
            time.sleep(0.01)
        began = time.monotonic()
        for i in range(400):
            emit(log, f"{i} " + "x" * 65536)
            if i % 4 == 3:  # the reader keeps up; what it missed would come as a `dropped`
                got = reader.events(4)
                assert [e["message"].split()[0] for e in got] == [
                    str(n) for n in range(i - 3, i + 1)
                ]
        assert time.monotonic() - began < 30
        assert served.hub.streams == 2  # the stalled one is open still, costing nothing
        began = time.monotonic()
        served.hub.close()
        assert reader.ended()
        while served.hub.streams:  # the stalled stream is given up after a short grace
            assert time.monotonic() - began < 1.0
            time.sleep(0.01)
        # uvicorn itself waits for the stalled connection up to its graceful limit (the CLI test
        # of the exports server checks that bound); once the client goes, nothing is left.
        stalled.close()
        assert served.stop() < 2.0
    finally:
        stalled.close()
        reader.close()
        served.hub.close()
        if served.thread.is_alive():
            served.stop()


def test_a_stalled_stream_drops_its_oldest_events_and_says_how_many(log: EventLog) -> None:
    """At the ASGI level, with a send that blocks until released: the queue keeps the newest
    events, and the client is told what it lost before them."""
    hub = EventHub(log, queue_size=4, heartbeat=30.0)
    body: list[bytes] = []

    async def scenario() -> None:
        writable = asyncio.Event()
        first = asyncio.Event()

        async def send(message: Message) -> None:
            if message["type"] == "http.response.body":
                body.append(message["body"])
                first.set()
                await writable.wait()  # a client whose socket does not drain

        async def receive() -> Message:
            await asyncio.Event().wait()  # never leaves
            raise AssertionError

        task = asyncio.ensure_future(hub.respond({"type": "http"}, receive, send))
        await asyncio.wait_for(first.wait(), WAIT)  # the retry line is written, and stalls
        began = time.monotonic()
        await asyncio.to_thread(lambda: [emit(log, f"event {i}") for i in range(100)])
        assert time.monotonic() - began < 5
        writable.set()
        deadline = time.monotonic() + WAIT
        while b"event 99" not in b"".join(body):
            assert time.monotonic() < deadline
            await asyncio.sleep(0.01)
        hub.close()
        await asyncio.wait_for(task, WAIT)

    asyncio.run(scenario())
    text = b"".join(body).decode()
    assert text.startswith("retry: 1000\n\n")
    assert 'event: dropped\ndata: {"dropped":96}\n\n' in text
    assert text.index("dropped") < text.index("event 96")
    assert [f'"event {i}"' in text for i in range(100)] == [False] * 96 + [True] * 4


def test_close_ends_every_open_stream_at_once_and_refuses_new_ones(served: Served) -> None:
    readers = [Reader(served.url + "/events") for _ in range(3)]
    try:
        served.hub.close()
        assert all(reader.ended() for reader in readers)
        assert served.hub.streams == 0
        response = httpx.get(served.url + "/events", timeout=WAIT)
        assert response.status_code == 200 and response.content == b""
    finally:
        for reader in readers:
            reader.close()


def test_uvicorn_stops_at_once_with_clients_connected_once_the_hub_is_closed(
    served: Served,
) -> None:
    readers = [Reader(served.url + "/events") for _ in range(3)]
    try:
        served.hub.close()
        assert served.stop() < 2.0
    finally:
        for reader in readers:
            reader.close()


def test_the_queue_size_must_hold_an_event(log: EventLog) -> None:
    with pytest.raises(ValueError, match="queue_size must be at least 1"):
        EventHub(log, queue_size=0)
