"""Reference pages (issue 16, point 5): each cited study as the review's reference list gives it (authors, year,
title, journal), a DOI link exactly where the list prints a DOI, and a PubMed and Europe PMC title search
otherwise; the findings table's reference numbers link to these pages with the entry as their tooltip."""

import html
import re
from urllib.parse import parse_qs, urlparse

import pytest
from fastapi.testclient import TestClient

from mscev.query import open_store
from mscev.serve import Settings, create_app

HTML = {"Accept": "text/html"}
ENTRY = re.compile(r"^\s+(\d+)\.\s+(.*)$")
PRINTED_DOI = re.compile(r"https://doi\.org/(\S+?)\.?$")
REFERENCES = """PREFIX mscev: <https://w3id.org/mscev/>
PREFIX dcterms: <http://purl.org/dc/terms/>
SELECT ?reference ?number ?authors ?year ?title ?journal ?doi WHERE {
  ?reference a mscev:CitedStudy ; mscev:referenceNumber ?number ; mscev:authors ?authors ; mscev:year ?year ;
             dcterms:title ?title ; mscev:journal ?journal .
  OPTIONAL { ?reference mscev:doi ?doi }
}"""


@pytest.fixture(scope="module")
def references(built) -> dict[int, dict]:
    store = open_store(built.out)
    return {int(s["number"].value): {k: s[k].value if s[k] is not None else None
                                     for k in ("reference", "authors", "year", "title", "journal", "doi")}
            for s in store.query(REFERENCES, use_default_graph_as_union=True)}


@pytest.fixture(scope="module")
def client(built):
    with TestClient(create_app(Settings(build_dir=built.out, workers=1, timeout=30))) as test_client:
        yield test_client


def printed_list(review_text: str) -> dict[int, str]:
    """Reference number → its entry in the review's reference list."""
    section = review_text[review_text.index("\nReferences\n"):]
    return {int(m.group(1)): m.group(2) for m in map(ENTRY.match, section.splitlines()) if m}


def visible_text(fragment: str) -> str:
    return " ".join(html.unescape(re.sub(r"<[^>]+>", "", fragment)).split())


def test_every_reference_has_its_entry_and_dois_exactly_where_the_list_prints_them(references, review_text):
    printed = printed_list(review_text)
    assert set(references) == set(printed)
    dois = {number: PRINTED_DOI.search(entry).group(1) for number, entry in printed.items() if PRINTED_DOI.search(entry)}
    assert dois and {n: r["doi"] for n, r in references.items() if r["doi"]} == dois
    for number, reference in references.items():
        assert reference["title"] in printed[number] and reference["journal"] in printed[number]


def test_every_reference_page_reads_author_year_title_journal_with_a_link(client, references):
    for number, reference in references.items():
        text = client.get(urlparse(reference["reference"]).path.removeprefix("/mscev"), headers=HTML).text
        section = re.search(r'<section class="card reference">(.*?)</section>', text, re.S).group(1)
        entry = visible_text(re.search(r'<p class="citation">(.*?)</p>', section, re.S).group(1))
        expected = f"{reference['authors']} ({reference['year']}). {reference['title']}. {reference['journal']}"
        assert entry.startswith(" ".join(expected.split())), entry
        links = [html.unescape(href) for href in re.findall(r'class="paper-link" href="([^"]+)"', section)]
        if reference["doi"]:
            assert links == [f"https://doi.org/{reference['doi']}"]
        else:
            assert [urlparse(link).hostname for link in links] == ["pubmed.ncbi.nlm.nih.gov", "europepmc.org"]
            assert reference["title"] in parse_qs(urlparse(links[0]).query)["term"][0]
            assert reference["title"] in parse_qs(urlparse(links[1]).query)["query"][0]


def test_a_finding_page_separates_the_citation_from_its_links(client):
    text = client.get("/data/finding/ref26-cartilage-regeneration", headers=HTML).text
    citation = visible_text(re.search(r'<div class="citation">(.*?)</div>', text, re.S).group(1))
    assert "906–20. search PubMed" in citation


def test_the_findings_table_links_reference_numbers_with_their_entry(client, references):
    text = client.get("/findings", params={"reference": 73}, headers=HTML).text  # a reference with a DOI
    cells = re.findall(r'<td class="refs">(.*?)</td>', text, re.S)
    assert cells
    for cell in cells:
        link = re.search(r'<a href="/data/ref/73" title="([^"]+)">\[73\]</a>', cell)
        assert link and references[73]["title"] in html.unescape(link.group(1))
