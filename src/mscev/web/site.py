"""The served build and the server's limits, shared by every area of the web application (mscev.web.routes).

A route reaches them through the ``SiteDep`` dependency; nothing here knows about URLs.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated
from urllib.parse import urlencode

import jinja2
import pyoxigraph as ox
from cachetools import LRUCache
from fastapi import Depends, Request
from fastapi.responses import HTMLResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.templating import Jinja2Templates

from mscev import __version__
from mscev.errors import MscevError
from mscev.namespaces import curie
from mscev.paths import DEFAULT_BUILD_DIR, QUERIES_DIR
from mscev.query import StoredQuery, build_summary, read_query, stored_queries
from mscev.render import labeler
from mscev.web.pages import Pages, href, humanize
from mscev.web.pool import Answer, Job, QueryPool, open_build
from mscev.web.sparql import GRAPH_TYPES, HTML, RESULTS_TYPES, negotiate
from mscev.web.spool import Spool, SpoolResponse

WEB_DIR = Path(__file__).parent
WEB_QUERIES = WEB_DIR / "queries"
HTML_ROWS = 1000  # rows shown on a page; downloads get up to the server's row cap
BUILD_HEADER = "X-Mscev-Build"
BUILD_CHECK_SECONDS = 1.0
ALL_TYPES = [*RESULTS_TYPES.values(), *GRAPH_TYPES.values()]
RESULT_CONTENT = {200: {"description": "Query results, in the negotiated format.",
                        "content": {media_type: {} for media_type in ALL_TYPES}},
                  400: {"description": "Malformed query, bad parameter, or more rows or bytes than the server's caps."},
                  403: {"description": "An update or a federated (SERVICE) query: refused."},
                  406: {"description": "No acceptable format for this kind of result."},
                  413: {"description": "Request body larger than the server's limit."},
                  429: {"description": "The client has too many free queries running, waiting or being sent."},
                  503: {"description": "The query overran the time limit or the memory budget, or all workers "
                                       "were busy."}}


@dataclass(frozen=True)
class Settings:
    """The server's limits; `mscev serve --help` explains each one."""

    build_dir: Path = DEFAULT_BUILD_DIR
    workers: int = 2
    timeout: float = 10.0
    max_rows: int = 10_000
    max_body: int = 256 * 1024
    worker_memory_mb: int = 2048
    base_url: str | None = None  # the public address the service description names; None: the listening socket's
    cache_bytes: int = 32 * 1024 * 1024
    reserved_workers: int = 1
    client_queries: int = 2
    max_connections: int = 1000
    max_answer_bytes: int = 64 * 1024 * 1024
    request_timeout: float = 10.0
    send_timeout: float = 120.0  # seconds a client has to read a streamed answer (mscev.web.spool)


@dataclass
class Generation:
    """One build as served: its id, the server's own handle on its store (pages, labels), the answers kept for
    the pages, and the query workers opened on it."""

    build: str
    store: ox.Store
    pages: Pages
    answers: LRUCache
    pool: QueryPool | None = None


class Site:
    """The build being served, the templates and the limits, shared by every route.

    A build written into the served folder (`mscev build` swaps it in whole) is noticed at the next request
    (summary.json is looked at once a second at most): a new generation is opened beside the old one (store,
    pages, a fresh pool of workers), then every request goes to it at once; the old pool stops once its last
    queries are over (the time limit). Every response names its build in an X-Mscev-Build header.
    """

    def __init__(self, settings: Settings):
        self.settings = settings
        self.current = self._open(with_pool=False)
        self._retired: list[QueryPool] = []
        self._stamp, self._checked, self._switching = self._summary_stamp(), time.monotonic(), False
        self.free_queries: Counter[str] = Counter()  # free queries running, waiting or sent, by client address
        self._queries: dict[str, StoredQuery] = {}
        self._queries_stamp = None
        environment = jinja2.Environment(loader=jinja2.FileSystemLoader(WEB_DIR / "templates"), autoescape=True,
                                         trim_blocks=True, lstrip_blocks=True)
        environment.globals.update(version=__version__, humanize=humanize,
                                   synthetic=build_summary(settings.build_dir).get("synthetic", False))
        environment.globals.update(href=href, curie=curie)  # term pages: links of Manchester-syntax tokens
        self.templates = Jinja2Templates(env=environment)

    def queries(self) -> dict[str, StoredQuery]:
        """The stored queries, read again only when a file in queries/ changed (costs a stat per file)."""
        try:
            stamp = tuple((path.name, path.stat().st_mtime_ns) for path in sorted(QUERIES_DIR.glob("*.rq")))
        except FileNotFoundError:  # a file went away while we looked: read the folder as it is now
            stamp = None
        if stamp is None or stamp != self._queries_stamp:
            self._queries, self._queries_stamp = stored_queries(), stamp
        return self._queries

    @property
    def store(self) -> ox.Store:
        return self.current.store

    @property
    def pages(self) -> Pages:
        return self.current.pages

    @property
    def pool(self) -> QueryPool | None:
        return self.current.pool

    @property
    def answers(self) -> LRUCache:
        return self.current.answers

    def _open(self, with_pool: bool = True) -> Generation:
        settings = self.settings
        store, build = open_build(settings.build_dir)
        # least recently used answers go first once their bodies exceed the budget: pages such as
        # /network?focus=… make a new entry for any IRI anyone asks about
        generation = Generation(build, store, Pages(store, labeler(store)),
                                LRUCache(maxsize=settings.cache_bytes, getsizeof=answer_size))
        if with_pool:
            generation.pool = self._new_pool()
        return generation

    def _new_pool(self) -> QueryPool:
        settings = self.settings
        return QueryPool(settings.build_dir, settings.workers, settings.timeout, settings.max_rows,
                         settings.worker_memory_mb, settings.reserved_workers, settings.max_answer_bytes)

    def _summary_stamp(self):
        try:
            info = (Path(self.settings.build_dir) / "summary.json").stat()
        except OSError:
            return None
        return info.st_ino, info.st_mtime_ns, info.st_size

    async def refresh(self) -> None:
        """Switch to a new build if one was swapped into the served folder (see the class)."""
        now = time.monotonic()
        if self._switching or now - self._checked < BUILD_CHECK_SECONDS:
            return
        self._checked = now
        stamp = self._summary_stamp()
        if stamp is None or stamp == self._stamp:
            return
        self._switching = True
        try:
            generation = await run_in_threadpool(self._open)
        except MscevError as error:  # a damaged folder: keep serving the build we have
            logging.getLogger("uvicorn.error").warning("not switching builds: %s", error)
            return
        finally:
            self._switching = False
        self._stamp = stamp
        old, self.current = self.current, generation
        if old.pool is not None:
            self._retired.append(old.pool)
            closer = threading.Timer(self.settings.timeout + 5, old.pool.close)  # its last queries are over by then
            closer.daemon = True  # stop() closes it too, when the server stops first
            closer.start()

    def start(self) -> None:
        self.current.pool = self._new_pool()

    def stop(self) -> None:
        for pool in [*self._retired, self.current.pool]:
            if pool:
                pool.close()

    async def run(self, job: Job) -> Answer:
        """The whole answer to ``job`` (pages and their cache)."""
        return await run_in_threadpool(self.pool.run, job)

    async def stream(self, job: Job) -> Answer | Spool:
        """The answer to ``job``, whole or, when large, as a spool to stream (``respond``)."""
        return await run_in_threadpool(self.pool.stream, job)

    def respond(self, answer: Answer | Spool, headers: dict[str, str]) -> Response:
        """The response carrying ``answer`` (streamed from its spool, if it is one), with ``headers`` and the
        X-Mscev-Build header."""
        if isinstance(answer, Spool):
            return SpoolResponse(answer, self.settings.send_timeout, {**headers, **build_header(answer.head)})
        return Response(answer.body, answer.status, media_type=answer.media_type,
                        headers={**headers, **build_header(answer)})

    async def run_free(self, request: Request, job: Job) -> Answer | Spool:
        """A free query, if its client has fewer than ``client_queries`` running, waiting or being streamed (429
        otherwise), so that one client looping heavy queries cannot queue up in front of everyone else, nor hold
        more than that many spools. A page's answer (``job.page_rows``) comes whole; any other may come as a
        spool to stream, which counts until it is closed."""
        client = request.client.host if request.client else ""
        if self.free_queries[client] >= self.settings.client_queries:
            return Answer.error(429, f"You have {self.free_queries[client]} queries running, waiting or being sent, "
                                     "the limit of this server per client (mscev serve --client-queries); wait for "
                                     "their answers.")
        self.free_queries[client] += 1
        answer = None
        try:
            answer = await (self.run(job) if job.page_rows is not None else self.stream(job))
            return answer
        finally:
            if isinstance(answer, Spool):
                answer.when_closed(lambda: self._free_query_over(client))
            else:
                self._free_query_over(client)

    def _free_query_over(self, client: str) -> None:
        self.free_queries[client] -= 1
        if not self.free_queries[client]:
            del self.free_queries[client]

    async def cached(self, job: Job) -> Answer:
        """Answers of the pages' own queries, kept (up to ``cache_bytes``) for the build they came from."""
        key = (job.query if isinstance(job.query, str) else job.query.text, tuple(sorted(job.params.items())))
        answer = self.answers.get(key)
        if answer is None:
            answer = await self.run(job)
            if answer.ok and answer_size(answer) <= self.answers.maxsize:
                self.answers[key] = answer
        return answer

    def page(self, request: Request, template: str, status_code: int = 200, **context) -> HTMLResponse:
        return self.templates.TemplateResponse(request, template, context, status_code=status_code,
                                               headers={"Vary": "Accept"})

    def error(self, request: Request, status: int, message: str) -> Response:
        """An error as a page for browsers and as text for programs."""
        if negotiate(request.headers.get("accept"), ["text/plain", HTML]) == HTML:
            return self.page(request, "error.html", status, status=status, message=message)
        return Response(message.rstrip() + "\n", status, media_type="text/plain; charset=utf-8")

    def table(self, answer: Answer):
        """The (variables, rows) of a SPARQL JSON answer, with terms labelled for people."""
        return self.pages.table(ox.parse_query_results(answer.body, ox.QueryResultsFormat.JSON))


def current_site(request: Request) -> Site:
    return request.app.state.site


SiteDep = Annotated[Site, Depends(current_site)]


def build_header(answer: Answer) -> dict[str, str]:
    """The header naming the build a worker answered from (empty for answers made in the server process)."""
    return {BUILD_HEADER: answer.build} if answer.build else {}


def answer_size(answer: Answer) -> int:
    """Bytes an entry of the answer cache holds, roughly: its body, and its key (parameters are at most 500
    characters)."""
    return len(answer.body) + 1024


def web_query(name: str):
    """One of the web pages' own queries (mscev/web/queries), not offered as a stored query."""
    return read_query(WEB_QUERIES / f"{name}.rq")


def downloads(path: str, params: dict, formats=None) -> list[tuple[str, str]]:
    """(format name, link) for each download format of a page's data (CSV, TSV and JSON unless told)."""
    formats = formats or ("csv", "tsv", "json")
    return [(name, f"{path}?{urlencode({**params, 'format': name})}") for name in formats]


def base_url(request: Request, configured: str | None) -> str:
    """The site's address, ending in '/': the configured one, else the socket the request came in on (never the
    Host header, which any client sets as it likes)."""
    if configured:
        return configured.rstrip("/") + "/"
    scheme = request.scope.get("scheme", "http")
    host, port = request.scope.get("server") or ("127.0.0.1", 80)
    host = f"[{host}]" if ":" in host else host
    default = {"http": 80, "https": 443}.get(scheme)
    return f"{scheme}://{host}{'' if port in (None, default) else f':{port}'}/"
