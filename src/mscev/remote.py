"""Remote stage: publish a release to a triple store server, and run the stored queries on any SPARQL endpoint.

`mscev publish` sends the release's N-Triples (mscev.nt, mscev-inferred.nt, mscev-derived.nt) with the SPARQL 1.1
Graph Store HTTP Protocol (Virtuoso, Fuseki, GraphDB, Oxigraph server) into ONE named graph, PUBLISHED_GRAPH by
default: the first chunk is PUT (it replaces the graph, so publishing again never duplicates it), the others are
POSTed (appended). A chunk never splits the triples that share blank nodes, since blank node labels are scoped to
one request.

`mscev query --endpoint` sends a stored query with the SPARQL 1.1 Protocol and ``default-graph-uri`` set to that
graph, so the query text (which has no GRAPH clauses) sees the asserted and inferred triples together, as it
does on the embedded store. An endpoint has no substitutions API: parameters become a VALUES block placed first
in the query's WHERE group, written from RDF terms (the same typed terms mscev.query binds locally, serialised in
N-Triples syntax), never from the user's text. Placed there, and not as a trailing VALUES clause, the values
are also seen by the group's FILTERs (a trailing VALUES clause is joined after the WHERE clause, so a parameter
used only in a FILTER, as in `search` and `ev-size`, would be unbound there).

Every request has an overall time limit (``timeout``, 300 s unless told), not only limits per read: a server
that sends one byte at a time never trips a read timeout. A password given in the endpoint URL
(http://user:password@host/…) is never shown: every message names the URL with the password as ***.
"""

from __future__ import annotations

import hashlib
import json
import re
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from pathlib import Path

import httpcore
import httpx
import pyoxigraph as ox

from mscev.errors import MscevError
from mscev.namespaces import prefix_map
from mscev.query import (PAGE_ROWS, RDFS_LABEL, StoredQuery, bind_parameters, find_query, paged_rows, query_form,
                         with_page, with_values)
from mscev.paths import DEFAULT_RELEASE_DIR
from mscev.release import CHECKSUMS

PUBLISHED_GRAPH = "https://w3id.org/mscev/data/graph/release"  # asserted and inferred triples together
RELEASE_FILES = ("mscev.nt", "mscev-inferred.nt", "mscev-derived.nt")
CHUNK_TRIPLES = 50_000
LABEL_BATCH = 200
REQUEST_SECONDS = 300.0  # the overall limit of one request (a chunk sent and its answer read), unless told
CONNECT_SECONDS = 10.0
USERINFO_PASSWORD = re.compile(r"(?<=//)([^/?#@:]*):[^/?#@]*@")
N_TRIPLES = "application/n-triples"
RESULTS_JSON = "application/sparql-results+json"
LABELS_QUERY = "SELECT ?term ?label WHERE { ?term <http://www.w3.org/2000/01/rdf-schema#label> ?label }"


@dataclass
class Publication:
    endpoint: str
    graph: str
    triples: int  # sent (a triple both asserted and inferred is sent twice and stored once)
    chunks: int
    bytes: int
    seconds: float


# ---------------------------------------------------------------- HTTP

def redact(text: str) -> str:
    """``text`` with the password of any URL in it (http://user:password@host) replaced by ***.

    >>> redact("http://dba:secret@127.0.0.1:8890/sparql failed")
    'http://dba:***@127.0.0.1:8890/sparql failed'
    """
    return USERINFO_PASSWORD.sub(r"\1:***@", text)


class _DeadlineBackend(httpcore.NetworkBackend):
    """httpcore's network backend with an overall deadline: every connect, read and write waits at most until
    the deadline of the request under way (``until``), so a request ends in time however the server trickles."""

    def __init__(self, inner: httpcore.NetworkBackend):
        self.inner = inner
        self.deadline: float | None = None

    @contextmanager
    def until(self, seconds: float):
        self.deadline = time.monotonic() + seconds
        try:
            yield
        finally:
            self.deadline = None

    def limit(self, timeout: float | None) -> float | None:
        if self.deadline is None:
            return timeout
        remaining = self.deadline - time.monotonic()
        if remaining <= 0:
            raise httpcore.ReadTimeout("the request's overall time limit was reached")
        return remaining if timeout is None else min(timeout, remaining)

    def connect_tcp(self, host, port, timeout=None, local_address=None, socket_options=None):
        return _DeadlineStream(self.inner.connect_tcp(host, port, self.limit(timeout), local_address, socket_options),
                               self)

    def connect_unix_socket(self, path, timeout=None, socket_options=None):
        return _DeadlineStream(self.inner.connect_unix_socket(path, self.limit(timeout), socket_options), self)

    def sleep(self, seconds: float) -> None:
        self.inner.sleep(seconds)


class _DeadlineStream(httpcore.NetworkStream):
    WRITE_PIECE = 64 * 1024  # a body is written in pieces, so the deadline is checked as it goes

    def __init__(self, inner: httpcore.NetworkStream, backend: _DeadlineBackend):
        self.inner, self.backend = inner, backend

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self.inner.read(max_bytes, self.backend.limit(timeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        for start in range(0, len(buffer), self.WRITE_PIECE):
            self.inner.write(buffer[start:start + self.WRITE_PIECE], self.backend.limit(timeout))

    def close(self) -> None:
        self.inner.close()

    def start_tls(self, ssl_context, server_hostname=None, timeout=None):
        return _DeadlineStream(self.inner.start_tls(ssl_context, server_hostname, self.backend.limit(timeout)),
                               self.backend)

    def get_extra_info(self, info: str):
        return self.inner.get_extra_info(info)

class ChallengeAuth(httpx.Auth):
    """Digest or Basic authentication, whichever the server asks for (Virtuoso asks for Digest, Fuseki and
    GraphDB for Basic); the choice is made on the first 401 and kept."""

    requires_request_body = True

    def __init__(self, user: str, password: str):
        self.schemes = {"digest": httpx.DigestAuth(user, password), "basic": httpx.BasicAuth(user, password)}
        self.chosen: httpx.Auth | None = None

    def auth_flow(self, request):
        if self.chosen is None:
            response = yield request
            if response.status_code != 401:
                return
            offered = {challenge.split(" ", 1)[0].lower() for challenge in response.headers.get_list("www-authenticate")}
            self.chosen = next((auth for scheme, auth in self.schemes.items() if scheme in offered), None)
            if self.chosen is None:
                return
        yield from self.chosen.auth_flow(request)


class Client(httpx.Client):
    """An httpx client whose requests each end within ``request_seconds`` (see _DeadlineBackend)."""

    def __init__(self, request_seconds: float = REQUEST_SECONDS, **kwargs):
        self.request_seconds = request_seconds
        per_operation = min(request_seconds, CONNECT_SECONDS)
        transport = httpx.HTTPTransport()
        self.deadline = _DeadlineBackend(transport._pool._network_backend)  # httpcore offers no public setter
        transport._pool._network_backend = self.deadline
        super().__init__(transport=transport, timeout=httpx.Timeout(request_seconds, connect=per_operation), **kwargs)


def http_client(user: str | None = None, password: str | None = None,
                request_seconds: float = REQUEST_SECONDS) -> Client:
    if (user is None) != (password is None):
        raise MscevError("give both --user and --password, or neither")
    return Client(request_seconds, auth=ChallengeAuth(user, password) if user is not None else None)


def check_endpoint(url: str) -> str:
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, TypeError) as error:
        raise MscevError(redact(f"--endpoint {url!r}: not a URL ({error})")) from None
    if parsed.scheme not in ("http", "https") or not parsed.host:
        raise MscevError(redact(f"--endpoint {url!r}: give an http:// or https:// URL"))
    return url


def _send(client: httpx.Client, method: str, url: str, what: str, **kwargs) -> httpx.Response:
    """One request, ended at the client's overall time limit, with failures turned into messages that say what
    to check (and never show a password)."""
    shown = redact(url)
    limit = client.request_seconds if isinstance(client, Client) else None
    began = time.monotonic()
    try:
        with client.deadline.until(limit) if limit else nullcontext():
            response = client.request(method, url, **kwargs)
    except httpx.TransportError as error:
        if limit and time.monotonic() - began >= limit:
            raise MscevError(f"{shown}: {what} failed: no complete answer within {limit:g} s (--timeout); the "
                             "server is too slow or stalled") from None
        raise MscevError(redact(f"{shown}: {what} failed: {error.__class__.__name__}: {error or 'no answer'} "
                                "(is the server running, and is this its URL?)")) from None
    if response.status_code in (401, 403):
        hint = ("check --user and --password, and that the user may do this" if client.auth
                else "give --user and --password")
        raise MscevError(f"{shown}: {what} was refused (HTTP {response.status_code}): {hint}")
    if response.status_code >= 400:
        raise MscevError(redact(f"{shown}: {what} failed (HTTP {response.status_code}): "
                                f"{_server_message(response) or response.reason_phrase}"))
    return response


def _server_message(response: httpx.Response) -> str:
    """The server's explanation: an HTML page's text, or a text's first paragraph (servers echo the query after it)."""
    if "html" in response.headers.get("content-type", ""):
        return " ".join(re.sub(r"<[^>]*>", " ", response.text).split())[:600]
    paragraphs = (" ".join(part.split()) for part in re.split(r"\n\s*\n", response.text))
    return next((part for part in paragraphs if part), "")[:600]


# ---------------------------------------------------------------- publish

def release_files(release_dir: Path = DEFAULT_RELEASE_DIR) -> list[Path]:
    """The release's N-Triples files, after checking them against its SHA256SUMS."""
    release_dir = Path(release_dir)
    paths = [release_dir / name for name in RELEASE_FILES]
    missing = [path.name for path in paths if not path.is_file()]
    if missing:
        raise MscevError(f"{release_dir}: no {', '.join(missing)} here: write a release with `mscev release` "
                         "(or name one with --release)")
    sums_file = release_dir / CHECKSUMS
    if sums_file.is_file():
        sums = dict(reversed(line.split(maxsplit=1)) for line in sums_file.read_text(encoding="utf-8").splitlines()
                    if line.strip())
        for path in paths:
            if path.name in sums and _sha256(path) != sums[path.name]:
                raise MscevError(f"{path}: its checksum differs from {sums_file.name}: the release is damaged; "
                                 "write it again with `mscev release`")
    return paths


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def count_lines(paths: Iterable[Path]) -> int:
    """Lines of N-Triples files: their triples, for a progress bar, without parsing them."""
    total = 0
    for path in paths:
        with Path(path).open("rb") as handle:
            total += sum(block.count(b"\n") for block in iter(lambda: handle.read(1 << 20), b""))
    return total


def chunk_triples(triples: Iterable[ox.Triple], size: int = CHUNK_TRIPLES) -> Iterator[list[ox.Triple]]:
    """Chunks of at most ``size`` triples that never split a set of triples linked by blank nodes
    (such a set larger than ``size`` makes one larger chunk). Triples without blank nodes stream through; those
    with blank nodes are kept until the end, grouped by union-find over their blank nodes."""
    if size < 1:
        raise MscevError(f"--chunk {size}: give a positive number of triples")
    parent: dict[ox.BlankNode, ox.BlankNode] = {}

    def root(node):
        parent.setdefault(node, node)
        while parent[node] != node:
            parent[node] = parent[parent[node]]
            node = parent[node]
        return node

    chunk: list[ox.Triple] = []
    linked: list[tuple[ox.Triple, ox.BlankNode]] = []
    for triple in triples:
        blanks = [term for term in (triple.subject, triple.object) if isinstance(term, ox.BlankNode)]
        if not blanks:
            chunk.append(triple)
            if len(chunk) == size:
                yield chunk
                chunk = []
            continue
        first = root(blanks[0])
        for other in blanks[1:]:
            parent[root(other)] = first
        linked.append((triple, blanks[0]))
    groups: dict[ox.BlankNode, list[ox.Triple]] = {}
    for triple, node in linked:
        groups.setdefault(root(node), []).append(triple)
    for group in groups.values():
        if chunk and len(chunk) + len(group) > size:
            yield chunk
            chunk = []
        chunk.extend(group)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def release_triples(paths: Iterable[Path]) -> Iterator[ox.Triple]:
    """The triples of each file; blank nodes are renamed so that files never share one (each is its own document)."""
    for path in paths:
        try:
            for quad in ox.parse(path=str(path), format=ox.RdfFormat.N_TRIPLES, rename_blank_nodes=True):
                yield ox.Triple(quad.subject, quad.predicate, quad.object)
        except SyntaxError as error:
            raise MscevError(f"{path}: not N-Triples: {error}") from None


def publish(endpoint: str, release_dir: Path = DEFAULT_RELEASE_DIR, graph: str = PUBLISHED_GRAPH,
            user: str | None = None, password: str | None = None, chunk: int = CHUNK_TRIPLES,
            on_chunk: Callable[[int, int], None] | None = None, timeout: float = REQUEST_SECONDS) -> Publication:
    """Replace ``graph`` at the Graph Store endpoint with the release's asserted and inferred triples.

    ``on_chunk(sent, total)`` is called after each chunk (``total`` counts lines, so it is an estimate);
    ``timeout`` bounds each request (a chunk sent and answered), in seconds.
    """
    check_endpoint(endpoint)
    graph = _check_iri(graph)
    paths = release_files(release_dir)
    total = count_lines(paths)
    sent = chunks = size = 0
    started = time.perf_counter()
    with http_client(user, password, timeout) as client:
        for number, triples in enumerate(chunk_triples(release_triples(paths), chunk)):
            body = ox.serialize(triples, format=ox.RdfFormat.N_TRIPLES)
            _send(client, "PUT" if number == 0 else "POST", endpoint, f"loading chunk {number + 1}",
                  params={"graph": graph}, content=body, headers={"Content-Type": N_TRIPLES})
            sent, chunks, size = sent + len(triples), chunks + 1, size + len(body)
            if on_chunk:
                on_chunk(sent, max(total, sent))
        if chunks == 0:  # an empty release still replaces the graph
            _send(client, "PUT", endpoint, "loading", params={"graph": graph}, content=b"",
                  headers={"Content-Type": N_TRIPLES})
    return Publication(redact(endpoint), graph, sent, chunks, size, time.perf_counter() - started)


def _check_iri(iri: str) -> str:
    try:
        return ox.NamedNode(iri).value
    except ValueError as error:
        raise MscevError(f"--graph {iri!r}: not an IRI ({error})") from None


# ---------------------------------------------------------------- query

class RemoteStore:
    """A SPARQL 1.1 endpoint seen through the part of pyoxigraph.Store's query interface that mscev.query uses
    (``query`` with ``substitutions``), so parameters are checked and labels resolved exactly as locally."""

    def __init__(self, endpoint: str, graph: str = PUBLISHED_GRAPH, user: str | None = None,
                 password: str | None = None, timeout: float = REQUEST_SECONDS):
        self.endpoint = check_endpoint(endpoint)
        self.shown = redact(endpoint)
        self.graph = _check_iri(graph)
        self.client = http_client(user, password, timeout)

    def __enter__(self):
        return self

    def __exit__(self, *_):
        self.client.close()

    def query(self, text: str, substitutions: dict | None = None, prefixes: dict | None = None,
              use_default_graph_as_union: bool = True, what: str = "the query"):
        """Results parsed by pyoxigraph. The graph holds asserted and inferred triples together, so
        ``use_default_graph_as_union`` is what the endpoint does anyway; ``prefixes`` defaults to the project's."""
        bindings = substitutions or {}
        text = with_values(text, list(bindings), [tuple(bindings.values())])
        prefixes = prefix_map() if prefixes is None else prefixes
        declared = " ".join(f"PREFIX {name}: <{iri}>" for name, iri in prefixes.items())
        graph_result = query_form(text) in ("CONSTRUCT", "DESCRIBE")
        response = _send(self.client, "POST", self.endpoint, what,
                         data={"query": f"{declared} {text}", "default-graph-uri": self.graph},
                         headers={"Accept": N_TRIPLES if graph_result else RESULTS_JSON})
        if response.headers.get("x-sql-state"):  # Virtuoso's mark of an answer cut short by its time limit
            raise MscevError(f"{self.shown}: the endpoint returned incomplete results "
                             f"({response.headers.get('x-sql-message', response.headers['x-sql-state'])}); "
                             "raise its time limit (Virtuoso: MaxQueryExecutionTime)")
        if response.headers.get("x-sparql-maxrows"):  # Virtuoso's mark of an answer that reached its row limit
            limit = response.headers["x-sparql-maxrows"]
            raise MscevError(f"{self.shown}: the endpoint stopped at its limit of {limit} rows, so the answer may be "
                             f"cut short; ask for fewer rows at a time (--limit below {limit}, with --offset) or "
                             "raise that limit (Virtuoso: ResultSetMaxRows in virtuoso.ini)")
        kind = response.headers.get("content-type", "").split(";")[0].strip()
        if kind == RESULTS_JSON:
            return ox.parse_query_results(_valid_blank_nodes(response.content), format=ox.QueryResultsFormat.JSON)
        if kind in (N_TRIPLES, "text/plain"):
            graph = ox.Store()
            graph.load(response.content, format=ox.RdfFormat.N_TRIPLES)
            return graph.query("CONSTRUCT WHERE { ?s ?p ?o }")
        raise MscevError(f"{self.shown}: unexpected answer of type {kind or 'unknown'} to {what}")

    def labels(self, results) -> tuple[object, ox.Store]:
        """The results again, with a store of the rdfs:label of every IRI in them (for mscev.render.labeler)."""
        store = ox.Store()
        if not isinstance(results, ox.QuerySolutions):
            return results, store
        data = results.serialize(format=ox.QueryResultsFormat.JSON)
        iris = sorted({term for solution in ox.parse_query_results(data, format=ox.QueryResultsFormat.JSON)
                       for term in solution if isinstance(term, ox.NamedNode)}, key=lambda iri: iri.value)
        for start in range(0, len(iris), LABEL_BATCH):
            batch = iris[start:start + LABEL_BATCH]
            text = with_values(LABELS_QUERY, [ox.Variable("term")], [(iri,) for iri in batch])
            for row in self.query(text, prefixes={}, what="the labels query"):
                store.add(ox.Quad(row["term"], RDFS_LABEL, row["label"]))
        return ox.parse_query_results(data, format=ox.QueryResultsFormat.JSON), store


def _valid_blank_nodes(content: bytes) -> bytes:
    """SPARQL JSON results with blank node labels that pyoxigraph accepts (Virtuoso writes nodeID://b1000)."""
    if b'"bnode"' not in content:
        return content
    data = json.loads(content)
    names: dict[str, str] = {}
    for row in data.get("results", {}).get("bindings", []):
        for cell in row.values():
            if cell.get("type") == "bnode":
                cell["value"] = names.setdefault(cell["value"], f"b{len(names)}")
    return json.dumps(data).encode("utf-8")


def run_remote_query(query: str | StoredQuery, params: dict[str, str] | None, store: RemoteStore,
                     limit: int | None = None, offset: int = 0):
    """A stored query (by name, as an .rq file or already read) on the endpoint, with parameters bound as
    mscev.query binds them (labels are resolved on the endpoint), paged by ``limit``/``offset``; returns
    pyoxigraph results."""
    if not isinstance(query, StoredQuery):
        query = find_query(query)
    bindings = bind_parameters(query, params or {}, store)
    text = with_values(query.text, list(bindings), [tuple(bindings.values())])
    if query.page_by and limit is not None and limit > PAGE_ROWS:  # as mscev.query.run_query reads a long page
        return paged_rows(store, text, {"what": f"query {query.name}"}, query.page_by, limit, offset)
    return store.query(with_page(text, limit, offset, query.page_by), what=f"query {query.name}")
