"""`mscev publish` and `mscev query --endpoint`: the client alone, then for real against Virtuoso Open Source.

The server tests start Debian's `virtuoso-t` (package virtuoso-opensource-7-bin, which .ci/run installs) on free
loopback ports with tests/fixtures/virtuoso.ini, publish a release of the session build, run every stored query
there and on the embedded store, and require the same answers. Where Virtuoso 7.2.5 answers wrongly, the run is
listed with the engine bug in tests/fixtures/virtuoso-differences.json and expected to fail (strictly: a run that
starts to pass must leave the list).

Answers are compared as multisets of rows of parsed terms, normalised only where the two engines write the same
value differently:
- numbers by value (50 and 50.0, xsd:integer and xsd:decimal are equal);
- xsd:boolean true/false as 1/0: Virtuoso has no boolean results and writes true as "1"^^xsd:integer;
- language tags without regard to case (BCP 47 tags are case-insensitive);
- blank nodes all alike (their labels are local to one result);
- a GROUP_CONCAT column as the sorted list of its parts (SPARQL leaves their order open).
"""

import contextlib
import csv
import hashlib
import io
import itertools
import json
import re
import shutil
import socket
import subprocess
import threading
import time
from collections import Counter
from decimal import Decimal
from pathlib import Path
from string import Template

import httpx
import pyoxigraph as ox
import pytest

from mscev.cli import main
from mscev.errors import MscevError
from mscev.names import KINDS_DIR, read_kind
from mscev.namespaces import prefix_map
from mscev.query import (ASSERTED_GRAPH, INFERRED_GRAPH, NOT_FROM_BODY_GRAPH, Parameter, bind_parameters, open_store, query_form,
                         run_query, stored_queries, to_term, with_values)
from mscev.remote import (ChallengeAuth, RemoteStore, _valid_blank_nodes, chunk_triples, publish,
                          release_files, release_triples, run_remote_query)

from conftest import FIXTURES, GROUP_CONCAT_COLUMN

QUERIES = stored_queries()
CASES = json.loads((FIXTURES / "query-params.json").read_text(encoding="utf-8"))
RUNS = {**{name: (name, {}) for name in QUERIES}, **{case: (c["query"], c["params"]) for case, c in CASES.items()}}
KNOWN_DIFFERENCES = json.loads((FIXTURES / "virtuoso-differences.json").read_text(encoding="utf-8"))
VIRTUOSO = shutil.which("virtuoso-t")
XSD = "http://www.w3.org/2001/XMLSchema#"
NUMERIC = {XSD + name for name in ("integer", "decimal", "double", "float", "int", "long", "short", "byte",
                                   "nonNegativeInteger", "positiveInteger", "negativeInteger", "nonPositiveInteger",
                                   "unsignedInt", "unsignedLong", "unsignedShort", "unsignedByte")}
HOSTILE = ['"', "'", "\\", '"}', "} UNION { ?s ?p ?o }", '") } UNION { ?finding ?p ?o } #', "x\n}\nSELECT * WHERE {",
           "'; DROP ALL; '", "{{ }}", "\u0000", '"""', 'macrophage" || true || "', "\\u0022 } UNION {", "\\\\u0022",
           "VALUES ?text { \"x\" }", "# comment } {", "\r\n", "\t", "Wharton’s", "µm"]
HOSTILE_IRIS = [*HOSTILE, "<http://example.org/a> } UNION { ?s ?p ?o", "finding:x> . ?s ?p <y",
                "http://example.org/a b", "nosuchprefix:thing"]
STRAY_PUNCTUATION = 'osteoarthritis" }'  # names osteoarthritis (names are compared without punctuation: mscev.names)


# ---------------------------------------------------------------- comparing answers

def term_key(term):
    if term is None:
        return None
    if isinstance(term, ox.NamedNode):
        return ("iri", term.value)
    if isinstance(term, ox.BlankNode):
        return ("blank",)
    datatype = term.datatype.value
    if datatype in NUMERIC:
        return ("number", Decimal(term.value))
    if datatype == XSD + "boolean":
        return ("number", Decimal(1 if term.value in ("true", "1") else 0))
    return ("literal", term.value, term.language.lower() if term.language else None,
            None if term.language else datatype)


def answer(text: str, results) -> tuple[list[str], Counter]:
    """Variables and the multiset of normalised rows of SELECT results (or of the triples of graph results) of the
    query ``text``."""
    if isinstance(results, ox.QueryTriples):
        return [], Counter((term_key(t.subject), term_key(t.predicate), term_key(t.object)) for t in results)
    separators = {name: separator for separator, name in GROUP_CONCAT_COLUMN.findall(text)}
    variables = [variable.value for variable in results.variables]
    rows = Counter()
    for solution in results:
        row = []
        for name in variables:
            key = term_key(solution[name])
            if name in separators and key is not None:
                key = ("list", tuple(sorted(key[1].split(separators[name]))))
            row.append(key)
        rows[tuple(row)] += 1
    return variables, rows


def assert_same_answer(actual, expected, what):
    (variables, rows), (expected_variables, expected_rows) = actual, expected
    assert variables == expected_variables, what
    missing, extra = expected_rows - rows, rows - expected_rows
    assert not missing and not extra, (f"{what}: {sum(rows.values())} rows instead of {sum(expected_rows.values())}; "
                                       f"missing {list(missing)[:3]}, extra {list(extra)[:3]}")


@pytest.fixture(scope="module")
def store(built):
    return open_store(built.out)


# ---------------------------------------------------------------- parameters as a VALUES block (no server)

@pytest.mark.parametrize("run", sorted(run for run, (name, params) in RUNS.items() if QUERIES[name].parameters))
def test_values_block_binds_as_substitutions_do(run, store):
    """The text sent to an endpoint, run on the embedded store, answers exactly as the local binding does."""
    name, params = RUNS[run]
    query = QUERIES[name]
    bindings = bind_parameters(query, params, store)
    text = with_values(query.text, list(bindings), [tuple(bindings.values())])
    sent = store.query(text, prefixes=prefix_map(), use_default_graph_as_union=True)
    assert_same_answer(answer(query.text, sent), answer(query.text, run_query(query, params, store=store)), run)


SMALL_GRAPH = b"""
<http://example.org/a> <http://example.org/p> "one" .
<http://example.org/b> <http://example.org/p> "two" .
<http://example.org/a> <http://example.org/q> <http://example.org/b> .
"""
GROUPS = {  # query text; the bound variable ?x is <http://example.org/a>
    "filter-only": "SELECT ?x ?v WHERE { ?s <http://example.org/p> ?v FILTER(?s = ?x) }",
    "braces-in-strings-comments-iris": '# a { comment } WHERE {\nPREFIX e: <http://example.org/#WHERE>\n'
                                       'SELECT ?x ?v ?t WHERE { # } {\n ?x <http://example.org/p> ?v '
                                       'BIND("} { \\" WHERE {" AS ?t) BIND(\'\'\'}\n{\'\'\' AS ?u) }',
    "no-where-keyword": "SELECT * { ?x <http://example.org/p> ?v }",
    "exists-in-projection": "SELECT ?x (EXISTS { ?x <http://example.org/q> ?o } AS ?linked) "
                            "WHERE { ?x <http://example.org/p> ?v }",
    "sub-select-group": "SELECT ?x ?v WHERE { SELECT ?x ?v WHERE { ?x <http://example.org/p> ?v } }",
    "construct-template": "CONSTRUCT { ?x <http://example.org/r> ?v } WHERE { ?x <http://example.org/p> ?v }",
    "ask": "ASK { ?x <http://example.org/q> ?o }",
    "trailing-values-elsewhere": "SELECT ?x ?v WHERE { ?s <http://example.org/p> ?v FILTER(?s = ?x) } "
                                 "VALUES ?v { \"one\" \"two\" }",
}


@pytest.mark.parametrize("name", sorted(GROUPS))
def test_values_block_goes_first_in_the_where_group(name):
    """Braces in strings, comments and IRIs, templates and sub-selects do not mislead the placement; a parameter
    used only in a FILTER is bound there (a trailing VALUES clause would join after the filter: no rows)."""
    graph = ox.Store()
    graph.load(SMALL_GRAPH, format=ox.RdfFormat.N_TRIPLES)
    text, x = GROUPS[name], ox.NamedNode("http://example.org/a")
    expected = graph.query(text, substitutions={ox.Variable("x"): x})
    sent = with_values(text, [ox.Variable("x")], [(x,)])
    assert sent.count("\n") == text.count("\n")
    actual = graph.query(sent)
    if isinstance(expected, ox.QueryBoolean):
        assert bool(actual) == bool(expected) is True
        return
    expected_answer = answer(text, expected)
    assert answer(text, actual) == expected_answer and expected_answer[1]


@pytest.mark.parametrize("value", HOSTILE, ids=range(len(HOSTILE)))
def test_hostile_literal_arrives_as_one_term(value):
    """A value is written as an N-Triples term: whatever it holds, the query sees exactly that string."""
    term = to_term(Parameter("text", "literal", None, ""), value, None)
    text = with_values("SELECT ?text (STRLEN(?text) AS ?length) WHERE { }", [ox.Variable("text")], [(term,)])
    [row] = list(ox.Store().query(text))
    assert row["text"].value == value and int(row["length"].value) == len(value)


def test_blank_nodes_are_refused_as_values():
    with pytest.raises(MscevError, match="only IRIs and literals"):
        with_values("SELECT ?x WHERE { }", [ox.Variable("x")], [(ox.BlankNode(),)])


@pytest.mark.parametrize("text, form", [("# SELECT\nPREFIX a: <http://x/select>\nconstruct { } WHERE { }", "CONSTRUCT"),
                                        ("ASK {}", "ASK"), ("DESCRIBE <http://x>", "DESCRIBE"),
                                        ('SELECT ("ASK" AS ?x) {}', "SELECT")])
def test_query_form_reads_past_comments_and_iris(text, form):
    assert query_form(text) == form


def test_virtuoso_blank_node_labels_are_made_valid():
    content = json.dumps({"head": {"vars": ["s", "o"]}, "results": {"bindings": [
        {"s": {"type": "bnode", "value": "nodeID://b10000"}, "o": {"type": "bnode", "value": "nodeID://b10001"}},
        {"s": {"type": "bnode", "value": "nodeID://b10000"}}]}}).encode()
    rows = list(ox.parse_query_results(_valid_blank_nodes(content), format=ox.QueryResultsFormat.JSON))
    assert rows[0]["s"] == rows[1]["s"] != rows[0]["o"]


# ---------------------------------------------------------------- chunks, release files, authentication (no server)

def _blank_graph() -> list[ox.Triple]:
    """Plain triples between structures linked by blank nodes: a list, a chain reached from its end, a pair."""
    iri, blank, p = ox.NamedNode, ox.BlankNode, ox.NamedNode("http://example.org/p")
    b = [blank(f"b{i}") for i in range(8)]
    linked = [ox.Triple(b[0], p, b[1]), ox.Triple(b[1], p, b[2]), ox.Triple(b[2], p, ox.Literal("end")),
              ox.Triple(iri("http://example.org/s"), p, b[3]), ox.Triple(b[4], p, b[3]), ox.Triple(b[5], p, b[4]),
              ox.Triple(b[6], p, b[7]), ox.Triple(b[7], p, ox.Literal("x"))]
    plain = [ox.Triple(iri(f"http://example.org/n{i}"), p, ox.Literal(str(i))) for i in range(10)]
    return [triple for pair in zip(plain, linked + [None] * 2) for triple in pair if triple is not None]


@pytest.mark.parametrize("size", [1, 2, 3, 5, 100])
def test_chunks_never_split_blank_node_structures(size):
    triples = _blank_graph()
    chunks = list(chunk_triples(iter(triples), size))
    assert Counter(t for chunk in chunks for t in chunk) == Counter(triples)
    owner = {}
    for number, chunk in enumerate(chunks):
        for triple in chunk:
            for term in (triple.subject, triple.object):
                if isinstance(term, ox.BlankNode):
                    assert owner.setdefault(term, number) == number, f"{term} split across chunks"
    for chunk in chunks:  # a chunk larger than asked for is one structure that cannot be split
        assert len(chunk) <= size or _structures(chunk) == 1, chunk


def _structures(triples) -> int:
    """How many structures (sets of triples linked through blank nodes) the triples make, a plain triple being one."""
    structures: list[set] = []
    for triple in triples:
        blanks = {t for t in (triple.subject, triple.object) if isinstance(t, ox.BlankNode)} or {triple}
        linked = [s for s in structures if s & blanks]
        for s in linked:
            structures.remove(s)
        structures.append(blanks.union(*linked))
    return len(structures)


def test_chunk_size_must_be_positive():
    with pytest.raises(MscevError, match="--chunk 0"):
        list(chunk_triples(iter(_blank_graph()), 0))


def _fake_release(folder: Path, asserted: bytes, inferred: bytes = b"") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    files = {"mscev.nt": asserted, "mscev-inferred.nt": inferred, "mscev-derived.nt": b""}
    for name, data in files.items():
        (folder / name).write_bytes(data)
    (folder / "SHA256SUMS").write_text("".join(f"{hashlib.sha256(data).hexdigest()}  {name}\n"
                                               for name, data in files.items()), encoding="utf-8")
    return folder


def test_release_files_are_checked_against_their_checksums(tmp_path):
    release = _fake_release(tmp_path / "release", b'<http://example.org/a> <http://example.org/p> "x" .\n')
    assert [path.name for path in release_files(release)] == ["mscev.nt", "mscev-inferred.nt", "mscev-derived.nt"]
    (release / "mscev.nt").write_bytes(b'<http://example.org/a> <http://example.org/p> "y" .\n')
    with pytest.raises(MscevError, match="mscev.nt: its checksum differs from SHA256SUMS"):
        release_files(release)
    (release / "mscev-inferred.nt").unlink()
    with pytest.raises(MscevError, match="no mscev-inferred.nt here: write a release with `mscev release`"):
        release_files(release)


@pytest.mark.parametrize("scheme", ["Basic", "Digest"])
def test_authentication_answers_the_scheme_the_server_asks_for(scheme):
    seen = []

    def server(request: httpx.Request) -> httpx.Response:
        header = request.headers.get("authorization", "")
        seen.append(header.split(" ", 1)[0])
        if header.startswith(scheme + " "):
            return httpx.Response(200)
        challenge = f'{scheme} realm="SPARQL"' + (', nonce="abc", qop="auth", algorithm="MD5"' if scheme == "Digest" else "")
        return httpx.Response(401, headers={"WWW-Authenticate": challenge})

    with httpx.Client(auth=ChallengeAuth("dba", "secret"), transport=httpx.MockTransport(server)) as client:
        assert client.put("http://127.0.0.1/store", content=b"x").status_code == 200
        assert client.post("http://127.0.0.1/store", content=b"y").status_code == 200
    assert seen[0] == "" and seen[-2:] == [scheme, scheme]  # asked once; the second request is answered at once


@pytest.mark.parametrize("response, message", [
    (httpx.Response(200, headers={"X-SQL-State": "S1TAT", "X-SQL-Message": "RC...: Returning incomplete results",
                                  "Content-Type": "application/sparql-results+json"},
                    content=b'{"head": {"vars": []}, "results": {"bindings": []}}'),
     "returned incomplete results (RC...: Returning incomplete results); raise its time limit"),
    # Virtuoso 7.2 (07.20.3229) answers a SELECT that reaches ResultSetMaxRows with that many rows, status 200 and
    # only this header to say so (seen with ResultSetMaxRows = 10 on the release of the curated graph)
    (httpx.Response(200, headers={"X-SPARQL-MaxRows": "10", "Content-Type": "application/sparql-results+json"},
                    content=b'{"head": {"vars": ["findings"]}, "results": {"bindings": ['
                            + b",".join([b'{"findings": {"type": "literal", "value": "1"}}'] * 10) + b"]}}"),
     "stopped at its limit of 10 rows, so the answer may be cut short; ask for fewer rows at a time (--limit below "
     "10, with --offset) or raise that limit (Virtuoso: ResultSetMaxRows"),
    (httpx.Response(400, headers={"Content-Type": "text/plain"},
                    text="Virtuoso 37000 Error SP030: syntax error at 'SELEC'\n\nSPARQL query:\nSELEC oops"),
     "query graph-summary failed (HTTP 400): Virtuoso 37000 Error SP030: syntax error at 'SELEC'"),
    (httpx.Response(403, headers={"Content-Type": "text/html"}, text="<h1>Forbidden</h1>"),
     "query graph-summary was refused (HTTP 403): give --user and --password"),
    (httpx.Response(200, headers={"Content-Type": "text/html"}, text="<html>a login page</html>"),
     "unexpected answer of type text/html to query graph-summary"),
])
def test_server_failures_become_clear_errors(response, message):
    """An answer cut short by the server's time or row limit is refused rather than shown as the answer; a
    server's error keeps its first paragraph (servers echo the query after it)."""
    with RemoteStore("http://127.0.0.1:1/sparql") as endpoint:
        endpoint.client = httpx.Client(transport=httpx.MockTransport(lambda request: response))
        with pytest.raises(MscevError) as refused:
            run_remote_query("graph-summary", {}, endpoint)
    assert message in str(refused.value) and "SPARQL query" not in str(refused.value)


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.mark.parametrize("args, message", [
    (["query", "graph-summary", "--endpoint", "http://127.0.0.1:{port}/sparql"], "is the server running"),
    (["query", "graph-summary", "--endpoint", "ftp://127.0.0.1/sparql"], "give an http:// or https:// URL"),
    (["query", "graph-summary", "--endpoint", "http://127.0.0.1:{port}/sparql", "--asserted-only"],
     "holds asserted and inferred triples together"),
    (["query", "graph-summary", "--endpoint", "http://127.0.0.1:{port}/sparql", "--graph", "not an iri"],
     "--graph 'not an iri': not an IRI"),
    (["query", "graph-summary", "--endpoint", "http://127.0.0.1:{port}/sparql", "--user", "dba"],
     "give both --user and --password"),
    (["publish", "--endpoint", "http://127.0.0.1:{port}/store", "--release", "{tmp}/none"], "no mscev.nt"),
])
def test_command_errors_exit_2(args, message, tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("MSCEV_PASSWORD", raising=False)
    port = _closed_port()
    assert main([arg.format(port=port, tmp=tmp_path) for arg in args]) == 2
    assert message in capsys.readouterr().err.replace("\n", " ")


def test_a_password_in_the_endpoint_url_is_never_shown(tmp_path, capsys, monkeypatch):
    """Issue 14, defect 13: `mscev publish` printed the password of http://user:password@host/ in its errors."""
    monkeypatch.delenv("MSCEV_PASSWORD", raising=False)
    release = _fake_release(tmp_path / "release", b'<http://example.org/a> <http://example.org/p> "x" .\n')
    endpoint = f"http://dba:s3cret-pw@127.0.0.1:{_closed_port()}/store"
    assert main(["publish", "--endpoint", endpoint, "--release", str(release)]) == 2
    assert main(["query", "graph-summary", "--endpoint", endpoint.replace("/store", "/sparql")]) == 2
    assert main(["publish", "--endpoint", "ftp://dba:s3cret-pw@127.0.0.1/store", "--release", str(release)]) == 2
    shown = capsys.readouterr()
    assert "s3cret-pw" not in shown.out + shown.err
    assert "dba:***@127.0.0.1" in shown.err.replace("\n", "")


@contextlib.contextmanager
def _trickling_server():
    """A loopback server that answers every request one byte every 0.2 s, for ever: no read ever times out."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    listener.settimeout(0.2)
    stop = threading.Event()

    def serve():
        while not stop.is_set():
            try:
                connection, _ = listener.accept()
            except TimeoutError:
                continue
            with connection:
                connection.settimeout(30)
                try:
                    connection.recv(65536)
                    for byte in itertools.cycle(b"HTTP/1.1 200 OK\r\nX-Slow: "):
                        if stop.wait(0.2):
                            break
                        connection.sendall(bytes([byte]))
                except OSError:
                    pass

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}/store"
    finally:
        stop.set()
        thread.join(5)
        listener.close()


def test_publish_ends_at_its_overall_time_limit_against_a_trickling_server(tmp_path):
    """Issue 14, defect 13: a server answering one byte at a time held `mscev publish` for ever."""
    release = _fake_release(tmp_path / "release", b'<http://example.org/a> <http://example.org/p> "x" .\n')
    with _trickling_server() as endpoint:
        began = time.monotonic()
        with pytest.raises(MscevError, match="no complete answer within 2 s"):
            publish(endpoint, release, timeout=2)
        assert time.monotonic() - began < 6


# ---------------------------------------------------------------- against Virtuoso Open Source

class Virtuoso:
    """virtuoso-t in the foreground, in a temporary folder, on free loopback ports."""

    def __init__(self, folder: Path):
        ports = []
        for _ in range(2):
            with socket.socket() as probe:
                probe.bind(("127.0.0.1", 0))
                ports.append(probe.getsockname()[1])
        self.folder, self.base = folder, f"http://127.0.0.1:{ports[1]}"
        self.sparql, self.graph_store = f"{self.base}/sparql", f"{self.base}/sparql-graph-crud-auth"
        template = Template((FIXTURES / "virtuoso.ini").read_text(encoding="utf-8"))
        ini = folder / "virtuoso.ini"
        ini.write_text(template.substitute(dir=folder, sql_port=ports[0], http_port=ports[1]), encoding="utf-8")
        self.output = (folder / "virtuoso-t.out").open("wb")
        self.process = subprocess.Popen([VIRTUOSO, "-f", "-c", str(ini)], cwd=folder, stdout=self.output,
                                        stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        self.online = False

    def wait_until_online(self, timeout: float = 90.0) -> None:
        deadline = time.monotonic() + timeout
        while not self.online:
            if self.process.poll() is not None:
                pytest.fail(f"virtuoso-t stopped (exit {self.process.returncode}):\n{self.log()}")
            if time.monotonic() > deadline:
                pytest.fail(f"virtuoso-t not online after {timeout:.0f} s:\n{self.log()}")
            try:
                self.online = httpx.get(self.sparql, params={"query": "ASK {}"}, timeout=5).status_code == 200
            except httpx.TransportError:
                time.sleep(0.5)

    def log(self) -> str:
        path = self.folder / "virtuoso.log"
        return path.read_text(encoding="utf-8", errors="replace")[-3000:] if path.is_file() else "(no log)"

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.output.close()


@pytest.fixture(scope="module")
def virtuoso(tmp_path_factory):
    """Started first, so that it comes online while the release is written."""
    server = Virtuoso(tmp_path_factory.mktemp("virtuoso"))
    yield server
    server.stop()


@pytest.fixture(scope="module")
def release(virtuoso, built, tmp_path_factory) -> Path:
    from mscev.release import write_release

    out = tmp_path_factory.mktemp("remote-release") / "release"
    write_release(built.out, out)
    return out


@pytest.fixture(scope="module")
def published(virtuoso, release):
    virtuoso.wait_until_online()
    return publish(virtuoso.graph_store, release, user="dba", password="dba", chunk=1000)


@pytest.fixture(scope="module")
def remote(virtuoso, published):
    with RemoteStore(virtuoso.sparql) as endpoint:
        yield endpoint


@pytest.mark.slow
@pytest.mark.virtuoso
def test_published_graph_is_the_built_graph(published, release, remote, store):
    """Asserted and inferred triples, blank nodes included, arrive whole: the graph on the server is isomorphic to
    the union the embedded store queries (the asserted values not from the body text, kept in a graph of their own
    in the store, included: the release, like graph.nt, holds them with the other asserted triples; and the direct
    statements and summaries, which the release carries in mscev-derived.nt)."""
    from rdflib import Graph

    from mscev.derive import DERIVED_GRAPHS
    from rdflib.compare import isomorphic

    lines = sum(path.read_bytes().count(b"\n") for path in release_files(release))
    assert published.triples == lines and published.chunks >= lines / 1000
    local = [ox.Triple(q.subject, q.predicate, q.object)
             for graph in (ASSERTED_GRAPH, NOT_FROM_BODY_GRAPH, INFERRED_GRAPH, *(d.graph for d in DERIVED_GRAPHS))
             for q in store.quads_for_pattern(None, None, None, graph)]
    theirs = list(remote.query("CONSTRUCT WHERE { ?s ?p ?o }"))
    assert len(theirs) == len(set(local))
    as_rdflib = [Graph().parse(data=ox.serialize(triples, format=ox.RdfFormat.N_TRIPLES).decode("utf-8"), format="nt")
                 for triples in (local, theirs)]
    assert isomorphic(*as_rdflib)


@pytest.mark.slow
@pytest.mark.virtuoso
def test_publishing_again_replaces_the_graph(virtuoso, published, release, tmp_path):
    """The first chunk is PUT: publishing twice leaves one copy, and a smaller release replaces a larger one."""
    count = "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }"
    with RemoteStore(virtuoso.sparql) as endpoint:
        again = publish(virtuoso.graph_store, release, user="dba", password="dba")
        assert again.triples == published.triples == int(next(iter(endpoint.query(count)))["n"].value)
    graph = "https://example.org/test/replaced"
    small = _fake_release(tmp_path / "small", b"".join(b'<http://example.org/a> <http://example.org/p> "%d" .\n' % i
                                                       for i in range(5)), b"_:b <http://example.org/p> _:c .\n")
    smaller = _fake_release(tmp_path / "smaller", b'<http://example.org/z> <http://example.org/p> "z" .\n')
    with RemoteStore(virtuoso.sparql, graph) as endpoint:
        for folder, expected in ((small, 6), (small, 6), (smaller, 1)):
            publish(virtuoso.graph_store, folder, graph, user="dba", password="dba", chunk=2)
            assert int(next(iter(endpoint.query(count)))["n"].value) == expected
        [row] = list(endpoint.query("SELECT ?s WHERE { ?s ?p ?o }"))
        assert row["s"].value == "http://example.org/z"


@pytest.mark.slow
@pytest.mark.virtuoso
@pytest.mark.parametrize("run", [pytest.param(run, marks=pytest.mark.xfail(reason=KNOWN_DIFFERENCES[run], strict=True))
                                 if run in KNOWN_DIFFERENCES else run for run in sorted(RUNS)])
def test_same_answers_as_the_embedded_store(run, remote, store):
    name, params = RUNS[run]
    query = QUERIES[name]
    assert_same_answer(answer(query.text, run_remote_query(query, params, remote)),
                       answer(query.text, run_query(query, params, store=store)), f"{run} on Virtuoso")


@pytest.mark.slow
@pytest.mark.virtuoso
def test_a_long_page_of_a_numbered_listing_on_the_endpoint(remote, store, virtuoso, tmp_path):
    """A page of findings longer than PAGE_ROWS is read PAGE_ROWS row numbers a request, as on the embedded store
    (LIMIT 1000 OFFSET 50000 of the whole query failed on Virtuoso at 100,000 findings): the same rows in the same
    order."""
    from mscev.query import PAGE_ROWS

    findings = QUERIES["findings"]
    limit = PAGE_ROWS + 50

    def keyed(results):
        names = [v.value for v in results.variables]
        return [tuple(tuple(sorted(row[name].value.split("; "))) if row[name] else None for name in names)
                for row in results]

    local = keyed(run_query(findings, store=store, limit=limit, offset=10))
    assert len(local) == limit
    assert keyed(run_remote_query(findings, {}, remote, limit=limit, offset=10)) == local
    # and through `mscev query`, which read the pages after it had closed its connection to the endpoint
    page = tmp_path / "page.csv"
    assert main(["query", "findings", "--endpoint", virtuoso.sparql, "--limit", str(limit), "--offset", "10",
                 "-f", "srcsv", "--out", str(page)]) == 0
    assert len(list(csv.reader(io.StringIO(page.read_text(encoding="utf-8"))))) == limit + 1


@pytest.mark.slow
@pytest.mark.virtuoso
@pytest.mark.parametrize("kind", sorted(path.stem for path in KINDS_DIR.glob("*.rq")))
def test_kinds_list_the_same_terms_on_the_endpoint(kind, remote, store):
    """A kind (queries/kinds/) lists the same terms on the endpoint as on the embedded store, so a name resolves
    alike on both (Virtuoso took the VALUES block of the source kind's first UNION branch for the whole group)."""
    select = read_kind(kind).select
    terms = [{row["term"] for row in where.query(select, prefixes=prefix_map(), use_default_graph_as_union=True)
              if isinstance(row["term"], ox.NamedNode)}  # as mscev.names reads them (a blank node has no name)
             for where in (remote, store)]
    assert terms[0] == terms[1] and terms[1], kind


def test_known_differences_name_existing_runs():
    assert set(KNOWN_DIFFERENCES) <= set(RUNS), "tests/fixtures/virtuoso-differences.json names an unknown run"


@pytest.mark.slow
@pytest.mark.virtuoso
def test_hostile_values_on_the_endpoint(remote, store):
    """Hostile text finds exactly what it finds locally; hostile IRI values are refused, as locally; a name with stray
    punctuation binds the term it names, as locally (tests/test_query.py)."""
    search = QUERIES["search"]
    for value in HOSTILE:
        assert_same_answer(answer(search.text, run_remote_query(search, {"text": value}, remote)),
                           answer(search.text, run_query(search, {"text": value}, store=store)), repr(value))
    for value in HOSTILE_IRIS:
        with pytest.raises(MscevError, match="--param condition="):
            run_remote_query("sources-by-condition", {"condition": value}, remote)
    by_condition, params = QUERIES["sources-by-condition"], {"condition": STRAY_PUNCTUATION}
    local = answer(by_condition.text, run_query(by_condition, params, store=store))
    assert_same_answer(answer(by_condition.text, run_remote_query(by_condition, params, remote)), local,
                       repr(STRAY_PUNCTUATION))
    variables, rows = local
    assert rows and {row[variables.index("condition")] for row in rows} == {
        ("iri", "http://purl.obolibrary.org/obo/MONDO_0005178")}


@pytest.mark.slow
@pytest.mark.virtuoso
@pytest.mark.xfail(strict=True, reason="Virtuoso 7.2.5: CONTAINS(LCASE(STR(?quote)), STR(?text)) misses a non-Latin-1 "
                                       "character (here α) of a value bound by VALUES, though it finds it written "
                                       "in the query")
def test_non_latin_search_text_on_the_endpoint(remote, store):
    search = QUERIES["search"]
    assert_same_answer(answer(search.text, run_remote_query(search, {"text": "α"}, remote)),
                       answer(search.text, run_query(search, {"text": "α"}, store=store)), "α")


@pytest.mark.slow
@pytest.mark.virtuoso
def test_labels_resolve_on_the_endpoint(remote, store):
    condition = Parameter("condition", "iri", None, "")
    assert to_term(condition, "OSTEOARTHRITIS", remote) == to_term(condition, "osteoarthritis", store)
    shared = next(iter(store.query(
        "SELECT ?label WHERE { ?a <http://www.w3.org/2000/01/rdf-schema#label> ?label . "
        "?b <http://www.w3.org/2000/01/rdf-schema#label> ?label . FILTER(isIRI(?a) && isIRI(?b) && ?a != ?b) } LIMIT 1",
        use_default_graph_as_union=True)))["label"].value
    messages = []
    for where in (remote, store):
        with pytest.raises(MscevError, match="ambiguous") as refused:
            to_term(condition, shared, where)
        messages.append(str(refused.value))
    assert messages[0] == messages[1]
    for where in (remote, store):
        with pytest.raises(MscevError, match="Closest terms: .*osteoarthritis") as refused:
            to_term(condition, "steoarthr", where)
        messages.append(str(refused.value))
    assert messages[2] == messages[3]


@pytest.mark.slow
@pytest.mark.virtuoso
def test_publish_command(virtuoso, published, release, capsys, monkeypatch):
    monkeypatch.setenv("MSCEV_PASSWORD", "dba")
    assert main(["publish", "--endpoint", virtuoso.graph_store, "--release", str(release), "--user", "dba",
                 "--chunk", "4000"]) == 0
    text = capsys.readouterr().out
    chunks = len(list(chunk_triples(release_triples(release_files(release)), 4000)))
    assert f"{published.triples:,}" in text and re.search(rf"requests \(chunks\)\s*│\s*{chunks} ", text)
    assert main(["publish", "--endpoint", virtuoso.graph_store, "--release", str(release), "--user", "dba",
                 "--password", "wrong"]) == 2
    assert "was refused (HTTP 401): check --user and --password" in capsys.readouterr().err.replace("\n", " ")


@pytest.mark.slow
@pytest.mark.virtuoso
@pytest.mark.parametrize("args", [["mechanism-chains"], ["reference", "-p", "number=35", "--ids"],
                                  ["source-overview", "-f", "csv"],
                                  ["evidence", "-p", "finding=finding:ref35-treg-retention", "-f", "tsv"]])
def test_query_command_prints_the_same_on_the_endpoint(args, virtuoso, remote, built, tmp_path):
    """The same table (labels fetched from the server) or file (CSV and TSV with their label columns), line for
    line; rows may come in another order where the query leaves ties. (Queries without GROUP_CONCAT lists, whose
    parts may come in any order.) A table's caption differs in one thing: the build's summary names the reasoner,
    an endpoint has no summary, so its caption says the inferences are those published there."""
    files = [tmp_path / "local.txt", tmp_path / "remote.txt"]
    assert main(["query", *args, "--build", str(built.out), "--out", str(files[0])]) == 0
    assert main(["query", *args, "--endpoint", virtuoso.sparql, "--out", str(files[1])]) == 0
    (local, local_caption), (theirs, their_caption) = (_table_and_caption(path.read_text(encoding="utf-8"))
                                                       for path in files)
    assert sorted(theirs) == sorted(local)
    if "-f" not in args:
        reasoner = json.loads((built.out / "summary.json").read_text(encoding="utf-8"))["reasoner"]
        rows = local_caption.partition(" · ")[0]
        assert local_caption == f"{rows} · inferences: {reasoner}"
        assert their_caption == f"{rows} · inferences: as published in {remote.graph} at {virtuoso.sparql}"


def _table_and_caption(text: str) -> tuple[list[str], str]:
    """The lines of a table (to its bottom border) and its caption as one line; a file's lines and no caption."""
    lines = text.splitlines()
    bottom = max((number for number, line in enumerate(lines) if line.startswith("└")), default=None)
    if bottom is None:
        return lines, ""
    return lines[:bottom + 1], " ".join(" ".join(lines[bottom + 1:]).split())
