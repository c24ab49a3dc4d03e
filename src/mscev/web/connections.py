"""Connections of `mscev serve`: a bounded number, each with a deadline for its request, and a log that a flood
cannot fill.

uvicorn (on h11) closes a keep-alive connection that stays idle after a response, but it has no deadline for
receiving a request: a client that sends half a request and waits holds its socket for ever, and about a
thousand such sockets used up the server's open files, so that it could accept nothing else, span a core and
logged "Too many open files" at megabytes a second. ``guarded_protocol`` makes uvicorn's h11 protocol class:
- give every request ``request_seconds`` to arrive whole (head and body), from the moment the connection
  opens or the previous response ends; a connection that has not sent its request by then is closed;
- keep at most ``max_connections`` open: when one more arrives, the connection that has waited longest for its
  request is closed to make room (a client that sends its request at once is served even during a flood of
  half-open sockets); if every open connection has a request under way, the new one gets 503.
``RepeatFilter`` lets a repeated log message through once per ``interval`` with a count of those suppressed.
"""

from __future__ import annotations

import logging
import time
from collections import OrderedDict

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

BUSY = (b"HTTP/1.1 503 Service Unavailable\r\ncontent-type: text/plain; charset=utf-8\r\nconnection: close\r\n"
        b"content-length: 62\r\n\r\nThe server has too many connections open; try again shortly.\n")
REQUEST_RECEIVED = (h11.DONE, h11.MUST_CLOSE, h11.CLOSED)


def guarded_protocol(max_connections: int, request_seconds: float) -> type[H11Protocol]:
    """uvicorn's h11 protocol with a request deadline and a bounded number of connections (see the module)."""
    waiting: OrderedDict[H11Protocol, None] = OrderedDict()  # connections waiting for a request, oldest first

    class GuardedProtocol(H11Protocol):
        _deadline = None
        _started = False  # some bytes of the awaited request have arrived

        def connection_made(self, transport) -> None:
            if len(self.connections) >= max_connections:
                if not waiting:
                    transport.write(BUSY)
                    transport.close()
                    return
                oldest, _ = waiting.popitem(last=False)
                oldest.give_up()
            super().connection_made(transport)
            self.await_request()

        def data_received(self, data: bytes) -> None:
            self._started = True
            super().data_received(data)
            if self.conn.their_state in REQUEST_RECEIVED:
                self.stop_waiting()

        def on_response_complete(self) -> None:
            super().on_response_complete()
            if not self.transport.is_closing() and self.conn.their_state not in REQUEST_RECEIVED:
                self.await_request()

        def connection_lost(self, exc) -> None:
            self.stop_waiting()
            if self.transport is not None:
                super().connection_lost(exc)

        def await_request(self) -> None:
            self.stop_waiting()
            self._started = False
            self._deadline = self.loop.call_later(request_seconds, self.give_up)
            waiting[self] = None

        def stop_waiting(self) -> None:
            if self._deadline is not None:
                self._deadline.cancel()
                self._deadline = None
            waiting.pop(self, None)

        def give_up(self) -> None:
            """Close a connection whose request did not arrive in time (or that makes room for a new one): one that
            sent part of a request is cut (reset); an idle one, such as a browser's preconnected socket, is closed
            in order, so that the browser sees the close and opens a new connection instead of failing a request."""
            self.stop_waiting()
            if not self.transport.is_closing():
                if self._started:
                    self.transport.abort()
                else:
                    self.transport.close()

    return GuardedProtocol


class RepeatFilter(logging.Filter):
    """Let a message (by logger, text template and exception type) through once per ``interval`` seconds; the
    next one let through says how many were suppressed meanwhile."""

    def __init__(self, interval: float = 10.0):
        super().__init__()
        self.interval = interval
        self.seen: dict[tuple, list] = {}  # key → [time let through, suppressed since]

    def filter(self, record: logging.LogRecord) -> bool:
        key = (record.name, str(record.msg), record.exc_info[0] if record.exc_info else None)
        now = time.monotonic()
        entry = self.seen.get(key)
        if entry is not None and now - entry[0] < self.interval:
            entry[1] += 1
            return False
        if entry is not None and entry[1]:
            record.msg = f"{record.msg} ({entry[1]} more like this in the last {now - entry[0]:.0f} s, not logged)"
        if len(self.seen) > 1000:  # messages that vary (an address, a path) must not grow this without end
            self.seen.clear()
        self.seen[key] = [now, 0]
        return True
