"""Worker processes that run SPARQL on the store, so that a runaway query can be stopped.

pyoxigraph evaluates a query in the calling thread and offers no way to cancel it; a thread that overran
could only be abandoned, and would keep a core busy until its query ended, which may be never. So every query
runs in one of a few long-lived worker processes, each with its own read-only handle on the store. The server
waits for the answer up to the time limit; a worker that overruns is killed (SIGKILL) and a fresh one started,
so the next request finds a full pool.

Costs of this choice: one pipe round trip per query, and the serialised answer written into a spool file by
the worker and read back by the server (about a millisecond for the stored questions); one store handle and
its caches per worker; and a killed query costs a fork from the preloaded fork server plus opening the store
(about 50 ms) to replace its worker. Workers also get a memory budget (RLIMIT_DATA, which bounds the heap): a
query that would eat the machine's memory makes its worker abort, and the server answers 503 instead of
swapping.

Answers are serialised inside the worker, rows counted as they stream out (see ``_write_solutions``), into a
spool file that the server sends on as it grows (mscev.web.spool): neither process holds a large answer whole,
and a worker is free again once it has written its answer, however slowly the client reads it.

Two lanes keep heavy free queries from starving the cheap ones: free queries (the SPARQL protocol) run only on
the ``workers`` of the free lane, whose processes run at a lower CPU priority (nice FREE_NICENESS); stored
queries and the pages' own queries have ``reserved`` workers of their own at normal priority, and take an
idle free worker when theirs are busy. Twenty clients looping a cross product keep the free lane busy, and
the stored queries are still answered at once (benchmarks/flood.py).
"""

from __future__ import annotations

import hashlib
import io
import itertools
import multiprocessing
import os
import resource
import signal
import tempfile
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from multiprocessing import reduction
from pathlib import Path

import pyoxigraph as ox

from mscev.errors import MscevError
from mscev.query import StoredQuery, open_store, run_query
from mscev.web.messages import syntax_error_message
from mscev.web.sparql import GRAPH_TYPES, refusal, used_prefixes, write_graph
from mscev.web.spool import HOLD_BYTES, POLL_SECONDS, Spool

TSV = ox.QueryResultsFormat.TSV
STORED, FREE = "stored", "free"  # the lanes
FREE_NICENESS = 10  # a free worker's CPU weight is a tenth of a stored one's (Linux CFS)
HEAD, END = "head", "end"  # a worker's messages about a job: the body starts, the job is over
PREFIX_SAMPLE = 1000  # triples whose IRIs choose the prefixes Turtle declares (see _write_triples)


@dataclass(frozen=True)
class Job:
    """One query to run: a stored query with parameters, or the text of a free query (SPARQL protocol).

    ``results_type`` and ``graph_type`` are the media types chosen for a SELECT/ASK answer and for a
    CONSTRUCT/DESCRIBE answer; None when the client accepts no format of that kind (406). ``page_rows`` is
    for web pages: keep the first rows (at most this many) of a longer result instead of refusing it.
    """

    query: str | StoredQuery
    params: dict[str, str] = field(default_factory=dict)
    results_type: str | None = "application/sparql-results+json"
    graph_type: str | None = "text/turtle"
    default_graphs: tuple[str, ...] = ()
    named_graphs: tuple[str, ...] = ()
    inferred: bool = True
    body_text_only: bool = False
    page_rows: int | None = None
    limit: int | None = None  # a page of a stored query's rows (SPARQL LIMIT/OFFSET)
    offset: int = 0
    base_iri: str | None = None  # relative IRIs in a free query resolve against the endpoint's URL (protocol)


@dataclass(frozen=True)
class Answer:
    """What a worker sends back: an HTTP status, a media type and a body, ready to send."""

    status: int
    media_type: str
    body: bytes
    truncated: bool = False
    build: str = ""  # the id of the build the worker answered from (see build_id)

    @classmethod
    def error(cls, status: int, message: str) -> Answer:
        return cls(status, "text/plain; charset=utf-8", (message.rstrip() + "\n").encode("utf-8"))

    @property
    def ok(self) -> bool:
        return self.status == 200

    @property
    def text(self) -> str:
        return self.body.decode("utf-8")


class RowCapExceeded(Exception):
    """Raised when a result has more rows (or triples) than the cap."""


class AnswerTooLarge(Exception):
    """Raised by the spool when an answer has more bytes than the cap."""


class SpoolFailed(Exception):
    """Raised by the spool when the answer cannot be written (a full disk)."""


class _Spool(io.RawIOBase):
    """The worker's end of an answer's spool file (mscev.web.spool): writes go straight to the file, unbuffered,
    so that the server can send them on at once; more than ``max_bytes`` in all stops the serialiser."""

    def __init__(self, descriptor: int, max_bytes: int):
        self.descriptor, self.max_bytes, self.size = descriptor, max_bytes, 0

    def writable(self) -> bool:
        return True

    def write(self, chunk) -> int:
        data = memoryview(chunk).cast("B")
        if self.size + len(data) > self.max_bytes:
            raise AnswerTooLarge
        try:
            written = 0
            while written < len(data):
                written += os.write(self.descriptor, data[written:])
        except OSError as error:
            raise SpoolFailed(error.strerror or str(error)) from None
        self.size += len(data)
        return len(data)


class _RowCounter(io.RawIOBase):
    """Passes SPARQL TSV on to ``out`` and stops after ``max_lines`` lines, cutting the chunk that passes them at
    the last line allowed. pyoxigraph writes SPARQL TSV one row per line (line breaks inside literals are escaped),
    so lines count rows, and a query stops after the cap without reading the rest."""

    def __init__(self, out, max_lines: int):
        self.out, self.max_lines, self.lines = out, max_lines, 0
        self.stopped = False  # pyoxigraph writes its buffer again when it drops it: nothing may pass after the cap

    def writable(self) -> bool:
        return True

    def write(self, chunk) -> int:
        data = bytes(chunk)
        lines = data.count(b"\n")
        if self.stopped or self.lines + lines > self.max_lines:
            allowed = 0 if self.stopped else self.max_lines - self.lines
            self.out.write(data[:_nth_newline(data, allowed) + 1] if allowed else b"")
            self.stopped = True
            raise RowCapExceeded
        self.lines += lines
        self.out.write(data)
        return len(data)


def _nth_newline(data: bytes, n: int) -> int:
    position = -1
    for _ in range(n):
        position = data.index(b"\n", position + 1)
    return position


def _write_solutions(solutions: ox.QuerySolutions, media_type: str, max_rows: int, truncate: bool, spool) -> bool:
    """Write SELECT results in ``media_type`` into ``spool`` as they come, at most ``max_rows`` rows; True if rows
    were left out (``truncate``), RowCapExceeded if there are more rows and not ``truncate``.

    The rows are counted in SPARQL TSV (see _RowCounter); for another format, a second thread parses that TSV as
    it comes through a pipe and writes it out in the requested format with pyoxigraph's own serialisers. TSV keeps
    every term exactly (tested), so nothing is lost on the way; the pipe keeps the two threads in step.
    """
    out_format = ox.QueryResultsFormat.from_media_type(media_type)
    if out_format == TSV:
        return _counted_rows(solutions, max_rows, truncate, spool)
    read_end, write_end = os.pipe()
    failures: list[BaseException] = []

    def convert() -> None:
        try:
            with open(read_end, "rb") as tsv:  # closed on failure: the writer then gets EPIPE and stops
                ox.parse_query_results(tsv, TSV).serialize(spool, format=out_format)
        except BaseException as error:  # noqa: BLE001 — handed to the thread that runs the query
            failures.append(error)

    converter = threading.Thread(target=convert, name="mscev-results-converter")
    converter.start()
    truncated = False
    try:
        with open(write_end, "wb", buffering=0) as pipe:
            truncated = _counted_rows(solutions, max_rows, truncate, pipe)
    except BrokenPipeError:
        pass  # the converter stopped first; its error is raised below
    finally:
        converter.join()
    if failures:
        raise failures[0]
    return truncated


def _counted_rows(solutions: ox.QuerySolutions, max_rows: int, truncate: bool, out) -> bool:
    try:
        solutions.serialize(_RowCounter(out, max_rows + 1), format=TSV)  # the header line, then a line per row
    except RowCapExceeded:  # pyoxigraph passes the sink's exception through unchanged
        if not truncate:
            raise
        return True
    return False


def _write_triples(triples: ox.QueryTriples, media_type: str, max_rows: int, truncate: bool, spool) -> bool:
    """Write CONSTRUCT/DESCRIBE results in ``media_type`` into ``spool`` as they come, at most ``max_rows``
    triples (see _write_solutions). Turtle declares the project prefixes used by the first PREFIX_SAMPLE triples;
    JSON-LD is written whole, compacted as the release is (mscev.web.sparql.write_graph);
    an IRI of a later one outside them is written in full."""
    first = list(itertools.islice(triples, min(PREFIX_SAMPLE, max_rows + 1)))
    truncated = False

    def counted():
        nonlocal truncated
        for count, triple in enumerate(itertools.chain(first, triples)):
            if count == max_rows:
                if not truncate:
                    raise RowCapExceeded
                truncated = True
                return
            yield triple

    if media_type == GRAPH_TYPES["jsonld"]:  # compacted as the release is: the compactor needs the whole graph
        write_graph(list(counted()), media_type, spool)
    else:
        write_graph(counted(), media_type, spool, prefixes=used_prefixes(first))
    return truncated


def _with_charset(media_type: str) -> str:
    return media_type if media_type.endswith("+json") or media_type.endswith("/json") else f"{media_type}; charset=utf-8"


def _evaluate(store: ox.Store, job: Job):
    if isinstance(job.query, StoredQuery):
        return run_query(job.query, job.params, store=store, inferred=job.inferred, body_text_only=job.body_text_only,
                         limit=job.limit, offset=job.offset)
    if job.default_graphs or job.named_graphs:
        graphs = {"default_graph": [ox.NamedNode(iri) for iri in job.default_graphs] or None,
                  "named_graphs": [ox.NamedNode(iri) for iri in job.named_graphs] or None}
    else:
        graphs = {"use_default_graph_as_union": True}
    return store.query(job.query, base_iri=job.base_iri, **graphs)


def execute(store: ox.Store, job: Job, max_rows: int, spool, started: Callable[[str], None]) -> Answer:
    """Run one job on ``store`` and write its answer into ``spool`` (a _Spool: at most its bytes, and at most
    ``max_rows`` rows), calling ``started`` with the answer's media type before the first byte. The answer
    returned has no body: 200 (the body is in the spool), or an error (user errors are 4xx)."""
    truncate = job.page_rows is not None
    cap = min(max_rows, job.page_rows) if truncate else max_rows
    if isinstance(job.query, str):  # a free query: scanning 256 KB of text costs a tenth of a second, kept here
        refused = refusal(job.query)  # off the server's event loop
        if refused:
            return Answer.error(*refused)
    kind = "rows"
    try:
        results = _evaluate(store, job)
        if isinstance(results, ox.QueryTriples):
            if job.graph_type is None:
                return Answer.error(406, "This query returns triples (CONSTRUCT or DESCRIBE); accept text/turtle, "
                                         "application/n-triples or application/ld+json.")
            kind, media_type = "triples", _with_charset(ox.RdfFormat.from_media_type(job.graph_type).media_type)
            started(media_type)
            return Answer(200, media_type, b"", _write_triples(results, job.graph_type, cap, truncate, spool))
        if job.results_type is None:
            return Answer.error(406, "This query returns a result table (SELECT or ASK); accept SPARQL JSON, XML, "
                                     "CSV or TSV results.")
        out_format = ox.QueryResultsFormat.from_media_type(job.results_type)
        media_type = _with_charset(out_format.media_type)
        started(media_type)
        if isinstance(results, ox.QueryBoolean):
            spool.write(results.serialize(format=out_format))
            return Answer(200, media_type, b"")
        return Answer(200, media_type, b"", _write_solutions(results, job.results_type, cap, truncate, spool))
    except RowCapExceeded:
        advice = "Add LIMIT (and OFFSET to page through it)." if kind == "rows" else "Add LIMIT, or narrow the pattern."
        return Answer.error(400, f"The result has more than {max_rows} {kind}, the limit of this server "
                                 f"(mscev serve --max-rows). {advice}")
    except AnswerTooLarge:
        return Answer.error(400, f"The answer is larger than {spool.max_bytes:,} bytes, the limit of this server "
                                 "(mscev serve --max-answer). Ask for fewer rows (LIMIT) or shorter values.")
    except SpoolFailed as error:
        return Answer.error(503, f"The server could not store the answer ({error}); try again later.")
    except SyntaxError as error:  # a free query's (run_query reports a stored query's as MscevError)
        return Answer.error(400, syntax_error_message(job.query, str(error)))
    except MscevError as error:
        return Answer.error(400, str(error))
    except ValueError as error:  # an invalid graph IRI, a format pyoxigraph cannot write
        return Answer.error(400, f"Cannot run this query: {error}")
    except (OSError, RuntimeError) as error:  # evaluation errors reported by pyoxigraph
        return Answer.error(400, f"The query failed: {error}")


def build_id(build_dir: Path) -> str:
    """A short name of the build in ``build_dir``: the start of the SHA-256 of its summary.json, which every
    build writes anew (it holds the build's counts and timings)."""
    try:
        return hashlib.sha256((Path(build_dir) / "summary.json").read_bytes()).hexdigest()[:12]
    except OSError:
        return "unknown"


def open_build(build_dir: Path) -> tuple[ox.Store, str]:
    """The store of the build in ``build_dir`` (checked against its manifest, checksums included) and that build's
    id, even if a new build is swapped in meanwhile."""
    for _ in range(5):
        before = build_id(build_dir)
        store = open_store(Path(build_dir), checksums=True)
        if build_id(build_dir) == before:
            break
    return store, before


def _worker_main(connection, build_dir: str, max_rows: int, max_bytes: int, memory_bytes: int,
                 niceness: int = 0) -> None:
    """A worker's life: open the store, then answer jobs one by one until the pipe closes. A job comes with the
    descriptor of its spool file; the worker sends ("head", answer) when it starts writing the body there, then
    ("end", answer) when it has finished (or failed), and closes its end of the spool."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C stops the server, which then stops its workers
    if niceness:
        os.nice(niceness)
    if memory_bytes:
        resource.setrlimit(resource.RLIMIT_DATA, (memory_bytes, memory_bytes))
    store, build = open_build(Path(build_dir))
    while True:
        try:
            job = connection.recv()
            spool = _Spool(reduction.recv_handle(connection), max_bytes)
        except (EOFError, OSError):
            return
        try:
            answer = execute(store, job, max_rows, spool, lambda media_type: connection.send(
                (HEAD, Answer(200, media_type, b"", build=build))))
        finally:
            os.close(spool.descriptor)
        connection.send((END, replace(answer, build=build)))


@dataclass(eq=False)  # compared and hashed by identity, kept in a set
class _Worker:
    process: multiprocessing.process.BaseProcess
    connection: object
    lane: str


class QueryPool:
    """Worker processes in two lanes; ``run`` and ``stream`` hand a job to an idle worker of its lane, which has
    up to the time limit to write the answer into a spool file (mscev.web.spool).

    ``run`` and ``stream`` block, so the server calls them from a thread. Requests beyond the number of workers
    wait for one to become free, for at most the time limit.
    """

    def __init__(self, build_dir: Path, workers: int = 2, time_limit: float = 10.0, max_rows: int = 10_000,
                 memory_mb: int = 2048, reserved: int = 1, max_bytes: int = 64 * 1024 * 1024,
                 spool_dir: Path | None = None, hold_bytes: int = HOLD_BYTES):
        self.build_dir, self.time_limit = Path(build_dir), time_limit
        self.spool_dir = Path(spool_dir or tempfile.gettempdir())
        self.hold_bytes = min(hold_bytes, max_bytes)  # an answer over the cap is refused before its first byte
        self.max_rows, self.max_bytes = max_rows, max_bytes
        self.memory_bytes = memory_mb * 1024 * 1024
        self._context = multiprocessing.get_context("forkserver")
        self._context.set_forkserver_preload(["pyoxigraph", "mscev.web.pool"])
        self._idle: dict[str, deque[_Worker]] = {STORED: deque(), FREE: deque()}
        self._available = threading.Condition()
        self._all: set[_Worker] = set()
        self._closed = False
        for lane, count in ((STORED, reserved), (FREE, workers)):
            for _ in range(count):
                self._release(self._start(lane))

    def _start(self, lane: str) -> _Worker:
        parent, child = self._context.Pipe()
        niceness = FREE_NICENESS if lane == FREE else 0
        process = self._context.Process(target=_worker_main, daemon=True, name=f"mscev-query-worker-{lane}",
                                        args=(child, str(self.build_dir), self.max_rows, self.max_bytes,
                                              self.memory_bytes, niceness))
        process.start()
        child.close()  # the worker's end: once it dies, our end reads EOF at once
        worker = _Worker(process, parent, lane)
        with self._available:
            self._all.add(worker)
        return worker

    def _release(self, worker: _Worker) -> None:
        with self._available:
            self._idle[worker.lane].append(worker)
            self._available.notify_all()

    def _acquire(self, lanes: tuple[str, ...]) -> _Worker | None:
        """An idle worker of the first of ``lanes`` that has one, waiting up to the time limit; None after."""
        deadline = time.monotonic() + self.time_limit
        with self._available:
            while True:
                for lane in lanes:
                    if self._idle[lane]:
                        return self._idle[lane].popleft()
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return None
                self._available.wait(remaining)

    def _replace(self, worker: _Worker) -> None:
        """Kill ``worker`` (if still alive) and put a fresh one in its place on a thread of its own: the answer that
        says why the job ended need not wait for the old worker's exit and the new one's start (seconds on a loaded
        machine); jobs meanwhile wait for an idle worker as they do when all are busy."""
        if worker.process.is_alive():
            worker.process.kill()
        threading.Thread(target=self._renew, args=(worker,), name="mscev-worker-renewal", daemon=True).start()

    def _renew(self, worker: _Worker) -> None:
        worker.process.join()
        worker.connection.close()
        fresh = None if self._closed else self._start(worker.lane)
        with self._available:
            self._all.discard(worker)  # counted until its successor is, for the "all N workers busy" answer
        if fresh is not None and self._closed:  # the pool was closed while it started
            fresh.connection.close()
        elif fresh is not None:
            self._release(fresh)

    def run(self, job: Job) -> Answer:
        """The whole answer to ``job`` (for the web pages, whose answers have at most a page of rows), or an
        error answer: 503 when it overran the time limit or its worker died."""
        return self._hand_out(job, whole=True)

    def stream(self, job: Job) -> Answer | Spool:
        """The answer to ``job``: whole if it ends within the spool's hold (or an error found before its first
        byte), else its spool, to be sent on as the worker writes it (mscev.web.spool)."""
        return self._hand_out(job, whole=False)

    def _hand_out(self, job: Job, whole: bool) -> Answer | Spool:
        """Give ``job`` and a new spool to an idle worker of its lane and follow it until the answer is over, or,
        unless ``whole``, until it outgrows the spool's hold: then a thread of its own follows the worker to the
        end, so that the worker goes back to the pool when it has written the answer, however slowly that is
        read."""
        lanes = (STORED, FREE) if isinstance(job.query, StoredQuery) else (FREE,)
        worker = self._acquire(lanes)
        if worker is None:
            busy = sum(1 for worker in self._all if worker.lane in lanes)
            return Answer.error(503, f"All {busy} query workers for {'stored' if len(lanes) == 2 else 'free'} "
                                     f"queries stayed busy for {self.time_limit:g} s; try again shortly.")
        spool = Spool(self.spool_dir, self.hold_bytes)
        try:
            worker.connection.send(job)
            reduction.send_handle(worker.connection, spool.fileno(), worker.process.pid)
        except OSError:  # the worker died between two jobs
            spool.close()
            return self._stopped(worker)
        deadline = time.monotonic() + self.time_limit
        over = False
        while not over:
            over = self._follow(worker, spool, deadline, POLL_SECONDS)
            if not whole and spool.head is not None and spool.size() > spool.hold:
                if not over:
                    threading.Thread(target=self._follow_to_the_end, args=(worker, spool, deadline),
                                     name="mscev-query-follower", daemon=True).start()
                    return spool
                if spool.end.ok:  # written whole already, and too large to hold
                    return spool
        return spool.whole()

    def _follow_to_the_end(self, worker: _Worker, spool: Spool, deadline: float) -> None:
        while not self._follow(worker, spool, deadline, self.time_limit):
            pass

    def _follow(self, worker: _Worker, spool: Spool, deadline: float, wait: float) -> bool:
        """Take in ``worker``'s messages about its job for up to ``wait`` seconds, and tell ``spool``; True once
        the job is over: answered, stopped at the deadline (the time limit) or ended by the worker's death."""
        try:
            while worker.connection.poll(max(0.0, min(wait, deadline - time.monotonic()))):
                kind, answer = worker.connection.recv()
                if kind == HEAD:
                    spool.started(answer)
                    continue
                self._release(worker)
                spool.ended(answer)
                return True
        except (EOFError, OSError):  # the worker died while running the query
            spool.ended(self._stopped(worker))
            return True
        if time.monotonic() < deadline:
            return False
        self._replace(worker)
        spool.ended(Answer.error(503, f"The query ran longer than the time limit of {self.time_limit:g} s and was "
                                      "stopped (mscev serve --timeout). Narrow it: more specific patterns, a LIMIT, "
                                      "fewer OPTIONAL or property paths."))
        return True

    def _stopped(self, worker: _Worker) -> Answer:
        """Replace a worker that died, and say why its query was not answered."""
        worker.process.join(5)  # it has died (its end of the pipe closed): this only collects its exit code
        exit_code = worker.process.exitcode
        self._replace(worker)
        if exit_code == -signal.SIGABRT:
            return Answer.error(503, f"The query needed more memory than a query worker may use "
                                     f"({self.memory_bytes // 2**20} MiB) and was stopped. Narrow it or add a LIMIT.")
        return Answer.error(500, f"The query worker stopped unexpectedly (exit code {exit_code}); the query was not "
                                 "answered. Please report the query.")

    def close(self) -> None:
        """Stop every worker (on server shutdown)."""
        self._closed = True
        with self._available:
            workers = list(self._all)
            self._all.clear()
        for worker in workers:
            worker.connection.close()  # the worker reads EOF and returns
            worker.process.join(2)
            if worker.process.is_alive():
                worker.process.kill()
                worker.process.join(2)
