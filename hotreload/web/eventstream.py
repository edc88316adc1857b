"""The server's events as Server-Sent Events: one subscription to the event log, any number of
streams, none of which can hold the server up.

Reused by every endpoint that streams events (the exports API's ``GET /events``, the browser
reload's ``/__hotreload/events``). The event log calls the hub's listener from whatever thread
emits (the watcher's, a reload's, the event loop's own for uvicorn's logs), outside the server's
locks; the listener only appends to each stream's bounded queue and wakes its loop, so a slow or
stuck client costs the server nothing: its oldest events are dropped and it is told how many.

Wire format, per event (``text/event-stream``)::

    id: 12
    data: {"event":"reload.accepted","seq":12,...}

one JSON object per message, the same record as a line of the JSON log (SSE type ``message``,
so a browser's ``EventSource.onmessage`` gets every event). Besides those: ``retry: <ms>`` once
at the start, a ``: heartbeat`` comment every ``heartbeat`` seconds of silence (which also finds
clients that vanished), and where events were dropped, one message of type ``dropped`` whose data
is ``{"dropped": <count>}``, in front of the events that follow the loss (``seq`` shows the gap).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
from collections import deque
from collections.abc import (
    AsyncGenerator,
    AsyncIterator,
    Awaitable,
    Callable,
    Iterable,
    MutableMapping,
)
from typing import Any

from hotreload.events import EventLog

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
Select = Callable[[dict[str, Any]], bool]

QUEUE_SIZE = 256  # events a stream holds for a client that reads slower than they come
HEARTBEAT_S = 15.0  # below the idle timeouts of common proxies (30-60 s)
RETRY_MS = 1000  # how soon a browser's EventSource reconnects once a stream ends
CLOSE_GRACE_S = 0.2  # at close, how long a stream may take to finish a write a client stalls

HEADERS: tuple[tuple[bytes, bytes], ...] = (
    (b"content-type", b"text/event-stream; charset=utf-8"),
    (b"cache-control", b"no-cache"),
    (b"x-accel-buffering", b"no"),  # nginx: pass each message on at once
)


def encode_event(record: dict[str, Any]) -> bytes:
    """One event as an SSE message (compact JSON never holds a raw newline: one ``data`` line)."""
    data = json.dumps(record, separators=(",", ":"), ensure_ascii=False)
    return f"id: {record['seq']}\ndata: {data}\n\n".encode()


def encode_dropped(count: int) -> bytes:
    return f'event: dropped\ndata: {{"dropped":{count}}}\n\n'.encode()


HEARTBEAT = b": heartbeat\n\n"


class _Stream:
    """One client's queue: filled from any thread, drained by the client's event loop."""

    def __init__(self, loop: asyncio.AbstractEventLoop, size: int, select: Select | None):
        self.loop = loop
        self.select = select
        self.queue: deque[dict[str, Any]] = deque()
        self.size = size
        self.dropped = 0  # since the client was last written to
        self.wakeup = asyncio.Event()
        self.ended = asyncio.Event()  # the hub closed
        self._lock = threading.Lock()
        self._woken = False  # a wake-up is on its way: one call_soon per batch, not per event

    def put(self, record: dict[str, Any]) -> None:
        with self._lock:
            if len(self.queue) >= self.size:
                self.queue.popleft()  # the newest events matter most (what runs now)
                self.dropped += 1
            self.queue.append(record)
            if self._woken:
                return
            self._woken = True
        self._call(self._wake)

    def take(self) -> tuple[int, list[dict[str, Any]]]:
        with self._lock:
            dropped, records = self.dropped, list(self.queue)
            self.dropped = 0
            self.queue.clear()
            self._woken = False
            self.wakeup.clear()
            return dropped, records

    def end(self) -> None:
        self._call(self._end)

    def _wake(self) -> None:
        self.wakeup.set()

    def _end(self) -> None:
        self.ended.set()
        self.wakeup.set()

    def _call(self, callback: Callable[[], None]) -> None:
        try:
            self.loop.call_soon_threadsafe(callback)
        except RuntimeError:  # its loop is closed: the stream is over anyway
            pass


class EventHub:
    """Fans a server's events out to Server-Sent-Event streams.

    Create it once per server run with the server's event log (it subscribes there, once, for
    the rest of the run), answer each request with ``await hub.respond(scope, receive, send)``
    (or mount the hub itself: it is an ASGI app), and call ``close()`` when the server stops:
    every open stream ends at once, so a web server's shutdown never waits on a client.
    Thread-safe; streams may live on any event loop.
    """

    def __init__(
        self,
        events: EventLog,
        *,
        queue_size: int = QUEUE_SIZE,
        heartbeat: float = HEARTBEAT_S,
        retry_ms: int = RETRY_MS,
    ) -> None:
        if queue_size < 1:
            raise ValueError(f"queue_size must be at least 1, not {queue_size}")
        self.queue_size = queue_size
        self.heartbeat = heartbeat
        self.retry_ms = retry_ms
        self._streams: set[_Stream] = set()
        self._lock = threading.Lock()
        self._closed = False
        events.subscribe(self.publish)

    @property
    def closed(self) -> bool:
        return self._closed

    @property
    def streams(self) -> int:
        """How many streams are open now."""
        with self._lock:
            return len(self._streams)

    def publish(self, record: dict[str, Any]) -> None:
        """Queue one event for every open stream that selects it; never blocks (the listener)."""
        with self._lock:
            streams = list(self._streams)
        for stream in streams:
            if stream.select is None or stream.select(record):
                stream.put(record)

    def close(self) -> None:
        """End every open stream now and refuse new ones (from any thread; idempotent)."""
        with self._lock:
            self._closed = True
            streams = list(self._streams)
        for stream in streams:
            stream.end()

    async def stream(self, *, select: Select | None = None) -> AsyncIterator[bytes]:
        """The SSE body, chunk by chunk, until the hub closes (then it just ends).

        Subscribed when the first chunk (``retry:``) is produced: every event emitted after the
        client has received it reaches the client. ``select`` picks the events this stream gets;
        it is called in the thread that emits, so it must be quick and must not raise.
        """
        stream = self._open(select)
        if stream is None:
            return
        try:
            async for chunk in self._chunks(stream):
                yield chunk
        finally:
            self._discard(stream)

    async def respond(
        self,
        scope: Scope,
        receive: Receive,
        send: Send,
        *,
        select: Select | None = None,
        headers: Iterable[tuple[bytes, bytes]] = (),
    ) -> None:
        """Answer one HTTP request with the event stream, until the client leaves or the hub
        closes. Routing (path, method, authentication) is the caller's."""
        start = {"type": "http.response.start", "status": 200, "headers": [*HEADERS, *headers]}
        stream = self._open(select)
        if stream is None:  # closing: an empty stream, and the client's EventSource retries
            await send(start)
            await send({"type": "http.response.body", "body": b"", "more_body": False})
            return
        pump = asyncio.ensure_future(self._pump(stream, start, send))
        left = asyncio.ensure_future(_disconnected(receive))
        ended = asyncio.ensure_future(stream.ended.wait())
        try:
            await asyncio.wait({pump, left, ended}, return_when=asyncio.FIRST_COMPLETED)
            if ended.done() and not pump.done():
                # The pump ends by itself unless a client that does not read stalls its write:
                # a short grace, then the stream is given up (the server's shutdown never waits).
                await asyncio.wait({pump}, timeout=CLOSE_GRACE_S)
        finally:
            gone = left.done()
            self._discard(stream)
            for task in (pump, left, ended):
                task.cancel()
            await asyncio.gather(pump, left, ended, return_exceptions=True)
        if gone or pump.cancelled() or pump.exception() is not None:
            return  # nobody to finish the response for, or a write that stalled
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(
                send({"type": "http.response.body", "body": b"", "more_body": False}),
                CLOSE_GRACE_S,
            )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """The hub as an ASGI app: every request it gets is answered with the event stream."""
        await self.respond(scope, receive, send)

    def _open(self, select: Select | None) -> _Stream | None:
        stream = _Stream(asyncio.get_running_loop(), self.queue_size, select)
        with self._lock:
            if self._closed:
                return None
            self._streams.add(stream)
        return stream

    def _discard(self, stream: _Stream) -> None:
        with self._lock:
            self._streams.discard(stream)

    async def _chunks(self, stream: _Stream) -> AsyncGenerator[bytes, None]:
        yield f"retry: {self.retry_ms}\n\n".encode()
        while not stream.ended.is_set():
            try:
                await asyncio.wait_for(stream.wakeup.wait(), self.heartbeat)
            except TimeoutError:
                yield HEARTBEAT
                continue
            if stream.ended.is_set():
                return
            dropped, records = stream.take()
            chunk = encode_dropped(dropped) if dropped else b""
            chunk += b"".join(encode_event(record) for record in records)
            if chunk:
                yield chunk

    async def _pump(self, stream: _Stream, start: Message, send: Send) -> None:
        await send(start)
        async with contextlib.aclosing(self._chunks(stream)) as chunks:
            async for chunk in chunks:
                await send({"type": "http.response.body", "body": chunk, "more_body": True})


async def _disconnected(receive: Receive) -> None:
    """Return once the client has gone (a request body, if any, is read and ignored)."""
    while (await receive())["type"] != "http.disconnect":
        pass
