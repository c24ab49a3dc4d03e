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
"""

from __future__ import annotations

import io
import itertools
import multiprocessing
import queue
import resource
import signal
import threading
from dataclasses import dataclass, field
from pathlib import Path

import pyoxigraph as ox

from mscev.errors import MscevError
from mscev.query import StoredQuery, open_store, run_query
from mscev.web.sparql import used_prefixes

TSV = ox.QueryResultsFormat.TSV


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


@dataclass(frozen=True)
class Answer:
    """What a worker sends back: an HTTP status, a media type and a body, ready to send."""

    status: int
    media_type: str
    body: bytes
    truncated: bool = False

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


class _LineCountingBuffer(io.RawIOBase):
    """A binary sink that stops the serialiser once it has written more than ``max_lines`` lines."""

    def __init__(self, max_lines: int):
        self.data = bytearray()
        self.lines = 0
        self.max_lines = max_lines

    def writable(self) -> bool:
        return True

    def write(self, chunk) -> int:
        self.data += chunk
        self.lines += bytes(chunk).count(b"\n")
        if self.lines > self.max_lines:
            raise RowCapExceeded
        return len(chunk)


def _capped_solutions(solutions: ox.QuerySolutions, media_type: str, max_rows: int, truncate: bool) -> Answer:
    """SELECT results in ``media_type``, reading at most ``max_rows`` rows.

    pyoxigraph streams SPARQL TSV one row per line (line breaks inside literals are escaped), so a sink that
    counts lines stops the query after ``max_rows`` rows without reading the rest. The TSV text is then
    parsed back and written in the requested format by pyoxigraph's own serialisers; TSV keeps every term
    exactly (tested), so nothing is lost on the way.
    """
    sink = _LineCountingBuffer(max_rows + 1)  # the header line, then one line per row
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
    body = tsv if out_format == TSV else ox.parse_query_results(tsv, TSV).serialize(format=out_format)
    return Answer(200, _with_charset(out_format.media_type), body, truncated)


def _nth_newline(data: bytearray, n: int) -> int:
    position = -1
    for _ in range(n):
        position = data.index(b"\n", position + 1)
    return position


def _capped_triples(triples: ox.QueryTriples, media_type: str, max_rows: int, truncate: bool) -> Answer:
    """CONSTRUCT/DESCRIBE results in ``media_type``, reading at most ``max_rows`` triples."""
    kept = list(itertools.islice(triples, max_rows + 1))
    truncated = len(kept) > max_rows
    if truncated and not truncate:
        return Answer.error(400, f"The result has more than {max_rows} triples, the limit of this server "
                                 "(mscev serve --max-rows). Add LIMIT, or narrow the pattern.")
    out_format = ox.RdfFormat.from_media_type(media_type)
    body = ox.serialize(kept[:max_rows], format=out_format, prefixes=used_prefixes(kept[:max_rows]))
    return Answer(200, _with_charset(out_format.media_type), body, truncated)


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
    return store.query(job.query, **graphs)


def execute(store: ox.Store, job: Job, max_rows: int) -> Answer:
    """Run one job on ``store`` and serialise its answer; user errors become 4xx answers."""
    truncate = job.page_rows is not None
    cap = min(max_rows, job.page_rows) if truncate else max_rows
    try:
        results = _evaluate(store, job)
        if isinstance(results, ox.QueryTriples):
            if job.graph_type is None:
                return Answer.error(406, "This query returns triples (CONSTRUCT or DESCRIBE); accept text/turtle, "
                                         "application/n-triples or application/ld+json.")
            return _capped_triples(results, job.graph_type, cap, truncate)
        if job.results_type is None:
            return Answer.error(406, "This query returns a result table (SELECT or ASK); accept SPARQL JSON, XML, "
                                     "CSV or TSV results.")
        if isinstance(results, ox.QueryBoolean):
            out_format = ox.QueryResultsFormat.from_media_type(job.results_type)
            return Answer(200, _with_charset(out_format.media_type), results.serialize(format=out_format))
        return _capped_solutions(results, job.results_type, cap, truncate)
    except SyntaxError as error:
        return Answer.error(400, f"SPARQL syntax error: {error}")
    except MscevError as error:
        return Answer.error(400, str(error))
    except ValueError as error:  # an invalid graph IRI, a format pyoxigraph cannot write
        return Answer.error(400, f"Cannot run this query: {error}")
    except (OSError, RuntimeError) as error:  # evaluation errors reported by pyoxigraph
        return Answer.error(400, f"The query failed: {error}")


def _worker_main(connection, build_dir: str, max_rows: int, memory_bytes: int) -> None:
    """A worker's life: open the store, then answer jobs one by one until the pipe closes."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C stops the server, which then stops its workers
    if memory_bytes:
        resource.setrlimit(resource.RLIMIT_DATA, (memory_bytes, memory_bytes))
    store = open_store(Path(build_dir))
    while True:
        try:
            job = connection.recv()
        except (EOFError, OSError):
            return
        connection.send(execute(store, job, max_rows))


@dataclass(eq=False)  # compared and hashed by identity, kept in a set
class _Worker:
    process: multiprocessing.process.BaseProcess
    connection: object


class QueryPool:
    """A fixed number of worker processes; ``run`` hands a job to an idle one and waits up to the time limit.

    ``run`` blocks, so the server calls it from a thread. Requests beyond the number of workers wait for one
    to become free, for at most the time limit.
    """

    def __init__(self, build_dir: Path, workers: int = 2, time_limit: float = 10.0, max_rows: int = 10_000,
                 memory_mb: int = 2048):
        self.build_dir, self.time_limit, self.max_rows = Path(build_dir), time_limit, max_rows
        self.memory_bytes = memory_mb * 1024 * 1024
        self._context = multiprocessing.get_context("forkserver")
        self._context.set_forkserver_preload(["pyoxigraph", "mscev.web.pool"])
        self._idle: queue.Queue[_Worker] = queue.Queue()
        self._all: set[_Worker] = set()
        self._lock = threading.Lock()
        self._closed = False
        for _ in range(workers):
            self._idle.put(self._start())

    def _start(self) -> _Worker:
        parent, child = self._context.Pipe()
        process = self._context.Process(target=_worker_main, daemon=True, name="mscev-query-worker",
                                        args=(child, str(self.build_dir), self.max_rows, self.memory_bytes))
        process.start()
        child.close()  # the worker's end: once it dies, our end reads EOF at once
        worker = _Worker(process, parent)
        with self._lock:
            self._all.add(worker)
        return worker

    def _replace(self, worker: _Worker) -> int | None:
        """Kill ``worker`` (if still alive), start a fresh one in its place, and return the old exit code."""
        if worker.process.is_alive():
            worker.process.kill()
        worker.process.join(5)
        worker.connection.close()
        with self._lock:
            self._all.discard(worker)
        if not self._closed:
            self._idle.put(self._start())
        return worker.process.exitcode

    def run(self, job: Job) -> Answer:
        """The answer to ``job``, or a 503 answer when it overran the time limit or its worker died."""
        try:
            worker = self._idle.get(timeout=self.time_limit)
        except queue.Empty:
            return Answer.error(503, f"All {len(self._all)} query workers stayed busy for {self.time_limit:g} s; "
                                     "try again shortly.")
        try:
            worker.connection.send(job)
            if worker.connection.poll(self.time_limit):
                answer = worker.connection.recv()
                self._idle.put(worker)
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
        with self._lock:
            workers = list(self._all)
            self._all.clear()
        for worker in workers:
            worker.connection.close()  # the worker reads EOF and returns
            worker.process.join(2)
            if worker.process.is_alive():
                worker.process.kill()
                worker.process.join(2)
