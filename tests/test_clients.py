"""The SPARQL clients people already use, unchanged, against `mscev serve` started as a user would (on 127.0.0.1):
SPARQLWrapper with its default settings and every return format, over GET and both kinds of POST; rdflib's
SPARQLStore behind rdflib graphs; and curl-style content negotiation (HEAD, `format`/`output` names and media
types, JSON and JSON-LD on entities), with httpx and with curl itself when it is installed."""

import json
import shutil
import subprocess
import warnings
import xml.dom.minidom
from urllib.parse import urlencode

import httpx
import pyoxigraph as ox
import pytest
from rdflib import ConjunctiveGraph, Dataset, Graph, Literal, URIRef
from rdflib.plugins.stores.sparqlstore import SPARQLStore
from SPARQLWrapper import (
    CSV,
    JSON,
    JSONLD,
    N3,
    POST,
    POSTDIRECTLY,
    RDF,
    RDFXML,
    TSV,
    TURTLE,
    URLENCODED,
    XML,
    SPARQLWrapper,
    SPARQLWrapper2,
)
from test_serve import answered_rows, expected_rows

from mscev.derive import DERIVED_GRAPHS
from mscev.export import jsonld_context, to_jsonld
from mscev.query import open_store
from mscev.serve import Settings, create_app

FINDING = "https://w3id.org/mscev/data/finding/ref26-cartilage-regeneration"
FINDING_PATH = "/data/finding/ref26-cartilage-regeneration"
LABEL = "http://www.w3.org/2000/01/rdf-schema#label"
SELECT = ("SELECT ?finding ?label WHERE { ?finding a <https://w3id.org/mscev/Finding> ; "
          f"<{LABEL}> ?label }} ORDER BY ?finding LIMIT 20")
ASK = f"ASK {{ <{FINDING}> ?p ?o }}"
CONSTRUCT = f"CONSTRUCT {{ <{FINDING}> ?p ?o }} WHERE {{ <{FINDING}> ?p ?o }}"
DESCRIBE = f"DESCRIBE <{FINDING}>"
GRAPH_QUERIES = {"construct": CONSTRUCT, "describe": DESCRIBE}
# SPARQLWrapper's three ways of sending a query: GET (its default), POST form (URL-encoded), POST body
METHODS = {"GET": None, "POST form": URLENCODED, "POST directly": POSTDIRECTLY}


@pytest.fixture(scope="module")
def store(built):
    return open_store(built.out)


def canonical(triples) -> set:
    """Triples with blank nodes renamed canonically, so that two parses of one graph compare equal."""
    dataset = ox.Dataset(ox.Quad(t.subject, t.predicate, t.object) for t in triples)
    dataset.canonicalize(ox.CanonicalizationAlgorithm.UNSTABLE)
    return {ox.Triple(q.subject, q.predicate, q.object) for q in dataset}


def expected_triples(store, query: str) -> set:
    return canonical(store.query(query, use_default_graph_as_union=True))


def triples_of(data: bytes | Graph, fmt: ox.RdfFormat = ox.RdfFormat.N_TRIPLES) -> set:
    """The triples of a body in ``fmt``, or of an rdflib graph (written as N-Triples), canonical."""
    if isinstance(data, Graph):
        data = data.serialize(format="nt", encoding="utf-8")
    return canonical(ox.Triple(q.subject, q.predicate, q.object) for q in ox.parse(data, fmt))


# ---------------------------------------------------------------- SPARQLWrapper


def wrapper(server: str, query: str, return_format: str | None = None, method: str = "GET") -> SPARQLWrapper:
    """SPARQLWrapper as its documentation shows it; only the return format and the method are set."""
    client = SPARQLWrapper(server + "/sparql")
    client.setQuery(query)
    if return_format:
        client.setReturnFormat(return_format)
    if METHODS[method]:
        client.setMethod(POST)
        client.setRequestMethod(METHODS[method])
    return client


def converted(client: SPARQLWrapper):
    """What ``client.query().convert()`` gives, and the answer's content type. SPARQLWrapper warns (a
    RuntimeWarning) when the answer is not in the format asked for, and then returns the raw bytes: that fails."""
    result = client.query()
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        warnings.simplefilter("ignore", DeprecationWarning)  # its RDF/XML and JSON-LD go into a ConjunctiveGraph
        return result.convert(), result.info()["content-type"]


@pytest.mark.parametrize("method", METHODS)
def test_sparqlwrapper_default_settings(server, store, method):
    """No return format set: SPARQLWrapper asks for XML (format=xml&output=xml&results=xml beside its Accept
    header): SPARQL XML results for SELECT and ASK, RDF/XML (an rdflib graph) for CONSTRUCT and DESCRIBE."""
    document, content_type = converted(wrapper(server, SELECT, method=method))
    assert content_type.startswith("application/sparql-results+xml")
    assert answered_rows(document.toxml().encode(), ox.QueryResultsFormat.XML) == expected_rows(store, SELECT)
    document, _ = converted(wrapper(server, ASK, method=method))
    assert bool(ox.parse_query_results(document.toxml().encode(), ox.QueryResultsFormat.XML)) is True
    for query in GRAPH_QUERIES.values():
        graph, content_type = converted(wrapper(server, query, method=method))
        assert content_type.startswith("application/rdf+xml")
        assert triples_of(graph) == expected_triples(store, query)


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("return_format", [JSON, XML, CSV, TSV])
def test_sparqlwrapper_select(server, store, method, return_format):
    answer, content_type = converted(wrapper(server, SELECT, return_format, method))
    expected = expected_rows(store, SELECT)
    if return_format == JSON:
        assert answer["results"]["bindings"] == expected
    elif return_format == XML:
        assert isinstance(answer, xml.dom.minidom.Document)
        assert answered_rows(answer.toxml().encode(), ox.QueryResultsFormat.XML) == expected
    elif return_format == TSV:
        assert content_type.startswith("text/tab-separated-values")
        assert answered_rows(answer, ox.QueryResultsFormat.TSV) == expected
    else:  # CSV keeps values only
        assert content_type.startswith("text/csv")
        lines = answer.decode().strip().splitlines()
        assert lines[0].strip() == "finding,label" and len(lines) == len(expected) + 1
        assert all(row["finding"]["value"] in line for row, line in zip(expected, lines[1:]))


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("return_format", [JSON, XML, CSV, TSV])
def test_sparqlwrapper_ask(server, method, return_format):
    answer, content_type = converted(wrapper(server, ASK, return_format, method))
    if return_format == JSON:
        assert answer["boolean"] is True
    elif return_format == XML:
        assert bool(ox.parse_query_results(answer.toxml().encode(), ox.QueryResultsFormat.XML)) is True
    else:
        assert content_type.startswith({CSV: "text/csv", TSV: "text/tab-separated-values"}[return_format])
        assert answer.decode().strip().lower().splitlines()[-1] == "true"


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("return_format", [XML, RDFXML, RDF, TURTLE, N3, JSONLD, JSON])
@pytest.mark.parametrize("form", GRAPH_QUERIES)
def test_sparqlwrapper_construct_and_describe(server, store, method, return_format, form):
    """Every return format SPARQLWrapper offers for graphs. It sends its own names in `format` and `output`
    (json-ld and rdf+xml followed by their media types); the answer must be in that format, with no warning."""
    query = GRAPH_QUERIES[form]
    answer, content_type = converted(wrapper(server, query, return_format, method))
    expected_type = {XML: "application/rdf+xml", RDFXML: "application/rdf+xml", RDF: "application/rdf+xml",
                     TURTLE: "text/turtle", N3: "text/n3", JSONLD: "application/ld+json",
                     JSON: "application/ld+json"}[return_format]
    assert content_type.startswith(expected_type)
    if return_format in (TURTLE, N3):
        answer = triples_of(answer, ox.RdfFormat.from_media_type(expected_type))
    assert (answer if isinstance(answer, set) else triples_of(answer)) == expected_triples(store, query)


@pytest.mark.parametrize("method", METHODS)
def test_sparqlwrapper_n_triples_by_content_negotiation(server, store, method):
    """SPARQLWrapper has no N-Triples return format: it is asked for with an Accept header of one's own and
    content negotiation alone (setOnlyConneg, so that no `format` parameter overrides the header)."""
    client = wrapper(server, CONSTRUCT, N3, method)
    client.setOnlyConneg(True)
    client.addCustomHttpHeader("Accept", "application/n-triples")
    answer, content_type = converted(client)
    assert content_type.startswith("application/n-triples")
    assert triples_of(answer) == expected_triples(store, CONSTRUCT)


@pytest.mark.parametrize("method", METHODS)
def test_sparqlwrapper2_bindings(server, store, method):
    """SPARQLWrapper2, its SELECT helper (JSON results as Bindings objects), and its ASK."""
    client = SPARQLWrapper2(server + "/sparql")
    client.setQuery(SELECT)
    if METHODS[method]:
        client.setMethod(POST)
        client.setRequestMethod(METHODS[method])
    bindings = client.query()
    assert bindings.variables == ["finding", "label"]
    assert [(row["finding"].value, row["label"].value) for row in bindings.bindings] == \
           [(row["finding"]["value"], row["label"]["value"]) for row in expected_rows(store, SELECT)]
    client.setQuery(ASK)
    assert client.query().convert()["boolean"] is True


# ---------------------------------------------------------------- rdflib's SPARQLStore


@pytest.mark.parametrize("method", ["GET", "POST", "POST_FORM"])
@pytest.mark.parametrize("return_format", ["xml", "json"])
def test_rdflib_sparqlstore_graph(server, store, method, return_format):
    """An rdflib Graph over SPARQLStore, as users open one: SELECT, ASK and CONSTRUCT by Graph.query, and the
    triple-pattern methods (triples, value, len) that the store turns into queries. With returnFormat "json" its
    Accept header names SPARQL JSON alone, also for a CONSTRUCT: that gets Turtle, the default, not a 406."""
    graph = Graph(SPARQLStore(server + "/sparql", returnFormat=return_format, method=method))
    rows = [tuple(str(term) for term in row) for row in graph.query(SELECT)]
    assert rows == [(row["finding"]["value"], row["label"]["value"]) for row in expected_rows(store, SELECT)]
    assert graph.query(ASK).askAnswer is True
    assert triples_of(graph.query(CONSTRUCT).graph) == expected_triples(store, CONSTRUCT)
    label = graph.value(URIRef(FINDING), URIRef(LABEL))
    assert isinstance(label, Literal) and str(label) == expected_rows(
        store, f"SELECT ?l WHERE {{ <{FINDING}> <{LABEL}> ?l }}")[0]["l"]["value"]
    described = Graph()
    for triple in graph.triples((URIRef(FINDING), None, None)):
        described.add(triple)
    assert triples_of(described) == expected_triples(store, CONSTRUCT)
    count = "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }"
    assert len(graph) == int(expected_rows(store, count)[0]["n"]["value"])


@pytest.mark.parametrize("graph_class", [ConjunctiveGraph, Dataset])
def test_rdflib_sparqlstore_conjunctive_graph_and_dataset(server, store, graph_class):
    """ConjunctiveGraph and Dataset over SPARQLStore: queries run on the endpoint's default graph (the union of
    its named graphs: a Dataset must say default_union=True, or rdflib asks for its own empty default graph,
    urn:x-rdflib:default), and the named graphs it holds are listed."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # ConjunctiveGraph is deprecated in rdflib 7
        graph = graph_class(SPARQLStore(server + "/sparql"))
    graph.default_union = True
    rows = [tuple(str(term) for term in row) for row in graph.query(SELECT)]
    assert rows == [(row["finding"]["value"], row["label"]["value"]) for row in expected_rows(store, SELECT)]
    assert graph.query(ASK).askAnswer is True
    assert triples_of(graph.query(CONSTRUCT).graph) == expected_triples(store, CONSTRUCT)
    # rdflib's Dataset.contexts() adds each graph to the store, which a SPARQLStore refuses (read only): a
    # Dataset's graphs are listed by its store
    contexts = graph.store.contexts() if graph_class is Dataset else graph.contexts()
    names = {str(getattr(context, "identifier", context)) for context in contexts}
    assert {"https://w3id.org/mscev/data/graph/asserted", "https://w3id.org/mscev/data/graph/inferred"} <= names


# ---------------------------------------------------------------- curl-style content negotiation

# A value for each path parameter and required query parameter of the GET routes, by name.
PARAMETER_SAMPLES = {"name": "animal-models", "path": FINDING_PATH[1:], "iri": "MONDO:0005178"}
ACCEPTS = ["*/*", "text/html", "application/json", "text/turtle"]


def get_urls(app) -> list[str]:
    """One URL for every GET route of ``app`` (from its OpenAPI description, plus the documentation pages and a
    static file), its parameters filled from PARAMETER_SAMPLES."""
    urls = ["/docs", "/redoc", "/openapi.json", "/static/style.css", "/sparql?" + urlencode({"query": SELECT})]
    for path, operations in app.openapi()["paths"].items():
        if "get" not in operations:
            continue
        parameters = operations["get"].get("parameters", [])
        for parameter in parameters:
            if parameter["in"] == "path":
                path = path.replace("{" + parameter["name"] + "}", PARAMETER_SAMPLES[parameter["name"]])
        required = {p["name"]: PARAMETER_SAMPLES[p["name"]] for p in parameters
                    if p["in"] == "query" and p.get("required")}
        urls.append(path + ("?" + urlencode(required) if required else ""))
    return urls


def test_head_on_every_get_route(server, built):
    """HEAD answers as GET would, without the body (curl -I, link checkers, caches), on every GET route."""
    urls = get_urls(create_app(Settings(build_dir=built.out)))
    assert {"/sparql", FINDING_PATH, "/resource?iri=MONDO%3A0005178", "/queries/animal-models"} <= set(urls)
    differences = []
    with httpx.Client(base_url=server, timeout=30) as client:
        for url in urls:
            for accept in ACCEPTS:
                got, again = (client.get(url, headers={"Accept": accept}) for _ in range(2))
                head = client.head(url, headers={"Accept": accept})
                # a description with blank nodes (the service description) differs in length from one GET to
                # the next: its Content-Length is compared only when two GETs give the same body
                same_length = got.content == again.content and "content-length" in got.headers
                expected = (got.status_code, got.headers.get("content-type"),
                            got.headers["content-length"] if same_length else None, b"")
                answered = (head.status_code, head.headers.get("content-type"),
                            head.headers.get("content-length") if same_length else None, head.content)
                if answered != expected:
                    differences.append(f"HEAD {url} (Accept: {accept}): {answered}, GET gave {expected}")
    assert differences == []


SELECT_TYPES = {"application/sparql-results+json": ["json", "JSON", "application/json",
                                                    "application/sparql-results+json",
                                                    "application/sparql-results+json; charset=utf-8"],
                "application/sparql-results+xml": ["xml", "sparql", "application/sparql-results+xml",
                                                   "application/xml", "text/xml"],
                "text/csv": ["csv", "text/csv"],
                "text/tab-separated-values": ["tsv", "text/tab-separated-values"]}
GRAPH_TYPES_BY_NAME = {"text/turtle": ["ttl", "turtle", "text", "text/turtle", "application/turtle",
                                       "application/x-turtle"],
                       "text/n3": ["n3", "text/n3", "text/rdf+n3"],
                       "application/n-triples": ["nt", "ntriples", "n-triples", "application/n-triples"],
                       "application/rdf+xml": ["rdfxml", "rdf+xml", "rdf xml", "rdf", "xml", "application/rdf+xml",
                                               "application/rdf xml", "application/xml", "text/xml"],
                       "application/ld+json": ["jsonld", "json-ld", "json", "application/ld+json",
                                               "application/x-json+ld", "application/json"]}
FORMAT_CASES = [(SELECT, name, media_type) for media_type, names in SELECT_TYPES.items() for name in names] + \
               [(CONSTRUCT, name, media_type) for media_type, names in GRAPH_TYPES_BY_NAME.items() for name in names]


@pytest.mark.parametrize("parameter", ["format", "output"])
@pytest.mark.parametrize(("query", "value", "media_type"), FORMAT_CASES,
                         ids=[f"{'select' if q == SELECT else 'construct'}-{v}" for q, v, _ in FORMAT_CASES])
def test_format_and_output_take_names_and_media_types(server, store, parameter, query, value, media_type):
    """`format` (Virtuoso, SPARQLWrapper) and `output` (Fuseki, SPARQLWrapper) take the usual short names and
    media types, whatever the Accept header says; json and xml mean JSON-LD and RDF/XML for a graph (as in
    Fuseki); "rdf xml" is "rdf+xml" as an unencoded URL gives it."""
    response = httpx.get(server + "/sparql", params={"query": query, parameter: value},
                         headers={"Accept": "text/html"}, timeout=30)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith(media_type)
    if query == SELECT and media_type != "text/csv":
        assert answered_rows(response.content, ox.QueryResultsFormat.from_media_type(media_type)) == \
               expected_rows(store, SELECT)
    elif query == CONSTRUCT:
        assert triples_of(response.content, ox.RdfFormat.from_media_type(media_type)) == \
               expected_triples(store, CONSTRUCT)


def test_sparqlwrapper_style_repeated_format_values(server):
    """SPARQLWrapper repeats `format`, `output` and `results`, with its name first and then its Accept header
    (a comma-separated list) or nothing; the first value naming a format for the query's kind wins."""
    cases = [("format=tsv&format=text/tab-separated-values&output=tsv&output=text/tab-separated-values", SELECT,
              "text/tab-separated-values"),
             ("format=json-ld&format=application/ld+json,application/x-json+ld", CONSTRUCT, "application/ld+json"),
             ("format=rdf+xml&format=application/rdf+xml&results=rdf+xml", CONSTRUCT, "application/rdf+xml"),
             ("format=json-ld&format=&output=json-ld&output=", CONSTRUCT, "application/ld+json"),
             ("format=json&output=xml", SELECT, "application/sparql-results+json")]
    for fields, query, media_type in cases:
        url = f"{server}/sparql?{urlencode({'query': query})}&{fields.replace('+', '%2B')}"
        response = httpx.get(url, timeout=30)
        assert response.status_code == 200, (url, response.text)
        assert response.headers["content-type"].startswith(media_type), url


def test_unknown_or_misplaced_formats_are_refused_clearly(server):
    with httpx.Client(base_url=server, timeout=30) as client:
        response = client.get("/sparql", params={"query": SELECT, "output": "thrift"})
        assert response.status_code == 400 and "output='thrift'" in response.text and "jsonld" in response.text
        response = client.get("/sparql", params={"query": SELECT, "format": "ttl"})
        assert response.status_code == 406 and "SELECT or ASK" in response.text
        response = client.get("/sparql", params={"query": CONSTRUCT, "format": "csv"})
        assert response.status_code == 406 and "CONSTRUCT or DESCRIBE" in response.text
        response = client.get(FINDING_PATH, params={"format": "csv"})
        assert response.status_code == 400 and "format='csv'" in response.text


def description_triples(store) -> set:
    """The finding's statements, asserted and inferred: its description leaves out the derived direct statements
    and summaries (mscev.derive), which restate it."""
    derived = {graph.graph for graph in DERIVED_GRAPHS}
    return canonical(ox.Triple(q.subject, q.predicate, q.object)
                     for q in store.quads_for_pattern(ox.NamedNode(FINDING), None, None) if q.graph_name not in derived)


def release_jsonld(triples) -> dict:
    """These triples as the release writes JSON-LD (mscev.export.to_jsonld, compacted with context.jsonld)."""
    graph = Graph().parse(data=ox.serialize(triples, format=ox.RdfFormat.N_TRIPLES), format="nt")
    return json.loads(to_jsonld(graph))


@pytest.mark.parametrize("accept", ["application/ld+json", "application/json", "application/x-json+ld"])
def test_entities_in_json_and_json_ld_are_compacted_like_the_release(server, store, accept):
    response = httpx.get(server + FINDING_PATH, headers={"Accept": accept}, timeout=30)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/ld+json")
    document = response.json()
    assert document["@context"] == jsonld_context()["@context"]
    assert document == release_jsonld(description_triples(store))
    assert triples_of(response.content, ox.RdfFormat.JSON_LD) == description_triples(store)


@pytest.mark.parametrize("form", GRAPH_QUERIES)
def test_graph_answers_in_json_ld_are_compacted_like_the_release(server, store, form):
    query = GRAPH_QUERIES[form]
    response = httpx.get(server + "/sparql", params={"query": query}, headers={"Accept": "application/ld+json"},
                         timeout=30)
    assert response.status_code == 200, response.text
    assert response.json() == release_jsonld(expected_triples(store, query))
    assert "rdfs:label" in response.json() or "rdfs:label" in json.dumps(response.json())


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")
def test_curl(server, store):
    """curl itself, as the README shows it: -I (HEAD), -H Accept on an entity, a query by GET (-G) and by POST
    form (--data-urlencode), with and without a format."""
    def curl(*arguments: str) -> str:
        done = subprocess.run(["curl", "--silent", "--show-error", "--fail", *arguments], capture_output=True,
                              text=True, timeout=60)
        assert done.returncode == 0, done.stderr
        return done.stdout

    headers = curl("-I", server + FINDING_PATH)
    assert headers.startswith("HTTP/1.1 200") and "content-type: text/turtle" in headers.lower()
    document = json.loads(curl("-H", "Accept: application/json", server + FINDING_PATH))
    assert document == release_jsonld(description_triples(store))
    table = json.loads(curl("-G", server + "/sparql", "--data-urlencode", f"query={SELECT}"))
    assert table["results"]["bindings"] == expected_rows(store, SELECT)
    turtle = curl(server + "/sparql", "--data-urlencode", f"query={CONSTRUCT}", "--data", "format=turtle")
    assert triples_of(turtle.encode(), ox.RdfFormat.TURTLE) == expected_triples(store, CONSTRUCT)
    tsv = curl(server + "/sparql", "-H", "Accept: text/tab-separated-values", "--data-urlencode", f"query={SELECT}")
    assert answered_rows(tsv.encode(), ox.QueryResultsFormat.TSV) == expected_rows(store, SELECT)


@pytest.mark.parametrize(("parameter", "value", "media_type"), [
    ("format", "tsv", "text/tab-separated-values"), ("output", "tsv", "text/tab-separated-values"),
    ("format", "application/sparql-results+xml", "application/sparql-results+xml"),
    ("output", "JSON", "application/sparql-results+json")])
def test_stored_queries_take_format_and_output_too(server, parameter, value, media_type):
    response = httpx.get(f"{server}/queries/animal-models", params={parameter: value}, timeout=30)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith(media_type)
