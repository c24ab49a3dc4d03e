"""Worker processes that run SPARQL on the store, so that a runaway query can be stopped.

pyoxigraph evaluates a query in the calling thread and offers no way to cancel it; a thread that overran
could only be abandoned, and would keep a core busy until its query ended, which may be never. So every query
runs in one of a few long-lived worker processes, each with its own read-only handle on the store. The server
waits for the answer up to the time limit; a worker that overruns is killed (SIGKILL) and a fresh one started,
so the next request finds a full pool.

Costs of this choice: one pipe round trip per query and the serialised answer copied once between processes
(about a millisecond for the stored questions); one store handle and its caches per worker; and a killed
query costs a fork from the preloaded fork server plus opening the store (about 50 ms) to replace its
worker. Workers also get a memory budget (RLIMIT_DATA, which bounds the heap): a query that would eat the
machine's memory makes its worker abort, and the server answers 503 instead of swapping.

Answers are serialised inside the worker, rows counted as they stream out (see ``_capped_solutions``).

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
import threading
import time
from collections import deque
from dataclasses import dataclass, field, replace
from pathlib import Path

import pyoxigraph as ox

from mscev.errors import MscevError
from mscev.query import StoredQuery, open_store, run_query
from mscev.web.sparql import refusal, used_prefixes

TSV = ox.QueryResultsFormat.TSV
STORED, FREE = "stored", "free"  # the lanes
FREE_NICENESS = 10  # a free worker's CPU weight is a tenth of a stored one's (Linux CFS)


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
    """Raised by the capped writer when a result has more rows than the cap."""


class AnswerTooLarge(Exception):
    """Raised by the capped writer when an answer has more bytes than the cap."""


class _CappedBuffer(io.RawIOBase):
    """A binary sink that stops the serialiser once it has written more than ``max_lines`` lines (when given) or
    more than ``max_bytes`` bytes."""

    def __init__(self, max_bytes: int, max_lines: int | None = None):
        self.data = bytearray()
        self.lines = 0
        self.max_lines, self.max_bytes = max_lines, max_bytes

    def writable(self) -> bool:
        return True

    def write(self, chunk) -> int:
        self.data += chunk
        if len(self.data) > self.max_bytes:
            raise AnswerTooLarge
        if self.max_lines is not None:
            self.lines += bytes(chunk).count(b"\n")
            if self.lines > self.max_lines:
                raise RowCapExceeded
        return len(chunk)


def _capped_solutions(solutions: ox.QuerySolutions, media_type: str, max_rows: int, truncate: bool,
                      max_bytes: int) -> Answer:
    """SELECT results in ``media_type``, reading at most ``max_rows`` rows and writing at most ``max_bytes``.

    pyoxigraph streams SPARQL TSV one row per line (line breaks inside literals are escaped), so a sink that
    counts lines stops the query after ``max_rows`` rows without reading the rest. The TSV text is then
    parsed back and written in the requested format by pyoxigraph's own serialisers; TSV keeps every term
    exactly (tested), so nothing is lost on the way.
    """
    sink = _CappedBuffer(max_bytes, max_rows + 1)  # the header line, then one line per row
    truncated = False
    try:
        solutions.serialize(sink, format=TSV)
    except RowCapExceeded:  # pyoxigraph passes the sink's exception through unchanged
        if not truncate:
            return Answer.error(400, f"The result has more than {max_rows} rows, the limit of this server "
                                     "(mscev serve --max-rows). Add LIMIT (and OFFSET to page through it).")
        truncated = True
        sink.data = sink.data[:_nth_newline(sink.data, max_rows + 1) + 1]
    tsv = bytes(sink.data)
    out_format = ox.QueryResultsFormat.from_media_type(media_type)
    if out_format == TSV:
        return Answer(200, _with_charset(out_format.media_type), tsv, truncated)
    sink = _CappedBuffer(max_bytes)
    ox.parse_query_results(tsv, TSV).serialize(sink, format=out_format)
    return Answer(200, _with_charset(out_format.media_type), bytes(sink.data), truncated)


def _nth_newline(data: bytearray, n: int) -> int:
    position = -1
    for _ in range(n):
        position = data.index(b"\n", position + 1)
    return position


def _capped_triples(triples: ox.QueryTriples, media_type: str, max_rows: int, truncate: bool,
                    max_bytes: int) -> Answer:
    """CONSTRUCT/DESCRIBE results in ``media_type``, reading at most ``max_rows`` triples and writing at most
    ``max_bytes``."""
    kept = list(itertools.islice(triples, max_rows + 1))
    truncated = len(kept) > max_rows
    if truncated and not truncate:
        return Answer.error(400, f"The result has more than {max_rows} triples, the limit of this server "
                                 "(mscev serve --max-rows). Add LIMIT, or narrow the pattern.")
    out_format = ox.RdfFormat.from_media_type(media_type)
    sink = _CappedBuffer(max_bytes)
    ox.serialize(kept[:max_rows], sink, format=out_format, prefixes=used_prefixes(kept[:max_rows]))
    return Answer(200, _with_charset(out_format.media_type), bytes(sink.data), truncated)


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


def execute(store: ox.Store, job: Job, max_rows: int, max_bytes: int = 64 * 1024 * 1024) -> Answer:
    """Run one job on ``store`` and serialise its answer (at most ``max_rows`` rows and ``max_bytes`` bytes);
    user errors become 4xx answers."""
    truncate = job.page_rows is not None
    cap = min(max_rows, job.page_rows) if truncate else max_rows
    if isinstance(job.query, str):  # a free query: scanning 256 KB of text costs a tenth of a second, kept here
        refused = refusal(job.query)  # off the server's event loop
        if refused:
            return Answer.error(*refused)
    try:
        results = _evaluate(store, job)
        if isinstance(results, ox.QueryTriples):
            if job.graph_type is None:
                return Answer.error(406, "This query returns triples (CONSTRUCT or DESCRIBE); accept text/turtle, "
                                         "application/n-triples or application/ld+json.")
            return _capped_triples(results, job.graph_type, cap, truncate, max_bytes)
        if job.results_type is None:
            return Answer.error(406, "This query returns a result table (SELECT or ASK); accept SPARQL JSON, XML, "
                                     "CSV or TSV results.")
        if isinstance(results, ox.QueryBoolean):
            out_format = ox.QueryResultsFormat.from_media_type(job.results_type)
            return Answer(200, _with_charset(out_format.media_type), results.serialize(format=out_format))
        return _capped_solutions(results, job.results_type, cap, truncate, max_bytes)
    except AnswerTooLarge:
        return Answer.error(400, f"The answer is larger than {max_bytes:,} bytes, the limit of this server (mscev "
                                 "serve --max-answer). Ask for fewer rows (LIMIT) or shorter values.")
    except SyntaxError as error:
        return Answer.error(400, f"SPARQL syntax error: {error}")
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
    """A worker's life: open the store, then answer jobs one by one until the pipe closes."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C stops the server, which then stops its workers
    if niceness:
        os.nice(niceness)
    if memory_bytes:
        resource.setrlimit(resource.RLIMIT_DATA, (memory_bytes, memory_bytes))
    store, build = open_build(Path(build_dir))
    while True:
        try:
            job = connection.recv()
        except (EOFError, OSError):
            return
        connection.send(replace(execute(store, job, max_rows, max_bytes), build=build))


@dataclass(eq=False)  # compared and hashed by identity, kept in a set
class _Worker:
    process: multiprocessing.process.BaseProcess
    connection: object
    lane: str


class QueryPool:
    """Worker processes in two lanes; ``run`` hands a job to an idle worker of its lane and waits up to the
    time limit.

    ``run`` blocks, so the server calls it from a thread. Requests beyond the number of workers wait for one
    to become free, for at most the time limit.
    """

    def __init__(self, build_dir: Path, workers: int = 2, time_limit: float = 10.0, max_rows: int = 10_000,
                 memory_mb: int = 2048, reserved: int = 1, max_bytes: int = 64 * 1024 * 1024):
        self.build_dir, self.time_limit = Path(build_dir), time_limit
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

    def _replace(self, worker: _Worker) -> int | None:
        """Kill ``worker`` (if still alive), start a fresh one in its place, and return the old exit code."""
        if worker.process.is_alive():
            worker.process.kill()
        worker.process.join(5)
        worker.connection.close()
        with self._available:
            self._all.discard(worker)
        if not self._closed:
            self._release(self._start(worker.lane))
        return worker.process.exitcode

    def run(self, job: Job) -> Answer:
        """The answer to ``job``, or a 503 answer when it overran the time limit or its worker died."""
        lanes = (STORED, FREE) if isinstance(job.query, StoredQuery) else (FREE,)
        worker = self._acquire(lanes)
        if worker is None:
            busy = sum(1 for worker in self._all if worker.lane in lanes)
            return Answer.error(503, f"All {busy} query workers for {'stored' if len(lanes) == 2 else 'free'} "
                                     f"queries stayed busy for {self.time_limit:g} s; try again shortly.")
        try:
            worker.connection.send(job)
            if worker.connection.poll(self.time_limit):
                answer = worker.connection.recv()
                self._release(worker)
                return answer
        except (EOFError, OSError):
            pass  # the worker died while running the query
        else:
            self._replace(worker)
            return Answer.error(503, f"The query ran longer than the time limit of {self.time_limit:g} s and was "
                                     "stopped (mscev serve --timeout). Narrow it: more specific patterns, a LIMIT, "
                                     "fewer OPTIONAL or property paths.")
        exit_code = self._replace(worker)
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
