"""Serve stage: `mscev serve` — a SPARQL 1.1 Protocol endpoint, linked-data pages and a web interface.

One ASGI application (FastAPI, run by uvicorn) over the read-only store of a build:
- /sparql: the SPARQL 1.1 Protocol (GET, POST form, POST application/sparql-query), results in SPARQL
  JSON/XML/CSV/TSV, graphs in Turtle/N-Triples/JSON-LD/RDF-XML, a Service Description without a query;
- /queries and /queries/NAME: the stored queries, with parameters bound as by `mscev query`;
- every IRI under https://w3id.org/mscev/ at its own path (/data/finding/…, /Finding, /ontology), and any
  other IRI at /resource?iri=…: an HTML page for browsers, its description for RDF clients;
- pages: home, search, one per stored query and per entity, the source × condition heat map, a network view.

Safety: updates, SERVICE and queries of too deep a nesting or too many pattern elements are refused before
evaluation (mscev.web.sparql); every query runs in a worker process with a time limit, a row cap, an answer
size cap and a memory budget, stored queries in a lane of their own (mscev.web.pool); a client has a limit of
free queries at once; request bodies are capped; connections are bounded and each request has a deadline
(mscev.web.connections); a build swapped into the served folder replaces the served one all at once (Site).
CORS lets browser tools query the endpoint. Errors are text for programs and a page for browsers.
"""

from __future__ import annotations

import logging
import resource
import socket
import threading
import time
from collections import Counter
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Literal
from urllib.parse import parse_qsl, urlencode

import jinja2
from cachetools import LRUCache
import pyoxigraph as ox
from fastapi import FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.middleware.cors import CORSMiddleware
from starlette.templating import Jinja2Templates

from mscev import __version__
from mscev.errors import MscevError
from mscev.namespaces import EXTERNAL_ONTOLOGY_IRI, NAMESPACES, ONTOLOGY_IRI, expand, prefix_map
from mscev.paths import DEFAULT_BUILD_DIR, EXTERNAL_FILE, ONTOLOGY_FILE, QUERIES_DIR
from mscev.query import StoredQuery, build_summary, read_query, stored_queries
from mscev.render import catalogue_json, labeler
from mscev.web import pictures
from mscev.web.pages import Pages, humanize
from mscev.web.pool import Answer, Job, QueryPool, open_build
from mscev.web.sparql import (GRAPH_FORMAT_NAMES, GRAPH_TYPES, HTML, RESULTS_TYPES, graph_type, known_format,
                               negotiate, results_type, used_prefixes)

WEB_DIR = Path(__file__).parent / "web"
WEB_QUERIES = WEB_DIR / "queries"
SERVICE_DESCRIPTION = WEB_DIR / "service-description.ttl"
ONTOLOGY_FILES = {ONTOLOGY_IRI: ONTOLOGY_FILE, EXTERNAL_ONTOLOGY_IRI: EXTERNAL_FILE}
RESERVED_PARAMETERS = ("format", "inferred", "body-text-only", "limit", "offset")  # /queries/NAME options, never query parameters
HTML_ROWS = 1000  # rows shown on a page; downloads get up to the server's row cap
MATRIX_QUERY, BY_CONDITION_QUERY = "source-condition-matrix", "sources-by-condition"
# the heat map's rows: conditions as reported, or the organ or system areas they roll up to
MATRIX_QUERIES = {"condition": MATRIX_QUERY, "area": "area-source-matrix"}
MatrixRows = Annotated[Literal["condition", "area"], Query(
    description="Rows: the conditions as reported (condition) or the organ or system areas they roll up to (area)")]
NETWORK_DEFAULT_FOCUS = "mscev:BoneMarrowMSC"
SPARQL_QUERY_TYPE, SPARQL_UPDATE_TYPE, FORM_TYPE = ("application/sparql-query", "application/sparql-update",
                                                     "application/x-www-form-urlencoded")
BUILD_HEADER = "X-Mscev-Build"
BUILD_CHECK_SECONDS = 1.0
FILE_RESERVE = 100  # open files kept for other uses than connections
ALL_TYPES = [*RESULTS_TYPES.values(), *GRAPH_TYPES.values()]
FORMAT_CHOICES = f"choose one of {', '.join([*RESULTS_TYPES, *GRAPH_TYPES])}"
RESULT_CONTENT = {200: {"description": "Query results, in the negotiated format.",
                        "content": {media_type: {} for media_type in ALL_TYPES}},
                  400: {"description": "Malformed query, bad parameter, or more rows or bytes than the server's caps."},
                  403: {"description": "An update or a federated (SERVICE) query: refused."},
                  406: {"description": "No acceptable format for this kind of result."},
                  413: {"description": "Request body larger than the server's limit."},
                  429: {"description": "The client has too many free queries running or waiting."},
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


class BodyLimit:
    """ASGI middleware refusing request bodies over ``max_bytes`` (by Content-Length, or while streaming)."""

    def __init__(self, app, max_bytes: int):
        self.app, self.max_bytes = app, max_bytes

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        length = dict(scope["headers"]).get(b"content-length", b"0")
        if not length.isdigit() or int(length) > self.max_bytes:
            response = Response(self._message(), 413, media_type="text/plain; charset=utf-8")
            return await response(scope, receive, send)
        received = 0

        async def limited_receive():
            nonlocal received
            message = await receive()
            received += len(message.get("body", b""))
            if received > self.max_bytes:
                raise HTTPException(413, self._message())
            return message

        await self.app(scope, limited_receive, send)

    def _message(self) -> str:
        return (f"The request body is larger than {self.max_bytes} bytes, the limit of this server "
                "(mscev serve --max-body).\n")


@dataclass
class Generation:
    """One build as served: its id, the server's own handle on its store (pages, labels), the answers kept for
    the pages, and the query workers opened on it."""

    build: str
    store: ox.Store
    pages: Pages
    answers: LRUCache
    pool: QueryPool | None = None


class BuildHeader:
    """ASGI middleware: looks for a new build before each request (Site.refresh) and names the build served in
    the X-Mscev-Build header of every response (a response from a query worker names the worker's own)."""

    def __init__(self, app, site: Site):
        self.app, self.site = app, site

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        await self.site.refresh()
        build = self.site.current.build.encode()

        async def send_naming_the_build(message):
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                if not any(name.lower() == BUILD_HEADER.lower().encode() for name, _ in headers):
                    headers.append((BUILD_HEADER.lower().encode(), build))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_naming_the_build)


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
        self.free_queries: Counter[str] = Counter()  # free queries running or waiting, by client address
        self._queries: dict[str, StoredQuery] = {}
        self._queries_stamp = None
        environment = jinja2.Environment(loader=jinja2.FileSystemLoader(WEB_DIR / "templates"), autoescape=True,
                                         trim_blocks=True, lstrip_blocks=True)
        environment.globals.update(version=__version__, humanize=humanize,
                                   synthetic=build_summary(settings.build_dir).get("synthetic", False))
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
                                LRUCache(maxsize=settings.cache_bytes, getsizeof=_answer_size))
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
        return await run_in_threadpool(self.pool.run, job)

    async def run_free(self, request: Request, job: Job) -> Answer:
        """A free query, if its client has fewer than ``client_queries`` running or waiting (429 otherwise), so
        that one client looping heavy queries cannot queue up in front of everyone else."""
        client = request.client.host if request.client else ""
        if self.free_queries[client] >= self.settings.client_queries:
            return Answer.error(429, f"You have {self.free_queries[client]} queries running or waiting, the limit of "
                                     "this server per client (mscev serve --client-queries); wait for their answers.")
        self.free_queries[client] += 1
        try:
            return await self.run(job)
        finally:
            self.free_queries[client] -= 1
            if not self.free_queries[client]:
                del self.free_queries[client]

    async def cached(self, job: Job) -> Answer:
        """Answers of the pages' own queries, kept (up to ``cache_bytes``) for the build they came from."""
        key = (job.query if isinstance(job.query, str) else job.query.text, tuple(sorted(job.params.items())))
        answer = self.answers.get(key)
        if answer is None:
            answer = await self.run(job)
            if answer.ok and _answer_size(answer) <= self.answers.maxsize:
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


def _build_header(answer: Answer) -> dict[str, str]:
    return {BUILD_HEADER: answer.build} if answer.build else {}


def _answer_size(answer: Answer) -> int:
    """Bytes an entry of the answer cache holds, roughly: its body, and its key (parameters are at most 500
    characters)."""
    return len(answer.body) + 1024


def _web_query(name: str):
    return read_query(WEB_QUERIES / f"{name}.rq")


def _sparql_fields(pairs) -> dict[str, list[str]]:
    fields: dict[str, list[str]] = {}
    for key, value in pairs:
        fields.setdefault(key, []).append(value)
    return fields


def create_app(settings: Settings | None = None) -> FastAPI:
    """The ASGI application over the store in ``settings.build_dir`` (MscevError when there is no build)."""
    settings = settings or Settings()
    site = Site(settings)

    @asynccontextmanager
    async def lifespan(_app):
        site.start()
        try:
            yield
        finally:
            site.stop()

    app = FastAPI(title="mscev", version=__version__, lifespan=lifespan,
                  description="SPARQL 1.1 Protocol endpoint, stored queries, linked data and web pages over the "
                              "mscev knowledge graph of extracellular vesicles from mesenchymal stem cells.")
    app.state.site = site
    app.add_middleware(BodyLimit, max_bytes=settings.max_body)
    app.add_middleware(BuildHeader, site=site)
    app.add_middleware(CORSMiddleware, allow_origins=["*"], allow_methods=["GET", "POST", "OPTIONS"],
                       allow_headers=["*"], expose_headers=[BUILD_HEADER], max_age=86400)
    app.mount("/static", StaticFiles(directory=WEB_DIR / "static"), name="static")

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, error: HTTPException):
        return site.error(request, error.status_code, str(error.detail))

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, error: RequestValidationError):
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in error.errors())
        return site.error(request, 400, f"Bad request: {problems}")

    # ---------------------------------------------------------------- SPARQL protocol

    async def answer_sparql(request: Request, fields: dict[str, list[str]]) -> Response:
        if "update" in fields:
            return site.error(request, 403, "This endpoint is read-only: SPARQL updates are refused.")
        queries = fields.get("query", [])
        short_name = (fields.get("format") or [None])[-1]
        if not known_format(short_name):
            return site.error(request, 400, f"format={short_name!r}: {FORMAT_CHOICES}")
        accept = request.headers.get("accept")
        wants_html = not short_name and negotiate(accept, [*ALL_TYPES, HTML]) == HTML
        if len(queries) > 1:
            return site.error(request, 400, "Give exactly one 'query' parameter.")
        if not queries or not queries[0].strip():
            if wants_html:
                return site.page(request, "sparql.html", text=_editor_text(), answer=None)
            return service_description(request, short_name)
        text = queries[0]  # refused or not by its shape in a worker (mscev.web.pool.execute), off the event loop
        graphs = {"default_graphs": tuple(fields.get("default-graph-uri", [])),
                  "named_graphs": tuple(fields.get("named-graph-uri", []))}
        for name, iris in zip(("default-graph-uri", "named-graph-uri"), graphs.values()):
            for iri in iris:
                try:
                    ox.NamedNode(iri)
                except ValueError as error:
                    return site.error(request, 400, f"{name}={iri!r}: not a valid IRI ({error}).")
        graphs["base_iri"] = _endpoint(request)
        if wants_html:  # the page renders SPARQL JSON or N-Triples itself
            job = Job(text, results_type=RESULTS_TYPES["json"], graph_type=GRAPH_TYPES["nt"], page_rows=HTML_ROWS,
                      **graphs)
        else:
            job = Job(text, results_type=results_type(accept, short_name), graph_type=graph_type(accept, short_name),
                      **graphs)
        if job.results_type is None and job.graph_type is None:
            return site.error(request, 406, "No acceptable format: ask for SPARQL results (JSON, XML, CSV, TSV) "
                                            "or RDF (Turtle, N-Triples, JSON-LD).")
        answer = await site.run_free(request, job)
        if wants_html:
            return sparql_page(request, text, answer)
        headers = {"Vary": "Accept", **({"Retry-After": "5"} if answer.status == 429 else {}), **_build_header(answer)}
        return Response(answer.body, answer.status, media_type=answer.media_type, headers=headers)

    def sparql_page(request: Request, text: str, answer: Answer) -> Response:
        graph = answer.ok and answer.media_type.startswith("application/n-triples")
        context = {"text": text, "answer": answer,
                   "downloads": _downloads("/sparql", {"query": text}, ("ttl", "nt", "jsonld") if graph else None)}
        if graph:
            triples = list(ox.parse(answer.body, ox.RdfFormat.N_TRIPLES))
            context["variables"] = ["subject", "predicate", "object"]
            context["rows"] = [[site.pages.term(t.subject), site.pages.term(t.predicate), site.pages.term(t.object)]
                               for t in triples[:HTML_ROWS]]
        elif answer.ok:
            results = ox.parse_query_results(answer.body, ox.QueryResultsFormat.JSON)
            if isinstance(results, ox.QueryBoolean):
                context["boolean"] = bool(results)
            else:
                context["variables"], context["rows"] = site.pages.table(results)
        status = answer.status if not answer.ok else 200
        return site.page(request, "sparql.html", status, **context)

    def service_description(request: Request, short_name: str | None) -> Response:
        media_type = graph_type(request.headers.get("accept"), short_name)
        if media_type is None:
            return site.error(request, 406, "The service description is RDF: accept Turtle, N-Triples or JSON-LD.")
        endpoint = _base_url(request, settings.base_url) + "sparql"
        triples = ox.parse(path=SERVICE_DESCRIPTION, format=ox.RdfFormat.TURTLE, base_iri=endpoint)
        body = ox.serialize(triples, format=ox.RdfFormat.from_media_type(media_type), prefixes=_sd_prefixes())
        return Response(body, media_type=media_type, headers={"Vary": "Accept"})

    @app.get("/sparql", tags=["SPARQL protocol"], responses=RESULT_CONTENT,
             summary="SPARQL 1.1 query by GET; without a query, the service description (or the query page)")
    async def sparql_get(
        request: Request,
        query: Annotated[str | None, Query(description="A SPARQL 1.1 query (SELECT, ASK, CONSTRUCT, DESCRIBE).")] = None,
        default_graph_uri: Annotated[list[str] | None, Query(alias="default-graph-uri", description=(
            "Graphs forming the default graph; without it, the union of the asserted and the inferred graph."))] = None,
        named_graph_uri: Annotated[list[str] | None, Query(alias="named-graph-uri")] = None,
        format: Annotated[str | None, Query(description="Overrides Accept: json, xml, csv, tsv, ttl, nt, jsonld, "
                                                        "rdfxml.")] = None,
    ):
        # the parameters above document the interface (OpenAPI); repeated ones are read from the URL as they came
        return await answer_sparql(request, _sparql_fields(request.query_params.multi_items()))

    @app.post("/sparql", tags=["SPARQL protocol"], responses=RESULT_CONTENT,
              summary="SPARQL 1.1 query by POST (form or application/sparql-query); updates are refused",
              openapi_extra={"requestBody": {"required": True, "content": {
                  FORM_TYPE: {"schema": {"type": "object", "properties": {
                      "query": {"type": "string"}, "default-graph-uri": {"type": "array", "items": {"type": "string"}},
                      "named-graph-uri": {"type": "array", "items": {"type": "string"}}}}},
                  SPARQL_QUERY_TYPE: {"schema": {"type": "string"}}}}})
    async def sparql_post(request: Request):
        content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if content_type == SPARQL_UPDATE_TYPE:
            return site.error(request, 403, "This endpoint is read-only: SPARQL updates are refused.")
        body = await request.body()
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError:
            return site.error(request, 400, "The request body is not UTF-8 text.")
        url_fields = request.query_params.multi_items()
        if content_type == FORM_TYPE:
            fields = _sparql_fields([*url_fields, *parse_qsl(text, keep_blank_values=True)])
        elif content_type == SPARQL_QUERY_TYPE:
            fields = _sparql_fields([(k, v) for k, v in url_fields if k != "query"])
            fields["query"] = [text]
        else:
            return site.error(request, 415, f"POST a query as {FORM_TYPE} or {SPARQL_QUERY_TYPE} "
                                            f"(got {content_type or 'no content type'}).")
        return await answer_sparql(request, fields)

    # ---------------------------------------------------------------- stored queries

    @app.get("/queries", tags=["Stored queries"], summary="The stored queries (JSON, or a page for browsers)",
             responses={200: {"content": {"application/json": {}, HTML: {}}}})
    async def query_list(request: Request):
        queries = site.queries()
        if negotiate(request.headers.get("accept"), ["application/json", HTML]) == HTML:
            return site.page(request, "queries.html", queries=queries)
        return Response(catalogue_json(queries), media_type="application/json", headers={"Vary": "Accept"})

    @app.get("/queries/{name}", tags=["Stored queries"], responses=RESULT_CONTENT,
             summary="Run a stored query; other URL parameters are its parameters (as `mscev query --param`)")
    async def run_stored(
        request: Request, name: str,
        format: Annotated[str | None, Query(description="Overrides Accept: json, xml, csv, tsv (or ttl, nt, "
                                                        "jsonld for a CONSTRUCT query).")] = None,
        inferred: Annotated[bool, Query(description="false: asserted triples only.")] = True,
        body_text_only: Annotated[bool, Query(alias="body-text-only", description=(
            "true: leave out the values a finding takes from outside the review's body text (reference titles, "
            "Table 2 rows), as `mscev query --body-text-only`."))] = False,
        limit: Annotated[int | None, Query(ge=0, description="At most this many rows (a page).")] = None,
        offset: Annotated[int, Query(ge=0, description="Skip this many rows first.")] = 0,
    ):
        queries = site.queries()
        if name not in queries:
            return site.error(request, 404, f"No stored query named '{name}'. The stored queries: "
                                            f"{', '.join(queries) or 'none'} (see /queries).")
        stored = queries[name]
        values = {k: v for k, v in request.query_params.items() if k not in RESERVED_PARAMETERS}
        accept = request.headers.get("accept")
        if not known_format(format):
            return site.error(request, 400, f"format={format!r}: {FORMAT_CHOICES}")
        if not format and negotiate(accept, [*ALL_TYPES, HTML]) == HTML:
            answer = await site.run(Job(stored, values, inferred=inferred, body_text_only=body_text_only,
                                        page_rows=HTML_ROWS, limit=limit, offset=offset))
            rows = site.table(answer) if answer.ok else None
            form = {p.name: values.get(p.name, p.default or "") for p in stored.parameters}
            options = {**({} if inferred else {"inferred": "false"}), **({"body-text-only": "true"} if body_text_only else {}),
                       **({} if limit is None else {"limit": limit}), **({"offset": offset} if offset else {})}
            downloads = _downloads(f"/queries/{name}", {**values, **options})
            return site.page(request, "query.html", answer.status, query=stored, answer=answer, table=rows,
                             form=form, inferred=inferred, body_text_only=body_text_only, downloads=downloads)
        job = Job(stored, values, results_type(accept, format), graph_type(accept, format), inferred=inferred,
                  body_text_only=body_text_only, limit=limit, offset=offset)
        if job.results_type is None and job.graph_type is None:
            return site.error(request, 406, "No acceptable format: ask for SPARQL results (JSON, XML, CSV, TSV).")
        answer = await site.run(job)
        return Response(answer.body, answer.status, media_type=answer.media_type,
                        headers={"Vary": "Accept", **_build_header(answer)})

    # ---------------------------------------------------------------- pages

    @app.get("/", response_class=HTMLResponse, tags=["Pages"], summary="Home page")
    async def home(request: Request):
        queries = site.queries()
        context = {"queries": queries}
        jobs = {"summary": queries.get("graph-summary"),
                "sources": _web_query("findings-by-source"), "subtypes": _web_query("preparations-by-ev-subtype"),
                "conditions": queries.get(MATRIX_QUERY)}
        for key, stored in jobs.items():
            if stored is None:
                continue
            answer = await site.cached(Job(stored))
            if answer.ok:
                context[key] = site.table(answer)
        return site.page(request, "home.html", **context)

    @app.get("/search", response_class=HTMLResponse, tags=["Pages"], summary="Search the labels and synonyms of the graph")
    async def search(request: Request, q: Annotated[str, Query(max_length=200)] = ""):
        results = site.pages.search(q)
        if negotiate(request.headers.get("accept"), [HTML, "application/json"]) == "application/json":
            return JSONResponse([{"iri": term.iri, "curie": term.curie, "label": term.text,
                                  "types": [t.curie for t in types]} for term, types in results])
        if len(results) == 1 and results[0][0].href and q.strip():
            return RedirectResponse(results[0][0].href, 303)
        closest = site.pages.closest(q) if q.strip() and not results else []
        return site.page(request, "search.html", q=q, results=results, closest=closest)

    async def matrix_data(rows_by: str):
        name = MATRIX_QUERIES[rows_by]
        stored = site.queries().get(name)
        if stored is None:
            raise HTTPException(404, f"The stored query {name} is missing from queries/.")
        answer = await site.cached(Job(stored))
        if not answer.ok:
            raise HTTPException(answer.status, answer.text)
        variables, rows = site.table(answer)
        by_condition = BY_CONDITION_QUERY in site.queries()
        return pictures.heatmap(variables, rows, pictures.matrix_cell_href if by_condition
                                else lambda condition, _column: condition.href, row_heading=rows_by)

    @app.get("/matrix", response_class=HTMLResponse, tags=["Pages"],
             summary="The source × condition (or × area) evidence matrix as a heat map")
    async def matrix(request: Request, by: MatrixRows = "condition"):
        return site.page(request, "matrix.html", heatmap=await matrix_data(by), query=MATRIX_QUERIES[by], by=by)

    @app.get("/matrix.svg", tags=["Pages"], summary="The heat map alone, as SVG",
             responses={200: {"content": {"image/svg+xml": {}}}})
    async def matrix_svg(request: Request, by: MatrixRows = "condition"):
        return site.templates.TemplateResponse(request, "matrix.svg", {"heatmap": await matrix_data(by),
                                                                      "standalone": True}, media_type="image/svg+xml")

    async def network_data(focus: str):
        answer = await site.cached(Job(_web_query("neighbourhood"), {"focus": focus}))
        if not answer.ok:
            raise HTTPException(answer.status, answer.text)
        _, rows = site.table(answer)
        if not rows:
            raise HTTPException(404, f"Nothing surrounds {focus}: give an MSC source (class or cell population) or a "
                                     "condition that some finding names.")
        return rows[0][0], pictures.network(rows, rows[0][0].iri)

    @app.get("/network", response_class=HTMLResponse, tags=["Pages"],
             summary="The neighbourhood of a source or a condition: sources → vesicles → cargo → targets → conditions")
    async def network(request: Request, focus: Annotated[str, Query(max_length=500)] = NETWORK_DEFAULT_FOCUS):
        center, picture = await network_data(focus)
        sources = await site.cached(Job(_web_query("findings-by-source")))
        matrix_query = site.queries().get(MATRIX_QUERY)
        conditions = await site.cached(Job(matrix_query)) if matrix_query else None
        return site.page(request, "network.html", focus=center, network=picture,
                         sources=site.table(sources)[1] if sources.ok else [],
                         conditions=site.table(conditions)[1][:15] if conditions and conditions.ok else [])

    @app.get("/network.svg", tags=["Pages"], summary="The network view alone, as SVG",
             responses={200: {"content": {"image/svg+xml": {}}}})
    async def network_svg(request: Request, focus: Annotated[str, Query(max_length=500)] = NETWORK_DEFAULT_FOCUS):
        center, picture = await network_data(focus)
        return site.templates.TemplateResponse(request, "network.svg", {"network": picture, "standalone": True},
                                               media_type="image/svg+xml")

    # ---------------------------------------------------------------- linked data

    def resource(request: Request, iri: str, invalid_status: int = 404) -> Response:
        """Content negotiation for one IRI: a page, or its description in an RDF format.

        Text that is no IRI (spaces, control characters, an empty string) is refused with ``invalid_status``: 404 at
        a path (nothing lives there), 400 for /resource?iri= (the parameter is wrong)."""
        try:
            ox.NamedNode(iri)
        except ValueError as error:
            name = f"iri={iri!r}" if invalid_status == 400 else f"<{iri}>"
            return site.error(request, invalid_status, f"{name} is not a valid IRI ({error}); nothing is about it.")
        short_name = request.query_params.get("format")
        if short_name and short_name not in GRAPH_TYPES:
            return site.error(request, 400, f"format={short_name!r}: choose one of {', '.join(GRAPH_TYPES)}")
        media_type = GRAPH_TYPES[short_name] if short_name else \
            negotiate(request.headers.get("accept"), [*GRAPH_TYPES.values(), HTML])
        if media_type is None:
            return site.error(request, 406, "Accept text/html, text/turtle, application/n-triples, "
                                            "application/ld+json or application/rdf+xml.")
        ontology_file = ONTOLOGY_FILES.get(iri)
        if ontology_file is None and not site.pages.exists(iri):
            return site.error(request, 404, f"Nothing in the graph is about <{iri}>. Try the search on the home page.")
        if media_type == HTML:
            links = _downloads(request.url.path, dict(request.query_params), tuple(GRAPH_TYPES))
            formats = [(GRAPH_FORMAT_NAMES[name], GRAPH_TYPES[name], link) for name, link in links]
            return site.page(request, "entity.html", entity=site.pages.entity(iri), iri=iri, formats=formats)
        if ontology_file is not None and media_type == "text/turtle":
            body = ontology_file.read_bytes()
        else:
            triples = list(ox.parse(path=ontology_file, format=ox.RdfFormat.TURTLE)) if ontology_file \
                else site.pages.describe(iri)
            body = ox.serialize(triples, format=ox.RdfFormat.from_media_type(media_type),
                                prefixes=used_prefixes(triples))
        return Response(body, media_type=media_type, headers={"Vary": "Accept", "Link": f'<{iri}>; rel="describes"'})

    @app.get("/resource", tags=["Linked data"], summary="Any IRI of the graph: a page or its RDF description",
             responses={200: {"content": {HTML: {}, **{media_type: {} for media_type in GRAPH_TYPES.values()}}}})
    def any_resource(request: Request, iri: Annotated[str, Query(description="A full IRI or a CURIE.")]):
        iri = expand(iri) or iri
        local = iri[len(NAMESPACES["MSCEV"]):]
        if iri.startswith(NAMESPACES["MSCEV"]) and not local.startswith("/"):  # "//host" would lead off this site
            extra = {k: v for k, v in request.query_params.items() if k != "iri"}
            return RedirectResponse("/" + local + ("?" + urlencode(extra) if extra else ""), 303)
        return resource(request, iri, invalid_status=400)

    @app.get("/{path:path}", tags=["Linked data"],
             summary="The project's IRIs (https://w3id.org/mscev/PATH): a page or its RDF description",
             responses={200: {"content": {HTML: {}, **{media_type: {} for media_type in GRAPH_TYPES.values()}}}})
    def project_resource(request: Request, path: str):
        return resource(request, NAMESPACES["MSCEV"] + path)

    return app


def _endpoint(request: Request) -> str | None:
    """The endpoint's URL, the base IRI of a query sent to it (SPARQL 1.1 Protocol); None if it is no IRI."""
    endpoint = str(request.url.replace(query=""))
    try:
        ox.NamedNode(endpoint)
    except ValueError:
        return None
    return endpoint


def _editor_text() -> str:
    """The SPARQL page's starting text: every project prefix, then the example query's body."""
    prefixes = "\n".join(f"PREFIX {prefix}: <{namespace}>" for prefix, namespace in prefix_map().items())
    example = (WEB_QUERIES / "example.rq").read_text(encoding="utf-8")
    body = "\n".join(line for line in example.splitlines()
                     if not line.startswith("#+") and not line.upper().startswith("PREFIX")).strip()
    return f"{prefixes}\n\n{body}\n"


def _sd_prefixes() -> dict[str, str]:
    return {"sd": "http://www.w3.org/ns/sparql-service-description#", "formats": "http://www.w3.org/ns/formats/",
            "dcterms": "http://purl.org/dc/terms/"}


def _downloads(path: str, params: dict, formats=None) -> list[tuple[str, str]]:
    """(format name, link) for each download format of a page's data (CSV, TSV and JSON unless told)."""
    formats = formats or ("csv", "tsv", "json")
    return [(name, f"{path}?{urlencode({**params, 'format': name})}") for name in formats]


def _base_url(request: Request, configured: str | None) -> str:
    """The site's address, ending in '/': the configured one, else the socket the request came in on (never the
    Host header, which any client sets as it likes)."""
    if configured:
        return configured.rstrip("/") + "/"
    scheme = request.scope.get("scheme", "http")
    host, port = request.scope.get("server") or ("127.0.0.1", 80)
    host = f"[{host}]" if ":" in host else host
    default = {"http": 80, "https": 443}.get(scheme)
    return f"{scheme}://{host}{'' if port in (None, default) else f':{port}'}/"


def connection_limit(wanted: int) -> int:
    """The connections the server may keep open: ``wanted``, within the open-file limit (raised to its hard
    maximum), leaving FILE_RESERVE files for the store, the workers' pipes and the static files."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    raised = 1 << 16 if hard == resource.RLIM_INFINITY else min(hard, 1 << 16)
    if raised > soft:
        resource.setrlimit(resource.RLIMIT_NOFILE, (raised, hard))
        soft = raised
    return max(8, min(wanted, soft - FILE_RESERVE))


def serve(host: str = "127.0.0.1", port: int = 8000, settings: Settings | None = None, log_level: str = "info") -> None:
    """Run the server until interrupted (uvicorn, one process; queries run in the app's worker pool).

    Connections are bounded and each request has a deadline (mscev.web.connections); a message repeated in the
    log is written at most once every 10 s."""
    import uvicorn

    from mscev.web.connections import RepeatFilter, guarded_protocol

    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as probe:  # a clear error, before any work
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as error:
            raise MscevError(f"--host {host} --port {port}: cannot listen there ({error.strerror or error}); "
                             "choose another --port.") from None
    settings = settings or Settings()
    app = create_app(settings)
    protocol = guarded_protocol(connection_limit(settings.max_connections), settings.request_timeout)
    config = uvicorn.Config(app, host=host, port=port, log_level=log_level, server_header=False, http=protocol,
                            timeout_keep_alive=min(5, settings.request_timeout))
    repeats = RepeatFilter()
    for name in ("asyncio", "uvicorn.error", "uvicorn.access"):
        logging.getLogger(name).addFilter(repeats)
    uvicorn.Server(config).run()

