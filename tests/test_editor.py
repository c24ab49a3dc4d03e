"""The SPARQL page's editor and /docs, in process: the vendored files are the ones recorded, the pages load
them from this server, the editor is handed the project's prefixes, the stored queries as examples (each
answering as /queries/NAME does) and the graph's classes and properties; syntax errors read as sentences.
tests/test_browser.py drives the same pages in Chromium."""

import hashlib
import json
import re
from html.parser import HTMLParser
from pathlib import Path

import pyoxigraph as ox
import pytest
from fastapi.testclient import TestClient

from mscev.namespaces import prefix_map
from mscev.query import stored_queries
from mscev.serve import Settings, create_app
from mscev.web.messages import syntax_error_message

VENDOR = Path(__file__).parent.parent / "src" / "mscev" / "web" / "static" / "vendor"
JSON_RESULTS = "application/sparql-results+json"


@pytest.fixture(scope="module")
def client(built):
    with TestClient(create_app(Settings(build_dir=built.out, workers=1, timeout=60))) as test_client:
        yield test_client


class Assets(HTMLParser):
    """The URLs a page loads by itself: scripts, style sheets, icons, images."""

    def __init__(self):
        super().__init__()
        self.urls = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag in ("script", "img") and attrs.get("src"):
            self.urls.append(attrs["src"])
        if tag == "link" and attrs.get("href"):
            self.urls.append(attrs["href"])


def assets(page: str) -> list[str]:
    parser = Assets()
    parser.feed(page)
    return parser.urls


def editor_config(page: str) -> dict:
    return json.loads(re.search(r'<script type="application/json" id="editor-config">(.*?)</script>', page,
                                re.DOTALL)[1])


def test_vendored_files_are_the_recorded_ones():
    record = (VENDOR / "VENDORED.md").read_text(encoding="utf-8")
    listed = {}
    for section in record.split("\n## ")[1:]:
        folder = section.split("/:", 1)[0]
        listed.update({f"{folder}/{name}": digest for name, digest in re.findall(r"^\| (\S+) \| `([0-9a-f]{64})` \|$",
                                                                              section, re.MULTILINE)})
    present = {str(path.relative_to(VENDOR)) for path in VENDOR.rglob("*") if path.is_file()} - {"VENDORED.md"}
    assert {"yasgui/yasgui.min.js", "yasgui/yasgui.min.css", "swagger-ui/swagger-ui-bundle.js"} <= set(listed)
    for name, digest in listed.items():
        assert hashlib.sha256((VENDOR / name).read_bytes()).hexdigest() == digest, name
    # every other file is a licence kept by hand, which the record names
    assert present - set(listed) == {"yasgui/LICENSE"} and "LICENSE is the MIT licence" in record


@pytest.mark.parametrize("path", ["/sparql", "/docs"])
def test_pages_load_their_scripts_and_styles_from_this_server(client, path):
    page = client.get(path, headers={"Accept": "text/html"})
    assert page.status_code == 200
    urls = assets(page.text)
    assert any(url.endswith(".js") for url in urls) and any(url.endswith(".css") for url in urls)
    for url in urls:
        assert url.startswith("/") and not url.startswith("//"), url
        assert client.get(url).status_code == 200, url
    assert "cdn." not in page.text and "https://" not in "".join(urls)


def test_redoc_is_not_served(client):
    """FastAPI's /redoc loads ReDoc from a CDN: it is turned off rather than left blank offline."""
    assert client.get("/redoc", headers={"Accept": "text/html"}).status_code == 404


def test_editor_gets_prefixes_vocabulary_and_the_stored_queries(client, store):
    config = editor_config(client.get("/sparql", headers={"Accept": "text/html"}).text)
    assert config["endpoint"] == "/sparql" and config["prefixes"] == prefix_map()
    assert [example["name"] for example in config["examples"]] == ["example", *stored_queries()]
    assert "https://w3id.org/mscev/Finding" in config["classes"]
    assert "https://w3id.org/mscev/condition" in config["properties"]
    declared = {str(row["t"].value) for row in store.query(
        "SELECT ?t WHERE { ?t a <http://www.w3.org/2002/07/owl#ObjectProperty> FILTER(isIRI(?t)) }",
        use_default_graph_as_union=True)}
    assert declared <= set(config["properties"])


@pytest.fixture(scope="module")
def store(built):
    from mscev.query import open_store

    return open_store(built.out)


def test_every_example_answers_as_its_stored_query(client):
    """An example is the stored query with its parameters bound to their defaults: sent to /sparql as it stands
    in the editor, it answers what /queries/NAME answers."""
    examples = editor_config(client.get("/sparql", headers={"Accept": "text/html"}).text)["examples"]
    for example in examples[1:]:
        edited = client.post("/sparql", data={"query": example["text"]}, headers={"Accept": JSON_RESULTS})
        stored = client.get(f"/queries/{example['name']}", headers={"Accept": JSON_RESULTS})
        assert edited.status_code == stored.status_code == 200, (example["name"], edited.text[:300])
        assert rows(edited.content) == rows(stored.content), example["name"]


def rows(body: bytes) -> list[str]:
    """The rows of an answer, comparable: in order, and each GROUP_CONCAT ("; "-separated) sorted, since
    pyoxigraph concatenates in an order that changes from one process to another."""
    results = ox.parse_query_results(body, ox.QueryResultsFormat.JSON)
    if isinstance(results, ox.QueryBoolean):
        return [str(bool(results))]
    def comparable(term) -> str:
        kind = term.datatype.value if isinstance(term, ox.Literal) else type(term).__name__
        return f"{kind} {'; '.join(sorted(term.value.split('; ')))}"

    return sorted(json.dumps({v.value: comparable(s[v]) for v in results.variables if s[v] is not None},
                             sort_keys=True) for s in results)


def test_the_form_works_without_javascript(client):
    """The page's fallback: a GET form whose answer the server renders itself."""
    page = client.get("/sparql", params={"query": "SELECT ?c WHERE { ?c a <https://w3id.org/mscev/Finding> } LIMIT 3"},
                      headers={"Accept": "text/html"}).text
    assert 'id="sparql-form"' in page and page.count("<tr>") == 4


# ---------------------------------------------------------------- syntax errors


def pyoxigraph_error(query: str) -> str:
    with pytest.raises(SyntaxError) as caught:
        ox.Store().query(query)
    return str(caught.value)


@pytest.mark.parametrize(("query", "expected"), [
    ("SELECT * WHERE { ?s mscev:condition ?o }",
     "line 1, column 36: mscev: is not declared; add PREFIX mscev: <https://w3id.org/mscev/> at the top"),
    ("SELECT * WHERE { ?s foo:bar ?o }", "foo: is not declared; add PREFIX foo: <…> at the top"),
    ("SELECT * WHERE { ?s ?p ?o ", "the query ends too early (a { is not closed by })"),
    ('SELECT * WHERE { ?s ?p "abc }', "a string is not closed"),
    ("SELEC * WHERE { ?s ?p ?o }", "a query starts with SELECT, CONSTRUCT, ASK or DESCRIBE"),
    ("SELECT * WHERE { ?s ?p ?o }\nLIMIT x", "line 2, column 7: expected HAVING, OFFSET, OPTIONAL, VALUES or a number"),
])
def test_syntax_errors_read_as_sentences(query, expected):
    message = syntax_error_message(query, pyoxigraph_error(query))
    assert message.startswith("SPARQL syntax error at line ") and expected in message, message
    assert "\\u{" not in message and "..=" not in message  # no character classes of the parser's grammar
    line, caret = message.splitlines()[-2:]  # the line, and a caret under the place
    assert line.split(" | ", 1)[1] in query and caret.rstrip().endswith("^")


def test_the_endpoint_explains_syntax_errors(client):
    response = client.post("/sparql", data={"query": "SELECT * WHERE { ?f mscev:condition ?c }"},
                           headers={"Accept": JSON_RESULTS})
    assert response.status_code == 400
    assert "mscev: is not declared; add PREFIX mscev: <https://w3id.org/mscev/>" in response.text
