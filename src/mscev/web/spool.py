"""Answers streamed from a query worker to the client through a spool file, so that neither holds them whole.

A worker writes an answer, as pyoxigraph serialises it, into an anonymous temporary file (``Spool``; created
by the server with no name on disk, its descriptor passed to the worker), and is free for the next query once
it has written it, however slowly the client reads. The server sends the file on as it grows, a chunk at a
time (``SpoolResponse``), so the first bytes of a large answer go out while the worker is still writing, and
the server process holds one chunk per answer, not the answer. The disk space goes back when both ends have
closed the file: the worker at the end of its job (or when it is killed), the server when the answer is sent,
the client is cut off or goes away; a crash of either leaves no file behind.

Before the first byte the status can still change: an answer that ends within ``hold`` bytes is sent whole,
with its Content-Length, and an error found meanwhile (the row or byte cap, the time limit, a crash) is a plain
error response as before. Past ``hold`` bytes the server commits to 200 and streams (chunked transfer coding);
an error after that ends the body with a line of text saying why, and the connection is closed without the
last chunk, so HTTP/1.1 clients report an incomplete answer instead of taking it for a whole one. A client
that has not read the whole answer within ``send_seconds`` is cut off the same way.
"""

from __future__ import annotations

import logging
import os
import tempfile
import threading
from collections.abc import AsyncIterator, Callable
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

import anyio
from starlette.responses import StreamingResponse

if TYPE_CHECKING:
    from mscev.web.pool import Answer

CHUNK_BYTES = 256 * 1024  # read from the spool and sent to the client at a time
HOLD_BYTES = 4 * 1024 * 1024  # an answer that ends within this size is sent whole, with its exact status
POLL_SECONDS = 0.02  # how often a reader waiting for more of the answer looks at the spool's size


class AnswerStopped(Exception):
    """The worker stopped writing an answer whose first bytes were already sent (its error answer in ``args[0]``)."""


class Spool:
    """One answer on its way: the file a worker writes it into, its head (status and media type, once the worker
    has started writing) and its end (the worker's final answer: 200, or an error), set by the pool, which
    hands it out to be streamed once it has grown past ``hold`` bytes (QueryPool.stream)."""

    def __init__(self, directory: Path, hold: int = HOLD_BYTES):
        self.file = tempfile.TemporaryFile(dir=directory)  # no name on disk (O_TMPFILE): nothing to clean after a crash
        self.hold = hold
        self.head: Answer | None = None
        self.end: Answer | None = None
        self._changed = threading.Condition()
        self._closed = False
        self._on_close: list[Callable[[], None]] = []

    def fileno(self) -> int:
        return self.file.fileno()

    @property
    def status(self) -> int:
        """200: a spool is streamed only once its worker has started writing an answer."""
        return self.head.status

    def size(self) -> int:
        with self._changed:
            return 0 if self._closed else os.fstat(self.file.fileno()).st_size

    # ------------------------------------------------------------------ set by the pool, as the worker reports

    def started(self, head: Answer) -> None:
        with self._changed:
            self.head = head
            self._changed.notify_all()

    def ended(self, answer: Answer) -> None:
        with self._changed:
            self.end = answer
            self._changed.notify_all()

    # ------------------------------------------------------------------ read by the request

    def whole(self) -> Answer:
        """Wait for the end of the answer and return it with its body read into memory (an answer within the hold,
        or one of the web pages, which have at most a page of rows); closes the spool."""
        with self._changed:
            while self.end is None:
                self._changed.wait(POLL_SECONDS)
            try:
                if not self.end.ok:
                    return self.end
                return replace(self.end, body=os.pread(self.file.fileno(), self._size(), 0))
            finally:
                self._close()

    async def chunks(self) -> AsyncIterator[bytes]:
        """The answer's bytes as the worker writes them, CHUNK_BYTES at a time; AnswerStopped when the worker ended
        with an error after the bytes already written. Each piece is read in a thread (a disk read may block), but
        the wait for the worker to write more is in the event loop, where a cut or a disconnect lands at once: a
        thread waiting there could not be cancelled, and held the cut back until the worker wrote again."""
        offset = 0
        while True:
            piece = await anyio.to_thread.run_sync(self._piece, offset)
            if piece is None:
                await anyio.sleep(POLL_SECONDS)
            elif piece:
                offset += len(piece)
                yield piece
            else:
                return

    def _piece(self, offset: int) -> bytes | None:
        """The answer's bytes from ``offset`` (at most CHUNK_BYTES): b"" once it is over (or the spool closed), None
        while the worker has not written further yet."""
        with self._changed:
            if self._closed:
                return b""
            size = self._size()
            if size > offset:
                return os.pread(self.file.fileno(), min(CHUNK_BYTES, size - offset), offset)
            if self.end is None:
                return None
            if self.end.ok:
                return b""
            raise AnswerStopped(self.end)

    def close(self) -> None:
        with self._changed:
            self._close()

    def when_closed(self, callback: Callable[[], None]) -> None:
        """Call ``callback`` once the spool is closed (the answer sent, cut off or abandoned)."""
        with self._changed:
            if not self._closed:
                self._on_close.append(callback)
                return
        callback()

    def _size(self) -> int:
        return os.fstat(self.file.fileno()).st_size

    def _close(self) -> None:
        if not self._closed:
            self._closed = True
            self.file.close()
            for callback in self._on_close:
                callback()


class SpoolResponse(StreamingResponse):
    """A streamed answer (see the module): its status and headers are sent at once, then its body as the worker
    writes it. An answer stopped by the worker (caps, time limit, crash) or not read within ``send_seconds``
    ends with a line saying why and without the last chunk (the server closes the connection); a client that
    goes away ends it silently. The spool is closed in every case."""

    def __init__(self, spool: Spool, send_seconds: float, headers: dict[str, str] | None = None):
        super().__init__(spool.chunks(), spool.head.status, headers=headers, media_type=spool.head.media_type)
        self.spool, self.send_seconds = spool, send_seconds

    async def stream_response(self, send) -> None:
        try:
            with anyio.fail_after(self.send_seconds):
                await super().stream_response(send)
        except AnswerStopped as stopped:
            await self._cut(send, stopped.args[0].text)
        except TimeoutError:
            await self._cut(send, f"The answer was not read within {self.send_seconds:g} s, the limit of this "
                                  "server (mscev serve --send-timeout); it was cut off.")
        finally:
            self.spool.close()

    @staticmethod
    async def _cut(send, reason: str) -> None:
        """End the body with ``reason`` and leave the response incomplete: uvicorn then closes the connection
        without the last chunk."""
        logging.getLogger("uvicorn.error").warning("answer cut off after its first bytes: %s", reason.splitlines()[0])
        with anyio.move_on_after(1):  # a client that no longer reads gets no more time
            await send({"type": "http.response.body", "body": f"\n\n# mscev: {reason.strip()}\n".encode(),
                        "more_body": True})
