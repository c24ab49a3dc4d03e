"""Serve stage: `mscev serve` — a SPARQL 1.1 Protocol endpoint, linked-data pages and a web interface.

One ASGI application (FastAPI, run by uvicorn) over the read-only store of a build, in areas that can be read
alone (mscev.web.routes):
- protocol: /sparql, the SPARQL 1.1 Protocol (GET, POST form, POST application/sparql-query), results in SPARQL
  JSON/XML/CSV/TSV, graphs in Turtle/N-Triples/N3/JSON-LD (compacted as the release's)/RDF-XML, chosen by Accept
  or by `format`/`output` names as common clients send them (mscev.web.sparql), a Service Description without
  a query;
- docs: /docs, Swagger UI from vendored files (FastAPI's own pages load from a CDN);
- api: /queries and /queries/NAME, the stored queries, with parameters bound as by `mscev query`;
- pages and pictures: home, search, the findings table (paged, sorted, filtered), one per stored query, the source × condition heat map, a network view;
- linked data: every IRI under https://w3id.org/mscev/ at its own path (/data/finding/…, /Finding,
  /ontology), and any other IRI at /resource?iri=…: an HTML page for browsers, its description for RDF clients.
The build served, the limits and the shared helpers are mscev.web.site.

Safety: updates, SERVICE and queries of too deep a nesting or too many pattern elements are refused before
evaluation (mscev.web.sparql); every query runs in a worker process with a time limit, a row cap, an answer
size cap and a memory budget, stored queries in a lane of their own (mscev.web.pool); a client has a limit of
free queries at once; request bodies are capped (mscev.web.middleware); connections are bounded and each request
has a deadline (mscev.web.connections); a build swapped into the served folder replaces the served one all at
once (mscev.web.site.Site). CORS lets browser tools query the endpoint. Errors are text for programs and a page
for browsers.
"""

from __future__ import annotations

import logging
import resource
import socket
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException
from starlette.middleware.cors import CORSMiddleware

from mscev import __version__
from mscev.errors import MscevError
from mscev.web.middleware import BodyLimit, BuildHeader, HeadAsGet
from mscev.web.routes import api, docs, findings, linked_data, pages, pictures, protocol
from mscev.web.site import BUILD_HEADER, WEB_DIR, Settings, Site

__all__ = ["Settings", "create_app", "serve"]

FILE_RESERVE = 100  # open files kept for other uses than connections
SHUTDOWN_SECONDS = 5  # on stopping, answers still being sent (a slow reader's stream) get this long, then are cut
ROUTERS = (docs, protocol, api, pages, pictures, findings, linked_data)  # linked data last: its path matches anything


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

    app = FastAPI(title="mscev", version=__version__, lifespan=lifespan, docs_url=None, redoc_url=None,
                  description="SPARQL 1.1 Protocol endpoint, stored queries, linked data and web pages over the "
                              "mscev knowledge graph of extracellular vesicles from mesenchymal stem cells.")
    app.state.site = site
    app.add_middleware(BodyLimit, max_bytes=settings.max_body)
    app.add_middleware(BuildHeader, site=site)
    app.add_middleware(CORSMiddleware, allow_origins=["*"], allow_methods=["GET", "POST", "OPTIONS"],
                       allow_headers=["*"], expose_headers=[BUILD_HEADER], max_age=86400)
    app.add_middleware(HeadAsGet)  # outermost: every layer and route sees the GET it stands for
    app.mount("/static", StaticFiles(directory=WEB_DIR / "static"), name="static")

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, error: HTTPException):
        return site.error(request, error.status_code, str(error.detail))

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, error: RequestValidationError):
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in error.errors())
        return site.error(request, 400, f"Bad request: {problems}")

    for area in ROUTERS:
        app.include_router(area.router)
    return app


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
                            timeout_keep_alive=min(5, settings.request_timeout),
                            timeout_graceful_shutdown=SHUTDOWN_SECONDS)
    repeats = RepeatFilter()
    for name in ("asyncio", "uvicorn.error", "uvicorn.access"):
        logging.getLogger(name).addFilter(repeats)
    uvicorn.Server(config).run()

