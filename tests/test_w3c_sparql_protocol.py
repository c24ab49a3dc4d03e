"""The W3C SPARQL 1.1 Protocol tests against `mscev serve` on 127.0.0.1.

The manifest (tests/data/w3c/sparql11-protocol/manifest.ttl) describes each test as HTTP requests in the
HTTP-in-RDF vocabulary (ht:) with the expected status class, result format and ASK answer; this module
sends exactly those requests (the manifest's /sparql/ path is the server's /sparql) to a server over a
copy of the project's build with the tests' graphs (data1-3.nt) added under the names the manifest gives.
The server is read-only by design: a test whose requests update the graph passes when the update is
refused (403 with a message saying so), and shows as a skip with that message.
"""

import http.client
import shutil
import sys
from pathlib import Path
from urllib.parse import urlsplit

import pyoxigraph as ox
import pytest
from rdflib import RDF, RDFS, Graph, Namespace
from rdflib.collection import Collection

sys.path.insert(0, str(Path(__file__).parents[1] / "benchmarks"))
from load_serve import running_server  # noqa: E402

from mscev.query import STORE_DIR  # noqa: E402

pytestmark = pytest.mark.w3c

SUITE = Path(__file__).parent / "data" / "w3c" / "sparql11-protocol"
MF = Namespace("http://www.w3.org/2001/sw/DataAccess/tests/test-manifest#")
HT = Namespace("http://www.w3.org/2011/http#")
CNT = Namespace("http://www.w3.org/2011/content#")
UT = Namespace("http://www.w3.org/2009/sparql/tests/test-update#")
HTS = "http://www.w3.org/2011/http-statusCodes#StatusCode"
MANIFEST = Graph().parse(SUITE / "manifest.ttl", format="turtle", publicID=(SUITE / "manifest.ttl").as_uri())
TESTS = list(Collection(MANIFEST, MANIFEST.value(MANIFEST.value(predicate=RDF.type, object=MF.Manifest), MF.entries)))
RESULTS_TYPES = {"application/sparql-results+json": ox.QueryResultsFormat.JSON,
                 "application/sparql-results+xml": ox.QueryResultsFormat.XML,
                 "text/csv": ox.QueryResultsFormat.CSV, "text/tab-separated-values": ox.QueryResultsFormat.TSV}
RDF_TYPES = {"text/turtle", "application/n-triples", "application/ld+json", "application/rdf+xml", "application/n-quads",
             "application/trig"}


@pytest.fixture(scope="module")
def server(built, tmp_path_factory):
    """`mscev serve` over a copy of the build, with the protocol tests' graphs added to its store."""
    build = tmp_path_factory.mktemp("protocol") / "build"
    shutil.copytree(built.out, build)
    store = ox.Store(str(build / STORE_DIR))
    for data in MANIFEST.objects(None, UT.graphData):
        graph = ox.NamedNode(str(MANIFEST.value(data, RDFS.label)))
        store.load(path=str(SUITE / Path(urlsplit(str(MANIFEST.value(data, UT.graph))).path).name),
                   format=ox.RdfFormat.N_TRIPLES, to_graph=graph)
    store.flush()
    del store
    with running_server(build, quiet=True) as (_process, base):
        yield urlsplit(base)


def send(base, request) -> tuple[int, str, bytes]:
    """One ht:Request as the manifest gives it: method, path, headers, body in its character encoding."""
    path = str(MANIFEST.value(request, HT.absolutePath)).replace("/sparql/", "/sparql", 1)
    headers = {str(MANIFEST.value(h, HT.fieldName)): str(MANIFEST.value(h, HT.fieldValue))
               for list_node in MANIFEST.objects(request, HT.headers) for h in Collection(MANIFEST, list_node)}
    body = MANIFEST.value(request, HT.body)
    data = None
    if body is not None:
        data = str(MANIFEST.value(body, CNT.chars)).encode(str(MANIFEST.value(body, CNT.characterEncoding)))
    connection = http.client.HTTPConnection(base.hostname, base.port, timeout=30)
    try:
        connection.request(str(MANIFEST.value(request, HT.methodName)), path, body=data, headers=headers)
        response = connection.getresponse()
        return response.status, (response.getheader("content-type") or "").split(";")[0].strip(), response.read()
    finally:
        connection.close()


def is_update(request) -> bool:
    headers = [str(MANIFEST.value(h, HT.fieldValue)) for list_node in MANIFEST.objects(request, HT.headers)
               for h in Collection(MANIFEST, list_node)]
    body = MANIFEST.value(request, HT.body)
    text = "" if body is None else str(MANIFEST.value(body, CNT.chars))
    return any(v.startswith("application/sparql-update") for v in headers) or text.startswith("update=")


def check_response(request, status: int, content_type: str, body: bytes) -> None:
    response = MANIFEST.value(request, HT.resp)
    classes = {str(code).removeprefix(HTS) for code in MANIFEST.objects(response, MF.expectedStatus)}
    assert f"{status // 100}xx" in classes, f"status {status}, expected {sorted(classes)}: {body[:300]!r}"
    expected_format = MANIFEST.value(response, MF.expectedFormat)
    if expected_format is not None:
        kinds = {"boolean": RESULTS_TYPES, "tabular": RESULTS_TYPES, "RDF": RDF_TYPES}[str(expected_format)]
        assert content_type in kinds, f"{content_type} is not a {expected_format} format"
    expected_boolean = MANIFEST.value(response, MF.expectedBoolean)
    if expected_boolean is not None:
        answer = ox.parse_query_results(body, RESULTS_TYPES[content_type])
        assert isinstance(answer, ox.QueryBoolean), f"not a boolean answer: {body[:200]!r}"
        assert bool(answer) is expected_boolean.toPython()


@pytest.mark.parametrize("test", TESTS, ids=[str(t).rsplit("#", 1)[-1] for t in TESTS])
def test_protocol(server, test):
    requests = list(Collection(MANIFEST, MANIFEST.value(MANIFEST.value(test, MF.action), HT.requests)))
    for request in requests:
        status, content_type, body = send(server, request)
        expected = {str(code).removeprefix(HTS) for code in MANIFEST.objects(MANIFEST.value(request, HT.resp),
                                                                                MF.expectedStatus)}
        if is_update(request) and "2xx" in expected:
            # the read-only endpoint's contract for an update: refused with 403 and why
            assert status == 403 and b"read-only" in body, f"an update must be refused: {status} {body[:300]!r}"
            return
        check_response(request, status, content_type, body)
